"""``skhpo export MODEL_DIR OUT --format saved_model|onnx|litert``: a model written by
``tune`` as a deployable graph (``CNNClassifier.export``), ``classes.json`` beside it."""


def run_export(args):
    """``export`` for parsed arguments: write the graph; the exit status."""
    from ..estimators import load

    estimator = load(args.model_dir, trusted=args.trusted)
    try:
        written = estimator.export(args.out, format=args.format, input_dtype=args.input_dtype)
    except ImportError as error:  # the format's converter extra is not installed
        raise ValueError(str(error)) from error
    print(f"Exported {args.format} to {written} (classes in classes.json beside it)")
    return 0
