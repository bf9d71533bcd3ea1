"""Fixtures for the builder's tests (imported by the tests/test_build_*.py files; no tests here).

The fake web itself lives in :mod:`mmimdb2.builder.fakeweb` so benchmarks and new sources can use it.
"""

from __future__ import annotations

import pytest

from mmimdb2.builder.fakeweb import FAST_RETRY, FakeWeb, Resp, World, jpeg, json_body, make_world, title_page, write_tsv_gz

__all__ = ["FAST_RETRY", "FakeWeb", "Resp", "World", "jpeg", "json_body", "make_world", "title_page", "write_tsv_gz", "web", "world"]


@pytest.fixture
def web():
    w = FakeWeb()
    yield w
    w.close()


@pytest.fixture
def world(tmp_path, web) -> World:
    return make_world(tmp_path / "world", web)
