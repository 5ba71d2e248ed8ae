"""The table and the plot of ``bench_peers.py``: time to accuracy per system, from the
records each system's process wrote (pure functions of those results)."""

OURS = ("ours-hyperband", "ours-asha")


def curve(rows, start):
    """[(minutes, test accuracy of the best-so-far model by validation accuracy), ...]."""
    points, best = [], -1.0
    for row in sorted(rows, key=lambda row: row["t"]):
        if row["val"] > best:
            best = row["val"]
            points.append([(row["t"] - start) / 60, row["test"]])
    return points


# -- the parent: one process per system, then the table, the ratio and the plot ------------
def reached(points, accuracy_goal):
    """Minutes at which a curve first reaches ``accuracy_goal``, or None."""
    return next((minutes for minutes, test in points if test >= accuracy_goal), None)


def report(results, budget, output, samples, labels):
    print(f"\n{'system':<36} {'models':>6} {'best val':>8} {'curve end':>9} {'final test':>10} {'refit s':>7}")
    for name, result in results.items():
        final = result.get("final") or {}
        end = result["curve"][-1][1] if result["curve"] else float("nan")
        print(f"{labels[name]:<36} {result['n_models']:>6} {result.get('best_val', float('nan')):>8.4f} "
              f"{end:>9.4f} {final.get('test_accuracy', float('nan')):>10.4f} {final.get('refit_s', 0):>7.0f}")
    peers = [n for n, r in results.items() if n not in OURS and n != "baseline" and r.get("final")]
    if peers:
        final_peer = max(peers, key=lambda n: results[n]["final"]["test_accuracy"])
        final_goal = results[final_peer]["final"]["test_accuracy"]
        curve_best = {n: max((test for _, test in results[n]["curve"]), default=0.0) for n in peers}
        curve_peer = max(curve_best, key=curve_best.get)
        curve_goal = curve_best[curve_peer]
        print(f"\nbest peer by final refit: {labels[final_peer]}, {final_goal:.4f}; best peer on the curve "
              f"(2,000 test images, the same measure for every system): {labels[curve_peer]}, {curve_goal:.4f}")
        for name in [n for n in OURS if results.get(n, {}).get("final")]:
            at = reached(results[name]["curve"], curve_goal)
            ratio = "not reached within the budget" if at is None else f"{at:.1f} min = {at / budget:.2f} of the budget"
            diff = 100 * (results[name]["final"]["test_accuracy"] - final_goal)
            print(f"  {labels[name]}: reaches the best peer's curve at {ratio} (target <= 0.5); "
                  f"final refit {diff:+.2f} points against the best peer's (target >= -0.3)")
    default = (results.get("baseline") or {}).get("final")
    for name in [n for n in results if n != "baseline" and default and results[n].get("final")]:
        diff = 100 * (results[name]["final"]["test_accuracy"] - default["test_accuracy"])
        print(f"  {labels[name]}: final {diff:+.2f} points against the untuned default")
    plot(results, budget, output / "bench_peers.png", samples, labels)


def plot(results, budget, path, samples, labels):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(8, 5))
    for name, result in results.items():
        label = labels[name]
        if name == "baseline" and result.get("final"):
            axes.axhline(result["final"]["test_accuracy"], color="grey", linestyle="--", label=label)
        elif result["curve"]:
            minutes, accuracy_ = zip(*result["curve"])
            line, = axes.step([*minutes, budget], [*accuracy_, accuracy_[-1]], where="post", label=label)
            if result.get("final"):
                axes.plot([budget], [result["final"]["test_accuracy"]], "o", color=line.get_color())
    ends = [r["curve"][-1][1] for r in results.values() if r["curve"]]  # zoom on where the systems end
    axes.set_ylim(min(ends) - 0.05 if ends else 0.0, 1.0 if not ends else min(1.0, max(ends) + 0.02))
    axes.set(xlabel="minutes", ylabel="test accuracy of the best so far", xlim=(0, budget * 1.05),
             title=f"Fashion-MNIST, {samples} training images; dots: final refit on all of them")  # fmt: skip
    axes.legend(fontsize=8, loc="lower right")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    print(f"plot: {path}")
