"""What ``skhpo tune`` writes and prints: the output directory, its files and the summary lines.

The directory holds ``best_params.json``, ``cv_results.csv``, ``model/`` (Keras ``.keras``
plus ``estimator.json``), ``report.html``, ``fits/`` (every finished fit's checkpoint) and
``finished_fits.jsonl`` (every finished fit's scores); the last two are what ``--resume``
and a stopped search's choice read, and are cleared without ``--resume``.
"""

import json
import shutil

import numpy as np

from ..reporting.files import json_default, write_results_csv


def prepare_output(settings):
    """``(fits folder, records file)`` in the output directory, created; the previous
    run's fits and records removed unless ``--resume``."""
    output = settings.output
    fits = output / "fits"
    if fits.exists() and not settings.resume:
        shutil.rmtree(fits)
    output.mkdir(parents=True, exist_ok=True)
    records = output / "finished_fits.jsonl"
    if records.exists() and not settings.resume:
        records.unlink()
    return fits, records


def write_outputs(output, results, best_params, best, summary, train, test, searched):
    """Write the best parameters, the results, the model and the report into ``output``;
    print the held-out accuracy, the best parameters and where the report is. Returns 0,
    the command's exit status."""
    from ..reporting.baselines import baseline_scores
    from ..reporting.report import build_report

    (X_train, y_train), (X_test, y_test) = train, test
    baselines = baseline_scores(X_train, y_train, X_test, y_test)
    accuracy = float(best.score(X_test, y_test)) if len(y_test) else None  # once, for both
    (output / "best_params.json").write_text(
        json.dumps(best_params, indent=1, default=json_default)
    )
    write_results_csv(output / "cv_results.csv", results)
    best.save(output / "model")
    page = build_report(
        title="skhpo tune report",
        data_summary=summary,
        results=results,
        best_estimator=best,
        X_test=X_test,
        y_test=y_test,
        X_preview=decoded(X_train[:8], best),
        y_preview=y_train[:8],
        searched=searched,
        baselines=baselines,
        held_out_accuracy=accuracy,
    )
    (output / "report.html").write_text(page)
    print_baselines(baselines)
    if len(y_test):
        print_held_out_accuracy(best, accuracy, len(y_test))
    print(f"Best parameters: {json.dumps(best_params, default=json_default)}")
    print(f"Report: {(output / 'report.html').resolve()}")
    return 0


def print_baselines(baselines):
    """The baselines' held-out accuracies on the console, or why they were skipped."""
    if isinstance(baselines, str):
        print(f"Baselines skipped: {baselines}.")
        return
    shown = ", ".join(f"{name} {accuracy:.4f}" for name, (accuracy, _) in baselines.items())
    print(f"Baselines on the flattened pixels of the same split: {shown}")


def print_held_out_accuracy(best, accuracy, n_images):
    """The model's ``accuracy`` on the ``n_images`` held out (subset accuracy when
    multi-label)."""
    multi = ""
    if getattr(best, "target_type_", None) == "multilabel-indicator":
        multi = f"; multi-label: subset accuracy at threshold {best.threshold:g}"
    print(f"Held-out accuracy: {accuracy:.4f} ({n_images} images{multi})")


def budget_note(epochs, max_epochs):
    """The report's line on the epochs the best of a rung search was chosen at, printed as
    a note too when that is below ``max_epochs`` (the search was stopped before any
    candidate reached the last rung)."""
    note = f"{epochs} of {max_epochs} epochs (the largest that finished)"
    if epochs is not None and epochs < max_epochs:
        note += (
            ": no candidate reached max epochs in the time given, so it is chosen on shorter fits"
        )
        print(f"Note: the best is chosen at {note}.")
    return note


def decoded(images, estimator):
    """Pixels for the report's previews: file paths decoded as the estimator reads them."""
    if images.ndim != 1 or images.dtype.kind not in "USO":
        return np.asarray(images)
    from ..training.sources import decode_all

    shape = tuple(estimator.image_shape_)
    out = decode_all(
        np.asarray(images, dtype=str), shape, np.empty((len(images), *shape), np.uint8)
    )
    return out[..., 0] if shape[-1] == 1 else out
