"""A time limit T: ``skhpo tune --time-limit T`` against the default trained alone for T and
the hand-written Keras net for T, side by side in one run per (task, T).

Each system runs in a fresh process through ``bench_peers.py`` (its ``ours-tune``,
``default-budget`` and ``handwritten`` systems, on its tasks: CIFAR-10 JPEGs 10,000 at
32 px, Fashion-MNIST 10,000, MNIST 2s vs 7s), scored on the whole official test split.
``--seeds N`` also trains the default-for-T with seeds 1..N-1 at the first T, so that every
difference is read against the default's own spread. Prints one table per task with the
targets (tune >= default - spread; tune >= hand-written; wall <= 1.05 T) and what tune
planned.

    python benchmarks/bench_budget.py --tasks cifar10,fashion,mnist27 --minutes 5,20 --seeds 3
    python benchmarks/bench_budget.py --tasks fashion --minutes 5 --seeds 1   # one cell
    python benchmarks/bench_budget.py --tasks fashion --minutes 10 \\
        --systems ours-tune,default-budget

Skips a task, with a message, when its data is absent.
"""

import argparse
import json
import subprocess
import sys
from pathlib import Path

from peers_tasks import TASKS, data_present

ROOT = Path(__file__).resolve().parents[1]
PEERS = Path(__file__).with_name("bench_peers.py")
SYSTEMS = ("ours-tune", "default-budget", "handwritten")


def run_cell(task, minutes, systems, output, seed=0):
    """``bench_peers.py`` for ``systems`` at ``minutes``; ``{system: result}``."""
    command = [
        sys.executable,
        str(PEERS),
        "--task",
        task,
        "--budget",
        str(minutes),
        "--systems",
        ",".join(systems),
        "--output",
        str(output),
        "--seed",
        str(seed),
        "--reuse",
    ]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        print(done.stdout[-2000:], done.stderr[-2000:])
    return {
        name: json.loads((output / f"{name}.json").read_text())
        for name in systems
        if (output / f"{name}.json").exists()
    }


def spread(task, minutes, seeds, output, first):
    """Test accuracies of the default-for-T with seeds 0..seeds-1 (seed 0 is ``first``)."""
    accuracies = [first]
    for seed in range(1, seeds):
        cell = run_cell(task, minutes, ["default-budget"], output / f"seed{seed}", seed)
        if "default-budget" in cell:
            accuracies.append(cell["default-budget"]["final"]["test_accuracy"])
    return accuracies


def report(task, minutes, cell, accuracies):
    """The row of one (task, T) and its targets."""
    tune, default = cell.get("ours-tune"), cell.get("default-budget")
    hand = cell.get("handwritten")
    limit = minutes * 60
    print(f"\n{TASKS[task]['title']}, T = {minutes:g} min")
    for name, result in (("skhpo tune", tune), ("default for T", default), ("hand-written", hand)):
        if result is None:
            print(f"  {name:14s} failed or missing")
            continue
        final = result["final"]
        print(
            f"  {name:14s} test {final['test_accuracy']:.4f}  wall {result['search_wall_s']:.0f} s"
            f" ({result['search_wall_s'] / limit:.2f} T)  {final.get('chosen_by', '')}"
        )
    if tune is None or default is None:
        return
    noise = max(accuracies) - min(accuracies) if len(accuracies) > 1 else 0.0
    gain = tune["final"]["test_accuracy"] - default["final"]["test_accuracy"]
    print(
        f"  tune - default: {100 * gain:+.2f} points; default's seed spread "
        f"{100 * noise:.2f} points over {len(accuracies)} seeds {accuracies}"
    )
    checks = {
        "tune >= default - spread": gain >= -noise,
        "tune <= 1.05 T": tune["search_wall_s"] <= 1.05 * limit,
    }
    if hand is not None:
        checks["tune >= hand-written"] = (
            tune["final"]["test_accuracy"] >= hand["final"]["test_accuracy"]
        )
    for name, met in checks.items():
        print(f"  target {name}: {'met' if met else 'NOT met'}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default="cifar10,fashion,mnist27")
    parser.add_argument("--minutes", default="5,20")
    parser.add_argument("--seeds", type=int, default=3, help="default-for-T seeds at the first T")
    parser.add_argument("--systems", default=",".join(SYSTEMS), help="a subset of the three")
    parser.add_argument("--output", default=str(ROOT / "runs" / "bench_budget"))
    args = parser.parse_args()
    for task in args.tasks.split(","):
        if not data_present(task):
            print(f"skipped {task}: {TASKS[task]['data']} not found")
            continue
        for i, minutes in enumerate(float(m) for m in args.minutes.split(",")):
            output = Path(args.output) / f"{task}-{minutes:g}min"
            cell = run_cell(task, minutes, args.systems.split(","), output)
            first = cell.get("default-budget", {}).get("final", {}).get("test_accuracy")
            seeds = args.seeds if i == 0 and first is not None else 1
            accuracies = spread(task, minutes, seeds, output, first) if first is not None else []
            report(task, minutes, cell, accuracies)


if __name__ == "__main__":
    main()
