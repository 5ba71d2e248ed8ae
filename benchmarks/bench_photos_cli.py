"""``skhpo tune`` on the real CIFAR-10 JPEG folder, as a user runs it, against the hand-written
Keras net given the same wall time; and the peak memory of every process it starts.

    python benchmarks/bench_photos_cli.py --time-limit 600 --image-size 32   # the accuracy target
    python benchmarks/bench_photos_cli.py --time-limit 300 --image-size 96 \\
        --no-handwritten                                                     # memory

One run, side by side:

1. ``skhpo tune --data ../shared/data/cifar10_images/train --max-samples 11000 --test-size
   1000/11000 --image-size S S --time-limit T --n-jobs 2`` (the default space and searcher):
   10,000 training images. Its whole wall time is measured against ``T`` (the limit covers the
   search, the refit and the report), and the resident memory of its process and every child
   (the joblib workers) is sampled every 0.2 s with psutil: the peak of each process and of
   their sum.
2. ``skhpo predict`` of the refitted model on the 10,000 test JPEGs: test accuracy.
3. ``benchmarks/bench_photos.py --systems handwritten --budget T`` on 10,000 training images of
   the same folder: the hand-written net trained for the same wall time, on the same test set.

Prints the figures and the difference in points; exits 0 with a message without the folder.
"""

import argparse
import json
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "cifar10_images"


def sample_rss(process, peaks, stop):
    """Peak RSS (MiB) of ``process`` and each descendant, and of their sum, until ``stop``."""
    import psutil

    root = psutil.Process(process.pid)
    while not stop.is_set():
        total = 0
        for proc in [root, *root.children(recursive=True)]:
            try:  # a child may end, or be a zombie, between the listing and these calls
                rss = proc.memory_info().rss / 2**20
                if not rss:  # ending: nothing left to measure
                    continue
                key = (
                    f"{proc.pid} {' '.join(proc.cmdline()[1:3])[:40]}"
                    if proc.pid != root.pid
                    else "skhpo tune"
                )
            except psutil.Error:
                continue
            peaks[key] = max(peaks.get(key, 0.0), rss)
            total += rss
        peaks["all processes"] = max(peaks.get("all processes", 0.0), total)
        time.sleep(0.2)


def run_tune(args, output):
    command = [
        sys.executable,
        "-m",
        "sklearn_keras_hpo",
        "tune",
        "--data",
        str(DATA / "train"),
        "--max-samples",
        "11000",
        "--test-size",
        str(1000 / 11000),
        "--image-size",
        str(args.image_size),
        str(args.image_size),
        "--time-limit",
        str(args.time_limit),
        "--n-jobs",
        "2",
        "--no-progress",
        "--searcher",
        args.searcher,
        "--output",
        str(output),
    ]
    peaks, stop = {}, threading.Event()
    started = time.monotonic()
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    sampler = threading.Thread(target=sample_rss, args=(process, peaks, stop), daemon=True)
    sampler.start()
    out, _ = process.communicate()
    wall = time.monotonic() - started
    stop.set()
    sampler.join()
    return wall, peaks, out, process.returncode


def test_accuracy(output):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "sklearn_keras_hpo",
            "predict",
            str(output / "model"),
            str(DATA / "test"),
            "-o",
            str(output / "test_predictions.csv"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return float(re.search(r"accuracy against the file's labels: ([0-9.]+)", done.stdout).group(1))


def handwritten(budget, output):
    results = output / "handwritten.json"
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "bench_photos.py"),
            "--systems",
            "handwritten",
            "--budget",
            str(budget),
            "--json",
            str(results),
        ],
        cwd=ROOT,
        check=True,
    )
    return json.loads(results.read_text())["results"][0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--time-limit", type=float, default=600)
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--searcher", default="asha", help="the CLI's own default")
    parser.add_argument("--no-handwritten", action="store_true")
    parser.add_argument("--output", default="runs/photos_cli")
    args = parser.parse_args()
    if not (DATA / "train").is_dir():
        print(f"{DATA} is absent: nothing to measure.")
        return
    output = Path(args.output) / f"{args.image_size}px_{args.time_limit:g}s"
    wall, peaks, out, returncode = run_tune(args, output)
    print(out[-1500:])
    print(
        f"skhpo tune, {args.image_size} px, --time-limit {args.time_limit:g}: wall {wall:.0f} s "
        f"({wall / args.time_limit:.2f} x the limit), exit status {returncode}"
    )
    for name, mib in sorted(peaks.items(), key=lambda item: -item[1]):
        print(f"  peak RSS {mib:8.0f} MiB  {name}")
    if returncode != 0:
        return
    accuracy = test_accuracy(output)
    print(f"test accuracy {accuracy:.4f} on the 10,000 test images")
    if not args.no_handwritten:
        hand = handwritten(args.time_limit, output)
        print(
            f"hand-written Keras net, {args.time_limit:g} s: test accuracy {hand['accuracy']:.4f} "
            f"({hand['epochs']:.1f} epochs); skhpo tune - hand-written: "
            f"{100 * (accuracy - hand['accuracy']):+.1f} points"
        )


if __name__ == "__main__":
    main()
