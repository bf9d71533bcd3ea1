"""Where a run's (cell, seed) jobs execute: in this process, in local worker processes, or on Ray.

Each executor maps one picklable function over tasks ``(shared key, item)`` and yields
``(task index, result)`` as tasks finish, so the caller writes each finished cell at once and an
interrupted grid keeps what it finished. ``shared`` holds the large inputs several tasks read
(the prepared features and KG inputs): the function gets ``fn(shared[key], item)``. Ray stores
each shared object once in its object store; local worker processes receive it pickled with each
task. Every worker sets its own torch threads (``threads // jobs``, at least 1) before its first
task; the serial executor leaves this process's setting as the caller made it. A seed-independent
estimator is fitted once per run in the serial executor, once per job in the others (same result).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from typing import Any

from benchmarks.threads import per_job, set_threads
from mmimdb2.registry import Registry

Task = tuple[Hashable, Any]


class SerialExecutor:
    """One task after another in this process (the default; what every other executor must match)."""

    def __init__(self, *, jobs: int = 1, threads: int = 1, address: str | None = None, device: str = "cpu") -> None:
        """Takes every executor's keywords; runs with this process's threads and device."""

    def map(self, fn: Callable, tasks: Sequence[Task], shared: Mapping[Hashable, Any]) -> Iterator[tuple[int, Any]]:
        for i, (key, item) in enumerate(tasks):
            yield i, fn(shared[key], item)

    def close(self) -> None:
        pass


class ProcessExecutor:
    """``jobs`` worker processes on this machine (concurrent.futures, spawned: a forked torch can
    hang in its thread pool), each with ``threads // jobs`` torch threads."""

    def __init__(self, *, jobs: int = 2, threads: int = 2, address: str | None = None, device: str = "cpu") -> None:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        self.pool = ProcessPoolExecutor(
            max_workers=jobs, mp_context=multiprocessing.get_context("spawn"), initializer=set_threads, initargs=(per_job(threads, jobs),)
        )

    def map(self, fn: Callable, tasks: Sequence[Task], shared: Mapping[Hashable, Any]) -> Iterator[tuple[int, Any]]:
        from concurrent.futures import as_completed

        futures = {self.pool.submit(fn, shared[key], item): i for i, (key, item) in enumerate(tasks)}
        for future in as_completed(futures):
            yield futures[future], future.result()

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


def _on_ray(fn: Callable, threads: int, value: Any, item: Any) -> Any:
    """One task inside a Ray worker: its own thread count first (a worker may serve other runs)."""
    set_threads(threads)
    return fn(value, item)


class RayExecutor:
    """Tasks on a Ray cluster (``address``; None or ``"local"``: a Ray instance on this machine),
    at most ``jobs`` at once, each asking for ``threads // jobs`` CPUs and, when the cluster has
    GPUs and the device is not ``cpu``, ``1 / jobs`` of a GPU."""

    def __init__(self, *, jobs: int = 1, threads: int = 1, address: str | None = None, device: str = "cpu") -> None:
        try:
            import ray
        except ImportError:
            raise ImportError("--executor ray needs Ray: pip install 'mmimdb2[ray]'") from None
        self.ray = ray
        self.started = not ray.is_initialized()
        if self.started:
            local = address in (None, "local")
            ray.init(address=None if local else address, include_dashboard=False, log_to_driver=False,
                     **({"num_cpus": max(threads, jobs)} if local else {}))  # fmt: skip
        self.jobs, self.threads = jobs, per_job(threads, jobs)
        gpus = ray.cluster_resources().get("GPU", 0) if device != "cpu" else 0
        self.remote = ray.remote(_on_ray).options(num_cpus=self.threads, num_gpus=(1 / jobs if gpus else 0), max_retries=0)

    def map(self, fn: Callable, tasks: Sequence[Task], shared: Mapping[Hashable, Any]) -> Iterator[tuple[int, Any]]:
        refs = {key: self.ray.put(shared[key]) for key in {k for k, _ in tasks}}  # each shared input stored once
        waiting, running = list(enumerate(tasks)), {}
        while waiting or running:
            while waiting and len(running) < self.jobs:
                i, (key, item) = waiting.pop(0)
                running[self.remote.remote(fn, self.threads, refs[key], item)] = i
            done, _ = self.ray.wait(list(running), num_returns=1)
            i = running.pop(done[0])
            yield i, self.ray.get(done[0])

    def close(self) -> None:
        if self.started:
            self.ray.shutdown()


#: Executors by name (``--executor``); each is built with ``jobs``, ``threads``, ``address``, ``device``.
EXECUTORS: Registry[type] = Registry("executor")
EXECUTORS.add("serial", SerialExecutor, doc="one job after another in this process")
EXECUTORS.add("process", ProcessExecutor, doc="--jobs worker processes on this machine")
EXECUTORS.add("ray", RayExecutor, doc="a Ray cluster (--address; default: a local Ray instance)")


def executor_name(executor: str | None, jobs: int) -> str:
    """The executor a run uses: the one named, else serial for one job at a time and process for more."""
    return EXECUTORS.canonical(executor) if executor else ("serial" if jobs == 1 else "process")
