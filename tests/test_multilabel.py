"""Multi-label CNNClassifier: y as a 0/1 indicator matrix, through fit, searches, weights,
label mixing, save/load and the CLI, on digits labelled {odd, >= 5, has a loop}."""

import csv
import sys
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import DataConversionWarning
from sklearn.metrics import accuracy_score
from sklearn.model_selection import GridSearchCV, KFold, ShuffleSplit, check_cv
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import type_of_target

from sklearn_keras_hpo import (
    AsyncHalvingSearchCV,
    CNNClassifier,
    CNNRegressor,
    HyperbandSearchCV,
    load,
)
from sklearn_keras_hpo.cli import main
from sklearn_keras_hpo.estimators import _multilabel

from .conftest import FAST

LABELS = ("odd", "ge5", "loop")


def digit_labels(y):
    """{odd, >= 5, has a loop (0, 6, 8, 9)} of each digit: a real multi-label target."""
    return np.column_stack([y % 2 == 1, y >= 5, np.isin(y, [0, 6, 8, 9])]).astype(np.int64)


@pytest.fixture(scope="module")
def data(digits):
    X, y = digits
    return X, digit_labels(y)


@pytest.fixture(scope="module")
def fitted(data):
    X, Y = data
    return CNNClassifier(**FAST).fit(X[:1000], Y[:1000])


def test_fit_gives_label_probabilities_and_an_indicator_matrix(data, fitted):
    X, Y = data
    assert type_of_target(Y) == "multilabel-indicator"
    proba, predicted = fitted.predict_proba(X[1000:]), fitted.predict(X[1000:])
    assert proba.shape == predicted.shape == Y[1000:].shape and predicted.dtype == Y.dtype
    assert ((proba > 0) & (proba < 1)).all()
    assert not np.allclose(
        proba.sum(axis=1), 1.0, atol=0.05
    )  # each label its own sigmoid, not a softmax
    np.testing.assert_array_equal(predicted, (proba > 0.5).astype(Y.dtype))
    assert fitted.score(X[1000:], Y[1000:]) == accuracy_score(
        Y[1000:], predicted
    )  # subset accuracy
    per_label = (predicted == Y[1000:]).mean(axis=0)
    majority = np.maximum(Y[1000:].mean(axis=0), 1 - Y[1000:].mean(axis=0))
    assert (per_label > majority).all(), (per_label, majority)  # learnt every label, 2 epochs
    assert fitted.classes_.tolist() == [0, 1, 2] and fitted.target_type_ == "multilabel-indicator"
    assert fitted.n_outputs_ == 3 and fitted.model_.output_shape == (None, 3)
    assert fitted.model_.layers[-1].get_config()["activation"] == "sigmoid"
    assert (
        "binary_accuracy" in fitted.history_
        and fitted.__sklearn_tags__().classifier_tags.multi_label
    )


def test_sklearn_multilabel_checks_apply_and_pass():
    from sklearn.utils.estimator_checks import estimator_checks_generator

    estimator = CNNClassifier(**{**FAST, "architecture": "mlp"})
    checks = {
        getattr(check, "func", check).__name__: check
        for _, check in estimator_checks_generator(estimator)
    }
    multilabel = sorted(name for name in checks if "multilabel" in name)
    assert multilabel == [
        "check_classifiers_multilabel_output_format_decision_function",
        "check_classifiers_multilabel_output_format_predict",
        "check_classifiers_multilabel_output_format_predict_proba",
        "check_classifiers_multilabel_representation_invariance",
    ]
    for name in multilabel[1:]:  # there is no decision_function: that check skips itself
        checks[name](estimator)


def test_threshold_changes_predict_and_not_predict_proba(data, fitted):
    X, _ = data
    proba, predicted = fitted.predict_proba(X[1000:1300]), fitted.predict(X[1000:1300])
    low = clone(fitted).set_params(threshold=0.2)
    low.__dict__.update(
        {k: v for k, v in vars(fitted).items() if k.endswith("_") or k.startswith("_")}
    )
    np.testing.assert_array_equal(low.predict_proba(X[1000:1300]), proba)
    lowered = low.predict(X[1000:1300])
    assert lowered.sum() > predicted.sum() and (lowered >= predicted).all()
    assert "threshold" not in CNNRegressor().get_params()  # the regressor has no threshold
    with pytest.raises(TypeError, match="threshold"):
        CNNRegressor(threshold=0.5, **FAST).fit(X[:50], X[:50].mean(axis=(1, 2)))


