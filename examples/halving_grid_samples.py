"""HalvingGridSearchCV with the number of training samples as the resource.

The tutorials' CNN grid (optimizer x initializer x dropout), with candidates
first scored on few images and the best given more. Digits, about two minutes on 2 cores.
"""

from sklearn.datasets import load_digits
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.model_selection import HalvingGridSearchCV, train_test_split

from sklearn_keras_hpo import CNNClassifier


def main(grid=None, n_jobs=2):
    digits = load_digits()
    X_train, X_test, y_train, y_test = train_test_split(
        digits.images / 16.0, digits.target, test_size=0.25, stratify=digits.target, random_state=0
    )
    grid = grid or {
        "optimizer": ["adam", "rmsprop", "sgd"],
        "kernel_initializer": ["glorot_uniform", "he_normal"],
        "dropout": [0.0, 0.25],
    }
    search = HalvingGridSearchCV(
        CNNClassifier(filters=16, dense_units=64, epochs=6, learning_rate=3e-3, random_state=0),
        grid,
        resource="n_samples",
        min_resources=150,
        factor=3,
        cv=3,
        n_jobs=n_jobs,
        random_state=0,
    )
    search.fit(X_train, y_train)
    print("samples per rung:", list(search.n_resources_))
    print("best parameters:", search.best_params_)
    print(
        f"cv accuracy {search.best_score_:.3f}, "
        f"held-out accuracy {search.score(X_test, y_test):.3f}"
    )


if __name__ == "__main__":
    main()
