"""What a stopped CLI search chooses from its finished fits' records."""

import argparse

from sklearn_keras_hpo import CNNClassifier
from sklearn_keras_hpo.cli import _best_of_stopped


def test_a_stopped_rung_search_keeps_its_starting_point_until_a_promotion(capsys):
    """The CLI's choice from a stopped search's records: rows all at the first rung keep the
    default configuration and say so; a random search, or a row at a larger budget, does not."""
    own, other = (
        {"learning_rate": 0.001, "batch_size": 32},
        {"learning_rate": 0.01, "batch_size": 64},
    )
    rows = [({**own, "epochs": 1}, 0.40), ({**other, "epochs": 1}, 0.45)]
    results = {
        "params": [params for params, _ in rows],
        "mean_test_score": [score for _, score in rows],
    }
    searcher = lambda name: argparse.Namespace(searcher=name, max_epochs=9)  # noqa: E731
    assert _best_of_stopped(results, searcher("asha"), CNNClassifier(), set(own)) == 0
    assert "the starting point (the default configuration) is kept" in capsys.readouterr().out
    assert _best_of_stopped(results, searcher("random"), CNNClassifier(), set(own)) == 1
    results["params"].append({**other, "epochs": 3})
    results["mean_test_score"].append(0.41)
    assert _best_of_stopped(results, searcher("asha"), CNNClassifier(), set(own)) == 2
    assert "kept" not in capsys.readouterr().out