def test_dataframe_columns_name_the_labels(data):
    pd = pytest.importorskip("pandas")
    X, Y = data
    frame = pd.DataFrame(Y[:300], columns=list(LABELS))
    clf = CNNClassifier(**{**FAST, "epochs": 1}).fit(X[:300], frame)
    assert clf.classes_.tolist() == list(LABELS) and clf.predict(X[:5]).shape == (5, 3)
    assert clf.score(X[300:400], pd.DataFrame(Y[300:400], columns=list(LABELS))) == clf.score(
        X[300:400], Y[300:400]
    )


def test_other_2d_targets_say_what_is_supported(data):
    X, Y = data
    _, y = np.divmod(np.arange(len(X)), 10)
    multiclass_multioutput = np.column_stack([y[:100], y[:100] % 3])
    for bad in (multiclass_multioutput, Y[:100] + 1, Y[:100] * 0.5):
        with pytest.raises(
            ValueError, match="0/1 indicator matrix with one column per label"
        ) as error:
            CNNClassifier(**FAST).fit(X[:100], bad)
        assert "MultiOutputClassifier" in str(error.value)
    with pytest.warns(DataConversionWarning):  # a column vector is single-label, as in sklearn
        CNNClassifier(**{**FAST, "epochs": 1}).fit(X[:100], y[:100, None])


def test_validation_split_is_shuffled_and_not_stratified_on_combinations(data, monkeypatch):
    X, Y = data
    Y = Y[:200].copy()
    Y[0] = [1, 1, 1]
    Y[1:][(Y[1:] == 1).all(axis=1)] = [1, 1, 0]  # one image with a combination of its own
    assert (Y == 1).all(axis=1).sum() == 1
    clf = CNNClassifier(**{**FAST, "early_stopping": True, "validation_fraction": 0.2}).fit(
        X[:200], Y
    )
    assert clf.best_epoch_ is not None and "val_loss" in clf.history_
    for module in (
        "iterstrat",
        "iterstrat.ml_stratifiers",
    ):  # the optional package missing: shuffled
        monkeypatch.setitem(sys.modules, module, None)
    assert type(_multilabel.validation_splitter(0.2, 0)) is ShuffleSplit
    assert isinstance(check_cv(3, Y, classifier=True), KFold)  # what sklearn's searches split with


def test_iterative_stratification_when_installed(data):
    ml = pytest.importorskip("iterstrat.ml_stratifiers")
    X, Y = data
    splitter = _multilabel.validation_splitter(0.2, 0)
    assert isinstance(splitter, ml.MultilabelStratifiedShuffleSplit)
    train, validation = next(splitter.split(X[:500], Y[:500]))
    np.testing.assert_allclose(Y[validation].mean(axis=0), Y[:500].mean(axis=0), atol=0.03)
    search = GridSearchCV(
        CNNClassifier(**{**FAST, "epochs": 1}),
        {"filters": [4]},
        scoring="f1_samples",
        cv=ml.MultilabelStratifiedKFold(n_splits=2, shuffle=True, random_state=0),
    )
    assert np.isfinite(search.fit(X[:300], Y[:300]).best_score_)


def test_grid_search_with_f1_samples_is_reproducible(data):
    X, Y = data
    runs = [
        GridSearchCV(
            CNNClassifier(**{**FAST, "epochs": 1}),
            {"learning_rate": [0.003, 0.01]},
            scoring="f1_samples",
            cv=2,
        ).fit(X[:400], Y[:400])
        for _ in range(2)
    ]
    scores = [run.cv_results_["mean_test_score"] for run in runs]
    assert np.isfinite(scores[0]).all() and 0.2 < scores[0].max() <= 1.0
    np.testing.assert_array_equal(scores[0], scores[1])
    assert runs[0].best_estimator_.predict(X[:3]).shape == (3, 3)


