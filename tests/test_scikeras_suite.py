"""scikeras's own test suite, run against CNNClassifier/CNNRegressor.

The suite is not copied here: it lives in ``../shared/peers/scikeras-tests`` (or
``$SCIKERAS_TESTS``) and runs in a subprocess with ``tests/scikeras_shim`` first on
``PYTHONPATH``, where a stand-in ``scikeras.wrappers`` maps ``KerasClassifier`` and
``KerasRegressor`` onto ours (the rest of ``scikeras`` is the installed package).
The shim's pytest plugin skips, with a written reason, the tests that do not apply
(``scikeras_suite_plugin.EXCLUDED``).

By default a fast subset runs; the whole suite is marked ``scikeras_suite`` (run it
with ``--run-slow`` or ``-m scikeras_suite``) and must pass 90% of what applies.
"""

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHIM = ROOT / "tests" / "scikeras_shim"
SUITE = Path(os.environ.get("SCIKERAS_TESTS", ROOT.parent / "shared" / "peers" / "scikeras-tests"))
NOT_APPLICABLE = "not applicable: "
REQUIRED_SHARE = 0.9
FAST_SUBSET = [
    "tests/test_api.py::TestBasicAPI::test_classify_build_fn",
    "tests/test_api.py::TestBasicAPI::test_regression_inherit_class_build_fn",
    "tests/test_api.py::TestAdvancedAPIFuncs::test_standalone",
    "tests/test_api.py::test_warm_start",
    "tests/test_api.py::TestPartialFit::test_partial_fit",
    "tests/test_param_routing.py::test_routing_basic",
    "tests/test_param_routing.py::test_routing_kwargs",
    "tests/test_compile_kwargs.py::test_optimizer",
    "tests/test_callbacks.py::test_callback_param_routing_syntax",
    "tests/test_errors.py::test_build_fn_and_init_signature_do_not_agree",
]

pytestmark = pytest.mark.skipif(
    not (SUITE / "tests").is_dir(), reason=f"no scikeras tests in {SUITE}"
)


def run_suite(selection, junit, timeout):
    """Run scikeras's tests ``selection`` against our estimators; the per-test outcomes."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(SHIM), os.environ.get("PYTHONPATH", "")]),
        "PYTHONDONTWRITEBYTECODE": "1",
        "TF_CPP_MIN_LOG_LEVEL": "2",
    }
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "scikeras_suite_plugin",
        "-p",
        "no:cacheprovider",
        "-q",
        "-o",
        "addopts=",
        f"--junitxml={junit}",
        *selection,
    ]
    done = subprocess.run(
        command, cwd=SUITE, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert Path(junit).is_file(), done.stdout[-3000:] + done.stderr[-3000:]
    return outcomes(junit), done.stdout


def outcomes(junit):
    """``{test id: (outcome, message)}`` from a JUnit XML report; outcome is passed,
    failed, excluded (skipped by the shim, with its reason) or skipped (by the suite)."""
    found = {}
    for case in ET.parse(junit).iter("testcase"):
        test_id = f"{case.get('classname')}::{case.get('name')}"
        result = next(iter(case), None)
        message = "" if result is None else (result.get("message") or "")
        if result is None or result.tag in ("system-out", "system-err"):
            found[test_id] = ("passed", "")
        elif result.tag == "skipped":
            found[test_id] = ("excluded" if NOT_APPLICABLE in message else "skipped", message)
        else:
            found[test_id] = ("failed", message)
    return found


def tally(found):
    counts = {kind: 0 for kind in ("passed", "failed", "excluded", "skipped")}
    for kind, _ in found.values():
        counts[kind] += 1
    return counts


def test_fast_subset_of_scikeras_suite_passes(tmp_path):
    found, log = run_suite(FAST_SUBSET, tmp_path / "fast.xml", timeout=900)
    failed = {k: m for k, (kind, m) in found.items() if kind == "failed"}
    assert found and not failed, f"{failed}\n{log[-3000:]}"


@pytest.mark.scikeras_suite
def test_whole_scikeras_suite(tmp_path):
    found, log = run_suite(["tests"], tmp_path / "all.xml", timeout=3 * 3600)
    counts = tally(found)
    applicable = counts["passed"] + counts["failed"]
    report = [
        f"scikeras suite: {counts['passed']}/{applicable} applicable tests passed "
        f"({counts['excluded']} not applicable, {counts['skipped']} skipped by scikeras itself)"
    ]
    reasons = Counter(
        m.split(NOT_APPLICABLE, 1)[1] for kind, m in found.values() if kind == "excluded"
    )
    report += [f"  {n} not applicable: {reason}" for reason, n in reasons.most_common()]
    report += [
        f"  FAILED {k}: {m[:160]}" for k, (kind, m) in sorted(found.items()) if kind == "failed"
    ]
    print("\n".join(report))
    stale = [line for line in log.splitlines() if line.startswith("STALE EXCLUSION")]
    assert not stale, stale  # every exclusion names a test that exists
    assert applicable and counts["passed"] >= REQUIRED_SHARE * applicable, (
        "\n".join(report) + log[-2000:]
    )
