"""A memory guard: estimate what a fit will hold before it holds it.

Two checks. Before anything is built or decoded: the arrays the fit would create
(decoded files kept in memory, precomputed augmented copies) plus, for large
images, the model's needs estimated from a small build. After the model is built: its weights,
gradients and two optimizer slots, and every layer's activations (forward and
backward) for one batch. When the total passes the memory the system says is
available, the fit stops with an error that names the sizes and the ways out,
instead of swapping the machine to a halt. ``SKHPO_MEMORY_GUARD=0`` turns it off.
"""

import math
import os

SMALL_SIDE = 64
ACTIVATION_COPIES = 3  # forward output, its gradient, and a workspace of the same size
WEIGHT_COPIES = 4  # weights, gradients, two optimizer slots (Adam's m and v)


class InsufficientMemoryError(MemoryError):
    """A fit would need more memory than the machine has available."""


def available_bytes():
    """``MemAvailable`` from /proc/meminfo (what can be used without swapping), or the
    physical memory where that file is missing."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def materialised_bytes(images, n_train, training):
    """Bytes of the arrays a fit creates from its data: decoded files kept in memory,
    augmented copies in precomputed mode (in the source's dtype, uint8 for files)."""
    per_image = math.prod(images.image_shape) * images.itemsize
    total = len(images) * per_image if images.from_files and images.cache == "memory" else 0
    if training.augment_mode == "precomputed" and any(training.augmentation.values()):
        total += (training.augment_copies + 1) * n_train * per_image
    return total


def scaled_model_bytes(model_spec, image_shape, batch_size):
    """``model_bytes`` of the model for large images, estimated without building it there.

    Building it could itself take the memory (a dense layer after two 10,000 x 10,000
    feature maps holds 3.2e9 weights), so the same builder is built for the images
    shrunk to about ``SMALL_SIDE`` pixels a side and the estimate scaled up by the
    ratio of pixels (activations and the first dense layer grow with it). 0 for
    small images (checked after the real build) and for scikeras-style builders.
    """
    from ..model import architectures
    from .session import thread_random_state

    built_elsewhere = (
        model_spec.scikeras_builder is not None or model_spec.continue_from is not None
    )
    if built_elsewhere or len(image_shape) != 3:
        return 0
    height, width, channels = image_shape
    shrink = max(height, width) / SMALL_SIDE
    if shrink <= 4:
        return 0
    small = (max(8, round(height / shrink)), max(8, round(width / shrink)), channels)
    hyperparameters = {
        k: v for k, v in model_spec.hyperparameters.items() if k != "weights"
    }  # no file to read
    with thread_random_state():
        model = architectures.build_model(
            model_spec.builder, small, model_spec.n_outputs, **hyperparameters
        )
    return int(model_bytes(model, batch_size) * (height * width) / (small[0] * small[1]))


def model_bytes(model, batch_size):
    """Weights and their optimizer state, plus one batch's activations of every layer,
    the layers of a nested model (a ``keras.applications`` backbone) included."""
    weights = model.count_params() * 4 * WEIGHT_COPIES
    activations = 0
    for layer in _layers(model):
        for output in _outputs(layer):
            shape = [d for d in output.shape[1:] if d is not None]
            activations += math.prod(shape) * 4 * ACTIVATION_COPIES
    return weights + batch_size * activations


def _layers(model):
    """``model``'s layers, and those of the models nested in it, depth first."""
    for layer in model.layers:
        yield layer
        if getattr(layer, "layers", None):
            yield from _layers(layer)


def _outputs(layer):
    try:
        output = layer.output
    except (AttributeError, ValueError):  # a layer used twice or never called symbolically
        return []
    return output if isinstance(output, (list, tuple)) else [output]


def check(needed, what, image_shape, n_images):
    """Raise ``InsufficientMemoryError`` when ``needed`` bytes exceed what is available."""
    if os.environ.get("SKHPO_MEMORY_GUARD", "1") == "0":
        return
    free = available_bytes()
    if needed <= free:
        return
    raise InsufficientMemoryError(
        f"This fit needs about {_gib(needed)} ({what}) for {n_images} images of shape "
        f"{tuple(image_shape)}, but only {_gib(free)} of memory is available. Pass image files "
        "(X as an array of paths, with image_size=) or a memory-mapped array (np.load(..., "
        "mmap_mode='r')) instead of decoded arrays, choose a smaller image_size or batch_size, "
        "use augment_mode='online', or set SKHPO_MEMORY_GUARD=0 to try anyway."
    )


def _gib(n_bytes):
    return f"{n_bytes / 2**30:.2f} GiB" if n_bytes >= 2**27 else f"{n_bytes / 2**20:.1f} MiB"