@pytest.mark.parametrize("searcher", ["hyperband", "asha"])
def test_our_searches_run_on_multilabel_targets(data, searcher):
    X, Y = data
    space = {"learning_rate": [0.003, 0.01, 0.03]}
    common = dict(cv=2, random_state=0, scoring="f1_samples")
    make = {
        "hyperband": lambda: HyperbandSearchCV(
            CNNClassifier(**FAST), space, max_epochs=2, factor=2, **common
        ),
        "asha": lambda: AsyncHalvingSearchCV(
            CNNClassifier(**FAST), space, n_candidates=3, max_epochs=2, factor=2, **common
        ),
    }[searcher]
    runs = [make().fit(X[:200], Y[:200]) for _ in range(2)]
    scores = np.asarray(runs[0].cv_results_["mean_test_score"], dtype=float)
    assert np.isfinite(scores).all() and scores.max() > 0.2
    np.testing.assert_array_equal(
        scores, np.asarray(runs[1].cv_results_["mean_test_score"], dtype=float)
    )
    assert runs[0].best_estimator_.predict(X[:2]).shape == (2, 3)


def test_class_weight_weighs_each_label(data):
    X, Y = data
    balanced = CNNClassifier(**{**FAST, "epochs": 1, "class_weight": "balanced"}).fit(
        X[:300], Y[:300]
    )
    loss = balanced.model_.loss
    for j in range(3):
        negative, positive = compute_class_weight(
            "balanced", classes=np.array([0, 1]), y=Y[:300, j]
        )
        assert np.isclose(loss.positive[j], positive) and np.isclose(loss.negative[j], negative)
    plain = CNNClassifier(**FAST).fit(X[:600], Y[:600])
    heavy = CNNClassifier(**{**FAST, "class_weight": {2: 20.0}}).fit(X[:600], Y[:600])
    assert heavy.predict(X[600:900])[:, 2].mean() > plain.predict(X[600:900])[:, 2].mean() + 0.1
    with pytest.raises(ValueError, match=r"label\(s\) \[7\]"):
        CNNClassifier(**{**FAST, "class_weight": {7: 2.0}}).fit(X[:100], Y[:100])
    with pytest.raises(ValueError, match="drop one"):
        CNNClassifier(
            **{**FAST, "class_weight": "balanced", "loss": "binary_focal_crossentropy"}
        ).fit(X[:100], Y[:100])


def test_sample_weight_acts_as_usual(data):
    X, Y = data
    weights = np.where(
        Y[:600, 0] == 1, 0.0, 1.0
    )  # odd digits weigh nothing: "odd" is never seen on
    clf = CNNClassifier(**FAST).fit(X[:600], Y[:600], sample_weight=weights)
    assert clf.predict_proba(X[600:900])[:, 0].mean() < 0.2


def test_mixup_and_cutmix_mix_label_vectors(data):
    from sklearn_keras_hpo._backend import keras_and_tf
    from sklearn_keras_hpo.model.augmentation import make_batch_augmenter

    _, tf = keras_and_tf()
    first = np.random.default_rng(0).integers(0, 2, 32).astype(np.float32)
    labels = np.stack(
        [first, 1 - first, np.ones(32, np.float32)], axis=1
    )  # complementary, and always on
    images = np.broadcast_to(first[:, None, None, None], (32, 8, 8, 1)).astype(np.float32)
    for name in ("mixup", "cutmix"):
        augment = make_batch_augmenter({name: 1.0}, channels=1, n_classes=0, seed=0)
        mixed_images, mixed = (
            np.asarray(t) for t in augment(tf.constant(images), tf.constant(labels))
        )
        assert mixed.shape == (32, 3) and ((mixed > 0.01) & (mixed < 0.99)).any(), (
            name
        )  # mixed, not one-hot
        np.testing.assert_allclose(
            mixed[:, 0] + mixed[:, 1], 1.0, atol=1e-6
        )  # one weight per row, all labels
        np.testing.assert_allclose(mixed[:, 2], 1.0, atol=1e-6)
        if name == "mixup":  # the images mixed with the same weights as their labels
            np.testing.assert_allclose(mixed_images.mean(axis=(1, 2, 3)), mixed[:, 0], atol=1e-5)
    X, Y = data
    clf = CNNClassifier(**{**FAST, "mixup": 0.2}).fit(X[:300], Y[:300])
    assert np.isfinite(clf.history_["loss"]).all() and clf.predict(X[:4]).shape == (4, 3)


