"""What a stopped CLI search chooses from its finished fits' records."""

from sklearn_keras_hpo import CNNClassifier
from sklearn_keras_hpo.cli.parser import build_parser
from sklearn_keras_hpo.cli.settings import TuneSettings
from sklearn_keras_hpo.cli.tune import best_of_stopped
from sklearn_keras_hpo.search.starting import own_configuration


def settings(searcher):
    return TuneSettings.from_args(build_parser().parse_args(["tune", "--searcher", searcher]))


def test_a_stopped_rung_search_keeps_its_starting_point_until_a_promotion(capsys):
    """The CLI's choice from a stopped search's records: rows all at the first rung keep the
    default configuration and say so; a random search, or a row at a larger budget, does not."""
    own, other = (
        {"learning_rate": 0.001, "batch_size": 32},
        {"learning_rate": 0.01, "batch_size": 64},
    )
    assert own_configuration(CNNClassifier(), own) == own  # the defaults: the starting point
    rows = [({**own, "epochs": 1}, 0.40), ({**other, "epochs": 1}, 0.45)]
    results = {
        "params": [params for params, _ in rows],
        "mean_test_score": [score for _, score in rows],
    }
    starting = own_configuration(CNNClassifier(), set(own))
    assert best_of_stopped(results, settings("asha"), starting) == 0
    assert "the starting point (the default configuration) is kept" in capsys.readouterr().out
    assert best_of_stopped(results, settings("random"), starting) == 1
    results["params"].append({**other, "epochs": 3})
    results["mean_test_score"].append(0.41)
    assert best_of_stopped(results, settings("asha"), starting) == 2
    assert "kept" not in capsys.readouterr().out
