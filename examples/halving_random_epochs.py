"""HalvingRandomSearchCV with epochs as the resource, warm-started across rungs.

scikit-learn's halving search clones and retrains every candidate at each rung;
with ``checkpoint_dir`` set, a candidate's longer fit on the same fold continues
from its shorter fit instead. Digits, about two minutes on 2 cores.
"""

import tempfile

from scipy.stats import loguniform
from sklearn.datasets import load_digits
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.model_selection import HalvingRandomSearchCV, train_test_split

from sklearn_keras_hpo import CNNClassifier


def main(n_candidates=9, max_epochs=9, n_jobs=2):
    digits = load_digits()
    X_train, X_test, y_train, y_test = train_test_split(
        digits.images / 16.0, digits.target, test_size=0.25, stratify=digits.target, random_state=0
    )
    with tempfile.TemporaryDirectory() as checkpoints:
        search = HalvingRandomSearchCV(
            CNNClassifier(filters=16, dense_units=64, random_state=0, checkpoint_dir=checkpoints),
            {
                "learning_rate": loguniform(1e-4, 1e-1),
                "optimizer": ["adam", "rmsprop", "sgd"],
                "momentum": [0.0, 0.9],
            },
            resource="epochs",
            min_resources=1,
            max_resources=max_epochs,
            factor=3,
            n_candidates=n_candidates,
            cv=3,
            n_jobs=n_jobs,
            random_state=0,
        )
        search.fit(X_train, y_train)
    print("epochs per rung:", list(search.n_resources_))
    print("best parameters:", search.best_params_)
    print(
        f"cv accuracy {search.best_score_:.3f}, "
        f"held-out accuracy {search.score(X_test, y_test):.3f}"
    )


if __name__ == "__main__":
    main()
