"""Test-wide isolation: no network hubs, no writes outside a temp dir."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path_factory, monkeypatch):
    """Point every cache root at a temp folder and make hub look-ups fail fast (no network here)."""
    base = tmp_path_factory.getbasetemp()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("PYKEEN_HOME", str(base / "pykeen"))
    monkeypatch.setenv("MMIMDB2_DATA", str(base / "data"))
    monkeypatch.setenv("MMIMDB2_CACHE", str(base / "cache"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(base / "xdg"))


@pytest.fixture
def one_torch_thread():
    """Tiny tensors gain nothing from intra-op threads, and on a busy 2-core machine they stall."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def read_only(monkeypatch):
    """Make a folder read-only: ``read_only(folder)``. chmod where permissions hold; as root (who
    writes anyway) creating a file in it fails as a read-only folder makes it fail."""
    import errno
    import os
    import tempfile
    from pathlib import Path

    folders: list[Path] = []
    real = tempfile.mkstemp

    def mkstemp(*args, **kw):
        where = Path(kw.get("dir") or (args[2] if len(args) > 2 else tempfile.gettempdir())).resolve()
        if any(where == f or f in where.parents for f in folders):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(where / "tmpfile"))
        return real(*args, **kw)

    def make(folder):
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        folders.append(folder.resolve())
        if os.geteuid() == 0:
            monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
        else:
            folder.chmod(0o555)
        return folder

    yield make
    for folder in folders:
        folder.chmod(0o755)
