"""The README's Python blocks and ``skhpo`` commands run as written, in a fresh process and
an empty folder, as a new user would run them (the ``make`` and ``pip`` lines are the
set-up itself, run by CI)."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BLOCKS = re.findall(r"```(python|bash)\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
PYTHON = [code for kind, code in BLOCKS if kind == "python"]
COMMANDS = [
    line.split("#")[0].strip()
    for kind, code in BLOCKS
    if kind == "bash"
    for line in code.splitlines()
    if line.startswith("skhpo ")
]


@pytest.mark.parametrize("code", PYTHON, ids=[f"python-{i}" for i in range(len(PYTHON))])
def test_python_block_runs(code, tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]


def test_the_command_lines_run_in_order(tmp_path):
    assert COMMANDS, "the README shows skhpo commands"
    for command in COMMANDS:
        args = command.split()[1:]
        done = subprocess.run(
            [sys.executable, "-m", "sklearn_keras_hpo", *args],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, (command, done.stdout[-2000:], done.stderr[-2000:])
