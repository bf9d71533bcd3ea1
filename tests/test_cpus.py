"""usable_cpus: the affinity mask and a cgroup quota, never more than the process may use."""

import os

import pytest

from mmimdb2.cpus import usable_cpus


def test_usable_cpus_follows_the_affinity_mask(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0})
    assert usable_cpus(cgroup_root=tmp_path) == 1


@pytest.mark.parametrize(("cpu_max", "expected"), [("max 100000", 4), ("150000 100000", 2), ("50000 100000", 1), ("garbage", 4)])
def test_usable_cpus_is_capped_by_a_cgroup_quota(tmp_path, monkeypatch, cpu_max, expected):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    (tmp_path / "cpu.max").write_text(cpu_max + "\n")
    assert usable_cpus(cgroup_root=tmp_path) == expected
