"""The builder's ways in: ``python -m mmimdb2.build`` (kept after the package became
``mmimdb2.builder``) and the ``mmimdb2-build`` script named in pyproject.toml."""

import importlib
import subprocess
import sys
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[1]


def test_python_m_mmimdb2_build_help_exits_0():
    r = subprocess.run([sys.executable, "-m", "mmimdb2.build", "--help"], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert "usage: python -m mmimdb2.build" in r.stdout


def test_mmimdb2_build_script_resolves_to_an_importable_callable():
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    module, _, attr = scripts["mmimdb2-build"].partition(":")
    assert module.startswith("mmimdb2.builder")
    target = getattr(importlib.import_module(module), attr)
    assert callable(target)


def test_the_shim_re_exports_nothing():
    import mmimdb2.build as shim

    assert not [n for n in vars(shim) if not n.startswith("_")]
