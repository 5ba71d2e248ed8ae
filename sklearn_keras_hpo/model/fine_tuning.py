"""Freeze, then fine-tune: which layers of a backbone train in each epoch.

The phases are a function of the absolute epoch, as the learning-rate schedules are, so
a fit continued from a checkpoint (warm-started rungs, resume) trains exactly as a
straight run:

- epochs ``0 .. freeze_epochs - 1``: the head only; the backbone frozen (every layer not
  trainable, batch norm in inference mode);
- from epoch ``freeze_epochs`` on: the top ``fine_tune_layers`` layers of the backbone
  (``"all"``: every layer) train too, at the schedule's rate times ``lr_factor``. A
  backbone loaded with weights keeps its batch-norm layers frozen in every phase.

Between fits a model rests with every layer it may ever train trainable, so its
optimizer holds a slot for each (Keras' optimizers refuse variables they were not built
with) and a checkpoint's optimizer variables fit every phase. A change of phase retraces
Keras' training step once per model; the traced step of each trainable state is kept
with the model and reused when the state comes back (the next fit of a cached model).

Examples
--------
>>> [layers_to_train(epoch, freeze_epochs=2, fine_tune_layers=20) for epoch in range(4)]
[0, 0, 20, 20]
>>> layers_to_train(0, freeze_epochs=0, fine_tune_layers="all") is None
True
"""

from .._backend import keras_and_tf
from .backbones import backbone_of, is_batch_norm

# the model's {trainable state: traced train function}, an attribute (not Keras-tracked): a
# traced step refers to its model, so a table outside the model would keep every model alive
TRAIN_FUNCTIONS = "_skhpo_train_functions"


def layers_to_train(epoch, *, freeze_epochs, fine_tune_layers):
    """How many of the backbone's top layers train in ``epoch``: 0 (frozen), a count, or
    None for all of them."""
    if epoch < freeze_epochs:
        return 0
    return None if fine_tune_layers == "all" else int(fine_tune_layers)


def set_trainable(model, top, *, frozen_batch_norm):
    """Make the top ``top`` layers of ``model``'s backbone trainable (None: all of them,
    0: none) and the rest not; batch norm stays frozen when ``frozen_batch_norm``."""
    backbone = backbone_of(model)
    if backbone is None:
        return
    backbone.trainable = top != 0  # Keras sets every nested layer
    if top == 0:
        return
    layers = backbone.layers
    for layer in layers[: max(0, len(layers) - top)] if top is not None else ():
        layer.trainable = False
    if frozen_batch_norm:
        for layer in backbone._flatten_layers(include_self=False):
            if is_batch_norm(layer):
                layer.trainable = False


def trainable_state(model):
    """The trainable variables' paths and each batch-norm layer's mode: what the traced
    training step depends on."""
    variables = tuple(variable.path for variable in model.trainable_variables)
    norms = tuple(
        layer.trainable
        for layer in model._flatten_layers(include_self=False)
        if is_batch_norm(layer)
    )
    return variables, norms


def use_train_function(model):
    """Point ``model.train_function`` at a step traced for its current trainable state."""
    functions = vars(model).get(TRAIN_FUNCTIONS)
    if functions is None:
        functions = {}
        object.__setattr__(model, TRAIN_FUNCTIONS, functions)
    state = trainable_state(model)
    if state not in functions:
        model.make_train_function(force=True)
        functions[state] = model.train_function
    model.train_function = functions[state]


def fine_tuning_callbacks(
    *,
    freeze_epochs,
    fine_tune_layers,
    lr_factor=1.0,
    frozen_batch_norm=False,
    rate_set_each_epoch=True,
):
    """The Keras callback that sets each epoch's phase (after the schedule's callbacks,
    whose rate it scales by ``lr_factor`` in the fine-tuning epochs; a schedule that does
    not set the rate each epoch, reduce-on-plateau, is scaled once, when they start)."""
    keras, _ = keras_and_tf()

    class FineTuning(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            set_trainable(self.model, None, frozen_batch_norm=frozen_batch_norm)  # at rest
            if not self.model.optimizer.built:
                self.model.optimizer.build(self.model.trainable_variables)

        def on_epoch_begin(self, epoch, logs=None):
            top = layers_to_train(
                epoch, freeze_epochs=freeze_epochs, fine_tune_layers=fine_tune_layers
            )
            set_trainable(self.model, top, frozen_batch_norm=frozen_batch_norm)
            use_train_function(self.model)
            if (
                epoch >= freeze_epochs
                and lr_factor != 1.0
                and (rate_set_each_epoch or epoch == freeze_epochs)
            ):
                optimizer = self.model.optimizer
                optimizer.learning_rate = float(optimizer.learning_rate.numpy()) * lr_factor

        def on_train_end(self, logs=None):
            set_trainable(self.model, None, frozen_batch_norm=frozen_batch_norm)

    return [FineTuning()]
