"""HyperbandSearchCV over batch size, log-uniform learning rate and activation (incl. swish).

The Hyperband tutorial's study, with warm-started rungs and a progress bar, on
scikit-learn's digits. About three minutes on 2 cores at the default budget.
"""

from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from sklearn_keras_hpo import CNNClassifier, HyperbandSearchCV, progress_bar, search_space


def main(max_epochs=9, n_jobs=2):
    digits = load_digits()
    X_train, X_test, y_train, y_test = train_test_split(
        digits.images / 16.0, digits.target, test_size=0.25, stratify=digits.target, random_state=0
    )
    search = HyperbandSearchCV(
        CNNClassifier(filters=16, dense_units=64, random_state=0),
        search_space("hyperband", "random"),  # batch_size randint, loguniform lr, activation
        max_epochs=max_epochs,
        factor=3,
        cv=3,
        n_jobs=n_jobs,
        random_state=0,
    )
    with progress_bar():
        search.fit(X_train, y_train)
    print("brackets x rungs evaluated:", len(search.cv_results_["params"]))
    print("best parameters:", search.best_params_)
    print(
        f"cv accuracy {search.best_score_:.3f}, "
        f"held-out accuracy {search.score(X_test, y_test):.3f}"
    )


if __name__ == "__main__":
    main()
