"""scikit-optimize's BayesSearchCV over augmentation and schedules, with
log-uniform ``Real`` and ``Categorical`` spaces. About two minutes on 2 cores."""

from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from skopt import BayesSearchCV
from skopt.space import Categorical, Integer, Real

from sklearn_keras_hpo import CNNClassifier

SPACE = {
    "learning_rate": Real(3e-4, 3e-2, prior="log-uniform"),
    "lr_schedule": Categorical(["constant", "cosine", "exponential", "step"]),
    "lr_decay": Real(1e-3, 0.5, prior="log-uniform"),
    "rotation": Real(0.0, 20.0),
    "zoom": Real(0.0, 0.15),
    "warmup_epochs": Integer(0, 2),
}


def main(n_iter=6):
    digits = load_digits()
    X_train, X_test, y_train, y_test = train_test_split(
        digits.images / 16.0, digits.target, test_size=0.25, stratify=digits.target, random_state=0
    )
    search = BayesSearchCV(
        CNNClassifier(filters=16, dense_units=64, epochs=8, random_state=0),
        SPACE,
        n_iter=n_iter,
        cv=3,
        n_points=2,
        random_state=0,
    )
    search.fit(X_train, y_train)
    print("best parameters:", dict(search.best_params_))
    print(
        f"cv accuracy {search.best_score_:.3f}, "
        f"held-out accuracy {search.score(X_test, y_test):.3f}"
    )


if __name__ == "__main__":
    main()
