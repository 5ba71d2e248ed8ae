"""A Keras callback that ends training at a deadline, for the one fit of a time-limited run
that has no checkpoint to continue (the starting configuration trained for the limit)."""

import time


def deadline_stop(deadline):
    """A callback that stops training after the first batch to end past ``deadline``
    (``time.monotonic()`` seconds). It steers training, so it says it does not only observe.

    >>> import time
    >>> deadline_stop(time.monotonic() + 60).observes_only
    False
    """
    import keras

    class DeadlineStop(keras.callbacks.Callback):
        observes_only = False

        def on_train_batch_end(self, batch, logs=None):
            if time.monotonic() >= deadline:
                self.model.stop_training = True

    return DeadlineStop()