def test_save_load_warm_start_resume_and_partial_fit(data, tmp_path):
    X, Y = data
    clf = CNNClassifier(**{**FAST, "class_weight": "balanced", "threshold": 0.4}).fit(
        X[:300], Y[:300]
    )
    loaded = load(clf.save(tmp_path / "model"))
    np.testing.assert_array_equal(loaded.predict_proba(X[300:400]), clf.predict_proba(X[300:400]))
    np.testing.assert_array_equal(loaded.predict(X[300:400]), clf.predict(X[300:400]))
    assert (
        loaded.threshold == 0.4
        and loaded.predict(X[:2]).dtype == Y.dtype
        and loaded.target_type_ == clf.target_type_
    )
    loaded.set_params(warm_start=True, epochs=1).fit(
        X[:300], Y[:300]
    )  # continues, its own loss included
    assert loaded.n_epochs_ == 1 and not np.array_equal(
        loaded.predict_proba(X[:5]), clf.predict_proba(X[:5])
    )
    with pytest.raises(ValueError, match="multi-label y of 3 columns"):
        loaded.fit(X[:300], Y[:300, :2])
    settings = {**FAST, "checkpoint_dir": str(tmp_path / "fits")}
    first = CNNClassifier(**settings).fit(X[:300], Y[:300])
    again = CNNClassifier(**settings).fit(
        X[:300], Y[:300]
    )  # restored from the checkpoint, not trained
    assert again.epoch_seconds_ is None and np.array_equal(
        again.predict_proba(X[:20]), first.predict_proba(X[:20])
    )
    partial = CNNClassifier(**FAST)
    for _ in range(2):
        partial.partial_fit(X[:300], Y[:300], classes=list(LABELS))
    assert partial.n_epochs_ == 2 and partial.classes_.tolist() == list(LABELS)


def test_cli_tunes_and_predicts_a_multilabel_npz(data, tmp_path):
    X, Y = data
    np.savez(tmp_path / "tags.npz", x=(X[:300] * 255).astype(np.uint8), y=Y[:300])
    output = tmp_path / "run"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = main(
            [
                "tune",
                "--data",
                str(tmp_path / "tags.npz"),
                "--searcher",
                "random",
                "--n-iter",
                "1",
                "--space",
                "hyperband",
                "--cv",
                "2",
                "--set",
                "epochs=1",
                "--set",
                "filters=4",
                "--set",
                "dense_units=16",
                "--no-progress",
                "--output",
                str(output),
            ]
        )
    assert code == 0
    page = (output / "report.html").read_text()
    assert "threshold <b>0.5</b>" in page and "micro-F1" in page and "confusion matrix" not in page
    assert "labels (multi-label: images with each)" in page
    model = load(output / "model")
    assert model.target_type_ == "multilabel-indicator"
    np.savez(tmp_path / "new.npz", x=(X[300:340] * 255).astype(np.uint8), y=Y[300:340])
    out = tmp_path / "predictions.csv"
    assert main(["predict", str(output / "model"), str(tmp_path / "new.npz"), "-o", str(out)]) == 0
    with open(out) as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == 40 and {"prediction_0", "prediction_2", "label_1", "proba_2"} <= set(
        rows[0]
    )
    predicted = np.array([[int(r[f"prediction_{j}"]) for j in range(3)] for r in rows])
    np.testing.assert_array_equal(predicted, model.predict((X[300:340] * 255).astype(np.uint8)))


def test_cli_reads_the_label_columns_of_a_csv(data, tmp_path):
    from sklearn_keras_hpo.data.datasets import csv_label_names, load_source

    X, Y = data
    path = tmp_path / "tags.csv"
    header = [f"label_{name}" for name in LABELS] + [f"pixel{i}" for i in range(64)]
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(header)
        writer.writerows(
            np.hstack([Y[:300], np.round(X[:300].reshape(300, -1) * 16)]).astype(int).tolist()
        )
    images, labels = load_source(str(path))
    assert (
        csv_label_names(path) == list(LABELS)
        and labels.shape == (300, 3)
        and images.shape == (300, 8, 8)
    )
    np.testing.assert_array_equal(labels, Y[:300])
    output = tmp_path / "run"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = main(
            [
                "tune",
                "--data",
                str(path),
                "--searcher",
                "random",
                "--n-iter",
                "1",
                "--space",
                "hyperband",
                "--cv",
                "2",
                "--set",
                "epochs=1",
                "--set",
                "filters=4",
                "--no-progress",
                "--output",
                str(output),
            ]
        )
    assert code == 0 and load(output / "model").classes_.tolist() == list(LABELS)
    assert "<td>loop</td>" in (output / "report.html").read_text()
    out = tmp_path / "predictions.csv"
    assert main(["predict", str(output / "model"), str(path), "-o", str(out)]) == 0
    with open(out) as file:
        assert {"prediction_odd", "label_loop", "proba_ge5"} <= set(next(csv.DictReader(file)))
