"""RandomizedSearchCV over augmentation magnitudes and learning-rate schedules.

Runs on scikit-learn's digits in about two minutes on 2 cores.
"""

from scipy.stats import loguniform, uniform
from sklearn.datasets import load_digits
from sklearn.model_selection import RandomizedSearchCV, train_test_split

from sklearn_keras_hpo import CNNClassifier

SPACE = {
    "rotation": uniform(0, 20),  # degrees
    "translation": uniform(0, 0.15),
    "zoom": uniform(0, 0.15),
    "lr_schedule": ["constant", "time_based", "step", "exponential", "cosine", "one_cycle"],
    "lr_decay": loguniform(1e-3, 0.5),
    "learning_rate": loguniform(3e-4, 3e-2),
    "warmup_epochs": [0, 1],
}


def main(n_iter=6):
    digits = load_digits()
    X_train, X_test, y_train, y_test = train_test_split(
        digits.images / 16.0, digits.target, test_size=0.25, stratify=digits.target, random_state=0
    )
    search = RandomizedSearchCV(
        CNNClassifier(filters=16, dense_units=64, epochs=8, random_state=0),
        SPACE,
        n_iter=n_iter,
        cv=3,
        random_state=0,
    )
    search.fit(X_train, y_train)
    print("best parameters:", search.best_params_)
    print(
        f"cv accuracy {search.best_score_:.3f}, "
        f"held-out accuracy {search.score(X_test, y_test):.3f}"
    )


if __name__ == "__main__":
    main()
