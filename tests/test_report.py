"""The report's figures and sections, on hand-made ``cv_results_`` and one small fit."""

import io

import numpy as np
import pytest
from matplotlib.colors import to_hex

from sklearn_keras_hpo import CNNClassifier, plot_history
from sklearn_keras_hpo.reporting.plotting import (
    parameter_importance,
    plot_confusion_matrix,
    plot_optimisation_history,
    plot_search_scores,
)
from sklearn_keras_hpo.reporting.report import build_report, validation_loss_rise

from .conftest import FAST

NAMES = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"])


def _hyperband_like(n=18, seed=0):
    """Rows of three rungs (1, 3, 9 epochs): the score rises with the learning rate and the
    epochs, and does not depend on the activation."""
    rng = np.random.default_rng(seed)
    epochs = np.repeat([1, 3, 9], n // 3)
    lr = 10 ** rng.uniform(-4, -1, n)
    activation = rng.choice(["relu", "tanh"], n)
    score = 0.5 + 0.1 * np.log10(lr) / 3 + 0.04 * np.log(epochs) + rng.normal(0, 0.005, n)
    return {
        "params": [
            {"learning_rate": float(a), "activation": str(b), "epochs": int(e)}
            for a, b, e in zip(lr, activation, epochs, strict=False)
        ],
        "mean_test_score": score,
        "std_test_score": np.zeros(n),
        "n_resources": epochs,
        "mean_fit_time": 0.5 * epochs,
        "mean_score_time": np.full(n, 0.1),
        "split0_test_score": score,
        "split1_test_score": score,
    }


def test_search_scores_are_coloured_by_rung():
    figure = plot_search_scores(_hyperband_like(), ["learning_rate", "activation"])
    points = figure.get_axes()[0].collections[0]
    colours = [to_hex(c) for c in points.get_facecolors()]
    by_rung = {
        e: {c for c, r in zip(colours, np.repeat([1, 3, 9], 6), strict=False) if r == e}
        for e in (1, 3, 9)
    }
    assert all(len(c) == 1 for c in by_rung.values()) and len(set.union(*by_rung.values())) == 3
    legend = [t.get_text() for t in figure.legends[0].get_texts()]
    assert legend == ["epochs = 1", "epochs = 3", "epochs = 9"]


def test_one_rung_is_not_coloured():
    results = _hyperband_like()
    del results["n_resources"]
    for params in results["params"]:
        params["epochs"] = 5
    figure = plot_search_scores(results, ["learning_rate"])
    assert len({to_hex(c) for c in figure.get_axes()[0].collections[0].get_facecolors()}) == 1


def test_optimisation_history_is_the_best_so_far_against_fits_and_time():
    results = _hyperband_like()
    results["mean_test_score"] = np.array(results["mean_test_score"])
    results["mean_test_score"][4] = np.nan  # a failed fit
    figure = plot_optimisation_history(results)
    by_index, by_time = figure.get_axes()
    scores = np.nan_to_num(results["mean_test_score"], nan=-np.inf)
    for axis in (by_index, by_time):
        (line,) = axis.get_lines()
        np.testing.assert_allclose(line.get_ydata(), np.maximum.accumulate(scores))
    np.testing.assert_allclose(by_index.get_lines()[0].get_xdata(), np.arange(1, 19))
    fold_time = (0.5 * np.repeat([1, 3, 9], 6) + 0.1) * 2  # (fit + score) x 2 folds
    np.testing.assert_allclose(by_time.get_lines()[0].get_xdata(), np.cumsum(fold_time))


def test_optimisation_history_without_times_has_one_panel():
    results = _hyperband_like()
    results["mean_fit_time"] = [np.nan] * 18  # a stopped search's partial results
    assert len(plot_optimisation_history(results).get_axes()) == 1


def test_parameter_importance_ranks_what_the_score_depends_on():
    importance = parameter_importance(_hyperband_like(36), ["learning_rate", "activation"])
    assert set(importance) == {"learning_rate", "activation", "epochs"}
    assert importance["activation"][0] < 0.1 * min(
        importance["learning_rate"][0], importance["epochs"][0]
    )


def test_parameter_importance_is_skipped_with_few_rows():
    results = _hyperband_like(6)
    assert "6 scored configurations" in parameter_importance(results, ["learning_rate"])
    constant = {"params": [{"a": 1}] * 10, "mean_test_score": np.arange(10.0)}
    assert "No searched parameter varies" in parameter_importance(constant, ["a"])


def test_validation_loss_rise_is_flagged_only_when_it_rose_at_the_end():
    assert "from 0.5 (epoch 3) to 0.62 (epoch 5)" in validation_loss_rise(
        {"val_loss": [1, 0.6, 0.5, 0.55, 0.62]}
    )
    assert validation_loss_rise({"val_loss": [1, 0.6, 0.5, 0.45]}) is None  # still falling
    assert validation_loss_rise({"val_loss": [1, 0.6, 0.5, 0.501]}) is None  # within the tolerance
    assert validation_loss_rise({"val_loss": [1, 0.6, 0.5, 0.7]}) is None  # one epoch is noise
    assert validation_loss_rise({"loss": [1, 2, 3]}) is None  # no validation split


def test_confusion_matrix_names_the_classes():
    labels = NAMES[:3]
    figure = plot_confusion_matrix(labels[[0, 1, 2, 2]], labels[[0, 2, 2, 2]], labels)
    axis = figure.get_axes()[0]
    assert [t.get_text() for t in axis.get_xticklabels()] == list(labels)
    assert [t.get_text() for t in axis.get_yticklabels()] == list(labels)


@pytest.fixture(scope="module")
def named_fit(digits):
    X, y = digits
    clf = CNNClassifier(**{**FAST, "epochs": 3}, validation_fraction=0.2).fit(
        X[:300], NAMES[y[:300]]
    )
    return clf, X[300:400], NAMES[y[300:400]]


def test_constant_learning_rate_is_a_value_not_a_line(named_fit):
    clf = named_fit[0]
    rate_axis = plot_history(clf).get_axes()[-1]
    assert rate_axis.get_title() == "learning rate" and not rate_axis.get_lines()
    assert "0.01\nconstant over 3 epochs" in [t.get_text() for t in rate_axis.texts]


def test_a_varying_learning_rate_has_no_offset_axis(digits):
    X, y = digits
    clf = CNNClassifier(
        **{**FAST, "epochs": 3, "learning_rate": 1e-3}, lr_schedule="exponential", lr_decay=1e-4
    )
    rate_axis = plot_history(clf.fit(X[:100], y[:100])).get_axes()[-1]
    rate_axis.figure.savefig(io.BytesIO(), format="png")  # lays the ticks out
    assert len(rate_axis.get_lines()) == 1
    assert "+" not in rate_axis.yaxis.get_major_formatter().get_offset()  # not "1e-7+1e-3"


def test_report_names_classes_and_flags_a_rising_validation_loss(named_fit):
    clf, X_test, y_test = named_fit
    clf.history_ = {
        **clf.history_,
        "val_loss": [1.0, 0.8, 0.7, 0.9, 1.1],
    }  # as if it had overfitted
    clf.n_epochs_ = 5
    for name in ("loss", "accuracy", "val_accuracy", "learning_rate"):
        clf.history_[name] = list(clf.history_[name]) + [clf.history_[name][-1]] * 2
    page = build_report(
        title="t",
        data_summary={},
        results=_hyperband_like(),
        best_estimator=clf,
        X_test=X_test,
        y_test=y_test,
        X_preview=X_test[:4],
        y_preview=y_test[:4],
        searched=["learning_rate", "activation"],
    )
    assert all(f"<td>{name}</td>" in page for name in NAMES)
    assert "class='flag'" in page and "rose over the last 2 epochs" in page
    for section in ("Optimisation history", "Parameter importance", "Coloured by the epochs"):
        assert section in page
    # samples, curves, confusion matrix, history, importance, scores (no augmentation: no preview)
    assert page.count("data:image/png;base64,") == 6
