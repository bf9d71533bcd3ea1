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
