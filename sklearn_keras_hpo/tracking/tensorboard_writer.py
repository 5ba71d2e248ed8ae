"""TensorBoard: keras-tuner's layout, ``<dir>/<candidate>/fold_<k>/``, one run per fold.

Each fold's run holds its per-epoch scalars (the Keras history's names: ``loss``,
``val_accuracy``, ...; ``step`` = the absolute epoch, so a warm-started rung continues
the curve), ``test_score`` at each budget, and the HParams plugin's session (the
candidate's parameters and the fold); ``<dir>`` itself holds the HParams experiment
(every parameter and metric), so ``tensorboard --logdir <dir>`` compares the
candidates in its HParams tab.
"""

from pathlib import Path

from .logger import missing_extra


class TensorBoardWriter:
    def __init__(self, directory):
        try:
            from tensorboard.plugins.hparams import api as hp
        except ImportError as error:
            raise missing_extra(
                "tensorboard", "tensorboard", "TensorBoard logging (HParams)"
            ) from error
        from .._backend import keras_and_tf

        self.hp, self.tf = hp, keras_and_tf()[1]
        self.directory = Path(directory)
        self.writers, self.hparams, self.metrics = {}, {}, set()

    def start(self, search, state):
        self.close()
        self.hparams, self.metrics = {}, set()

    def log_fit(self, candidate, record, budget):
        writer = self._writer(candidate, record["fold"])
        n_epochs, initial = record["epochs"], record["initial_epoch"]
        with writer.as_default():
            for name, values in record["history"].items():
                offset = n_epochs - len(values)
                for i, value in enumerate(values):
                    if value is not None and offset + i >= initial:
                        self.tf.summary.scalar(name, value, step=offset + i)
                self.metrics.add(name)
            if isinstance(record["score"], (int, float)):
                self.tf.summary.scalar("test_score", record["score"], step=budget)
                self.metrics.add("test_score")

    def _writer(self, candidate, fold):
        run = f"{candidate.name}/fold_{fold}"
        writer = self.writers.get(run)
        if writer is None:
            writer = self.writers[run] = self.tf.summary.create_file_writer(
                str(self.directory / run)
            )
            hparams = {
                **{name: _hparam_value(v) for name, v in candidate.params.items()},
                "fold": int(fold),
            }
            for name, value in hparams.items():
                self.hparams.setdefault(name, set()).add(type(value).__name__)
            with writer.as_default():
                self.hp.hparams(hparams, trial_id=run)
        return writer

    def end(self, search, state, error):
        if self.hparams:
            hp = self.hp
            with self.tf.summary.create_file_writer(str(self.directory)).as_default():
                hp.hparams_config(
                    hparams=[hp.HParam(name) for name in sorted(self.hparams)],
                    metrics=[hp.Metric(name) for name in sorted(self.metrics)],
                )
        self.close()

    def close(self):
        for writer in self.writers.values():
            writer.flush()
            writer.close()
        self.writers = {}


def _hparam_value(value):
    """What the HParams plugin takes: bool, int, float or str."""
    return value if isinstance(value, (bool, int, float, str)) else str(value)
