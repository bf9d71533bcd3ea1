"""Docstrings name things that exist: every Sphinx-style reference (``:func:`x```, ``:class:`x```,
``:data:`x```, ``:meth:`x```, ``:mod:`x```) to the project's own code resolves, so a renamed or
removed function cannot leave a comment pointing at nothing."""

from __future__ import annotations

import ast
import builtins
import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("mmimdb2", "idkg", "baselines", "benchmarks", "leaderboard")
REFERENCE = re.compile(r":(?:func|class|data|meth|mod|attr|exc):`~?([A-Za-z_][\w.]*)`")


def _modules() -> list[tuple[str, Path]]:
    out = []
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            if "perf" in path.parts:
                continue
            parts = path.relative_to(ROOT).with_suffix("").parts
            out.append((".".join(parts[:-1] if parts[-1] == "__init__" else parts), path))
    return out


def _resolves(ref: str, module) -> bool:
    """``ref`` as a dotted path from a top-level package, or a name (and attributes) in ``module``."""
    head = ref.split(".")[0]
    if head in PACKAGES:
        parts = ref.split(".")
        for cut in range(len(parts), 0, -1):  # the longest importable module prefix, then attributes
            try:
                obj = importlib.import_module(".".join(parts[:cut]))
            except ImportError:
                continue
            try:
                for attr in parts[cut:]:
                    obj = getattr(obj, attr)
            except AttributeError:
                return _in_annotations(obj, parts[cut:])
            return True
        return False
    if hasattr(builtins, ref):
        return True
    if "." not in ref and any(hasattr(c, ref) or _in_annotations(c, [ref]) for c in vars(module).values() if isinstance(c, type)):
        return True  # a method or field named inside its own class's docstring
    obj = module
    for i, attr in enumerate(ref.split(".")):
        if not hasattr(obj, attr):
            return i > 0 and _in_annotations(obj, ref.split(".")[i:])
        obj = getattr(obj, attr)
    return True


def _in_annotations(obj, rest: list[str]) -> bool:
    """A dataclass field without a default is an annotation, not a class attribute."""
    return len(rest) == 1 and rest[0] in getattr(obj, "__annotations__", {})


@pytest.mark.parametrize(("name", "path"), _modules(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_reference_in_a_docstring_or_comment_resolves(name, path):
    text = path.read_text(encoding="utf-8")
    refs = set(REFERENCE.findall(text))
    if not refs:
        return
    ast.parse(text)  # a module that does not parse fails here, not in the import below
    module = importlib.import_module(name)
    external = ("torch", "np", "numpy", "sklearn", "pykeen", "open_clip", "PIL", "json", "os", "pathlib", "argparse")
    missing = sorted(r for r in refs if r.split(".")[0] not in external and not _resolves(r, module))
    assert not missing, f"{path.relative_to(ROOT)} names what does not exist: {', '.join(missing)}"
