"""TensorFlow's import-time chatter does not reach the user."""

import subprocess
import sys

SCRIPT = """
import numpy as np
from sklearn_keras_hpo import CNNClassifier
X = np.random.default_rng(0).random((64, 8, 8)); y = np.arange(64) % 2
CNNClassifier(filters=2, dense_units=4, epochs=1).fit(X, y).predict(X)
print("done")
"""


def test_fit_prints_no_tensorflow_log_lines():
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "done"
    for marker in ("absl", "oneDNN", "I0000", "E0000", "cuda", "retracing", "Warning"):
        assert marker not in result.stderr, result.stderr
