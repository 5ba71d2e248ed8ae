"""Grid-search a CNNClassifier on scikit-learn's bundled digits (8x8 images).

Run with ``make demo`` or ``python examples/grid_search_digits.py``; about a minute
on 2 cores. Prints the best parameters and the held-out accuracy.
"""

from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, train_test_split

from sklearn_keras_hpo import CNNClassifier


def main():
    digits = load_digits()
    X, y = digits.images / 16.0, digits.target  # (n, 8, 8) grayscale in [0, 1]
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=0
    )
    search = GridSearchCV(
        CNNClassifier(filters=16, dense_units=64, epochs=8, batch_size=32, random_state=0),
        param_grid={"optimizer": ["adam", "sgd"], "dropout": [0.0, 0.25]},
        cv=3,
        n_jobs=1,
    )
    search.fit(X_train, y_train)
    print("best parameters:", search.best_params_)
    print(f"best cross-validated accuracy: {search.best_score_:.3f}")
    print(f"held-out accuracy: {search.score(X_test, y_test):.3f}")


if __name__ == "__main__":
    main()
