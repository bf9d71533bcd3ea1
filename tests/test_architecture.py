"""The package layers and the absence of import cycles, as CI checks them.

- ``lint-imports`` (import-linter, contracts in pyproject.toml): benchmarks > baselines > idkg >
  mmimdb2, benchmarks > leaderboard > mmimdb2, and the leaderboard imports no model code.
- ``python .ci/check_cycles.py``: no two modules of the project import each other, directly or
  through others (function-level imports count).

Both are run on this checkout, and each is shown to catch a violation on a throwaway tree, so a
broken checker cannot pass silently.
"""

from __future__ import annotations

import os
import runpy
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHECK_CYCLES = ROOT / ".ci" / "check_cycles.py"
PACKAGES = ("mmimdb2", "idkg", "baselines", "benchmarks", "leaderboard")
LINT_IMPORTS = "import sys; from importlinter.cli import lint_imports; sys.exit(lint_imports(no_cache=True, no_logo=True))"


def _run(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=300, env={**os.environ, **env})


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_no_import_cycle_between_modules():
    res = _run([sys.executable, str(CHECK_CYCLES)], ROOT)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "no import cycle" in res.stdout


def test_layer_contracts_are_kept():
    res = _run([sys.executable, "-c", LINT_IMPORTS], ROOT)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "0 broken" in res.stdout


def test_the_cycle_check_names_a_function_level_cycle(tmp_path):
    _write(tmp_path, {
        "cyclepkg/__init__.py": "",
        "cyclepkg/a.py": "def f():\n    from cyclepkg import b\n    return b\n",
        "cyclepkg/b.py": "import cyclepkg.a\n",
        "cyclepkg/c.py": "import cyclepkg.b\n",  # imports into the cycle, is not part of it
    })  # fmt: skip
    res = _run([sys.executable, str(CHECK_CYCLES), "cyclepkg"], ROOT, PYTHONPATH=str(tmp_path))
    assert res.returncode == 1, res.stdout + res.stderr
    assert "import cycle among 2 module(s): cyclepkg.a, cyclepkg.b" in res.stdout
    assert "cyclepkg.a -> cyclepkg.b (line 2: from cyclepkg import b)" in res.stdout
    assert "closes cyclepkg.b -> cyclepkg.a -> cyclepkg.b" in res.stdout
    assert "cyclepkg.c" not in res.stdout


def test_the_contracts_catch_an_upward_import_inside_a_function(tmp_path):
    """The project's own contracts on stand-in packages: leaderboard reaching into benchmarks in a function body."""
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    _write(tmp_path, {f"{p}/__init__.py": "" for p in PACKAGES})
    _write(tmp_path, {
        "benchmarks/registry.py": "def available_models():\n    return ['idkg']\n",
        "leaderboard/validate.py": "def registered_models():\n    from benchmarks.registry import available_models\n    return available_models()\n",
    })  # fmt: skip
    res = _run([sys.executable, "-c", LINT_IMPORTS], tmp_path)
    assert res.returncode == 1, res.stdout + res.stderr
    assert "leaderboard is not allowed to import benchmarks" in res.stdout
    assert "leaderboard.validate -> benchmarks.registry (l.2)" in res.stdout


def test_cycle_check_and_contracts_cover_the_same_packages():
    tomllib = pytest.importorskip("tomllib")
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    assert tuple(config["root_packages"]) == PACKAGES
    assert runpy.run_path(str(CHECK_CYCLES))["ROOT_PACKAGES"] == PACKAGES
