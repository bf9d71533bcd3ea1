"""Where a run's (cell, seed) jobs execute: in this process, in local worker processes, or on Ray.

Each executor maps one picklable function over tasks ``(shared key, item)`` and yields
``(task index, result)`` as tasks finish, so the caller writes each finished cell at once and an
interrupted grid keeps what it finished. ``shared`` holds the large inputs several tasks read
(the prepared features and KG inputs): the function gets ``fn(shared[key], item)``. Ray stores
each shared object once in its object store; a local worker process receives each once. Every
worker sets its own torch threads (``threads // jobs``, at least 1) before its first task; the
serial executor leaves this process's setting as the caller made it (no number depends on it:
:func:`benchmarks.threads.thread_independent`). A seed-independent estimator is fitted once per
run in the serial executor, once per job in the others (same result).

What can go wrong ends the same way in every executor:

- a job that raises (a model's ``assert``, ``sys.exit(3)``, a ``KeyError`` in ``forward``) is a
  :class:`JobError`: one line naming the job's model and seed and what to do, the worker's
  traceback kept in ``detail`` (``--debug`` prints it);
- a worker that dies (killed, out of memory, a Ray ``WorkerCrashedError``) is a :class:`JobError`
  saying so, and that a rerun resumes;
- SIGINT and SIGTERM (:class:`Terminated`) while results are handed out are raised only after
  every result already finished has been yielded, so the caller writes it: a job that finished is
  never lost to a sibling's error or to an interrupt.

Worker processes end with this process however it ends: on Linux the kernel kills them when it
dies (``PR_SET_PDEATHSIG``), elsewhere they notice within half a second; a local Ray instance
started here is ended by a small watchdog process when this one dies without closing it.
"""

from __future__ import annotations

import atexit
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from benchmarks.threads import per_job, set_threads
from mmimdb2.registry import Registry

Task = tuple[Hashable, Any]

#: How every line about a stopped grid ends.
RESUME = "finished jobs are kept: rerun the same command to resume"
#: How long a Ray address may take to accept a connection before the run is refused.
ADDRESS_TIMEOUT_S = 3.0
#: How often a worker without PR_SET_PDEATHSIG, and the pool waiting on workers, look up.
POLL_S = 0.25


class JobError(ValueError):
    """A job that failed, as one line naming its model and seed and what to do; ``detail`` holds
    the traceback where it ran (``--debug`` prints it)."""

    def __init__(self, line: str, detail: str = "") -> None:
        super().__init__(line)
        self.detail = detail


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where Ctrl-C's KeyboardInterrupt would be, so it takes the same way out
    (finished cells kept, workers ended) and the command says so in one line."""


def raise_terminated(signum: int, frame: Any) -> None:
    """A SIGTERM handler: :class:`Terminated` in the main thread."""
    raise Terminated()


def describe(exc: BaseException) -> str:
    """``Type: message`` of an exception on one line; an empty message names where it was raised
    (``AssertionError at mymodels.py:12``); ``sys.exit(3)`` says so."""
    if isinstance(exc, SystemExit):
        return f"called sys.exit({exc.code!r}) (a model must raise an exception, not exit)"
    message = str(exc.args[0]) if isinstance(exc, KeyError) and len(exc.args) == 1 else str(exc)
    message = " ".join(message.split())
    if message:
        return f"{type(exc).__name__}: {message}"
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" at {os.path.basename(frames[-1].filename)}:{frames[-1].lineno}" if frames else ""
    return f"{type(exc).__name__}{where}"


@dataclass(frozen=True)
class Where:
    """Which job failed: its model, and its seed (and cross-validation fold) when known."""

    model: str | None
    seed: int | None = None
    fold: int | None = None

    def context(self) -> str:
        return ", ".join(f"{k} {v}" for k, v in (("seed", self.seed), ("fold", self.fold)) if v is not None)

    def __str__(self) -> str:
        if self.model is None:
            return "a job"
        return f"model {self.model!r}" + (f" ({self.context()})" if self.context() else "")


def job_label(item: Any) -> Where:
    """The model and seed of a :class:`benchmarks.harness.Job` (its ``cs.model`` and ``seed``)."""
    return Where(getattr(getattr(item, "cs", None), "model", None), getattr(item, "seed", None))


def job_failed(where: Where, what: str, detail: str = "", *, then: str = RESUME) -> JobError:
    """A job's failure as one line that names the model and says what to do; ``what`` is
    :func:`describe` of what it raised (a message that names the model already is not prefixed)."""
    kind, _, message = what.partition(": ")
    if where.model is not None and repr(where.model) in message:
        head = f"{message} ({where.context()})" if where.context() else message
    elif what.startswith("called sys.exit"):
        head = f"{where} {what}"
    else:
        head = f"{where} failed: {what}"
    return JobError(f"{head}. Fix the model or its settings (--debug shows the traceback); {then}", detail)


def worker_died(where: Where, how: str, detail: str = "") -> JobError:
    return JobError(f"the worker running {where} died ({how}); {RESUME}", detail)


class _Signals:
    """SIGINT and SIGTERM while an executor runs jobs: noted, and raised (KeyboardInterrupt,
    :class:`Terminated`) where no finished result can be lost; at once while ``immediate`` (a
    job running in this process, whose result is not finished). Handlers are restored on exit;
    outside the main thread nothing is installed (signals go to the main thread only)."""

    def __init__(self) -> None:
        self.pending: type[BaseException] | None = None
        self.immediate = False
        self.previous: dict[int, Any] = {}

    def __enter__(self) -> _Signals:
        if threading.current_thread() is threading.main_thread():
            for sig, exc in ((signal.SIGINT, KeyboardInterrupt), (signal.SIGTERM, Terminated)):
                self.previous[sig] = signal.signal(sig, self._handler(exc))
        return self

    def _handler(self, exc: type[BaseException]) -> Callable:
        def note(signum: int, frame: Any) -> None:
            if self.immediate:
                raise exc()
            self.pending = self.pending or exc

        return note

    def __exit__(self, *exc_info: Any) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)

    def check(self) -> None:
        if self.pending is not None:
            raise self.pending()


class SerialExecutor:
    """One task after another in this process (the default; what every other executor must match)."""

    def __init__(self, *, jobs: int = 1, threads: int = 1, address: str | None = None, device: str = "cpu") -> None:
        """Takes every executor's keywords; runs with this process's threads and device."""

    def map(self, fn: Callable, tasks: Sequence[Task], shared: Mapping[Hashable, Any]) -> Iterator[tuple[int, Any]]:
        with _Signals() as signals:
            for i, (key, item) in enumerate(tasks):
                signals.immediate = True  # Ctrl-C stops the job that runs
                try:
                    result = fn(shared[key], item)
                except (Exception, SystemExit) as e:
                    raise job_failed(job_label(item), describe(e), traceback.format_exc()) from e
                finally:
                    signals.immediate = False
                yield i, result  # a signal while the caller writes it waits until it is written
                signals.check()

    def close(self) -> None:
        pass


def _end_with_parent(parent: int) -> None:
    """Make this worker die with ``parent`` however that ends (kill -9 included): the kernel's
    parent-death signal on Linux, and a thread that watches the parent id everywhere (it also
    covers a parent that died before the signal was asked for)."""
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(POLL_S)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _serve(conn: Any, threads: int, parent: int) -> None:
    """A worker process: take ``("shared", key, value)`` and ``("task", i, fn, key, item)`` messages
    until ``None`` or the pipe closes; answer each task with ``(i, None, result, "")`` or, for
    anything it raised (``sys.exit`` included), ``(i, description, None, traceback)``."""
    _end_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole process group: the parent decides
    set_threads(threads)
    shared: dict[Hashable, Any] = {}
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        if message[0] == "shared":
            shared[message[1]] = message[2]
            continue
        _, i, fn, key, item = message
        try:
            reply = (i, None, fn(shared[key], item), "")
        except BaseException as e:  # noqa: BLE001 - a job's sys.exit() is reported, not obeyed
            reply = (i, describe(e), None, traceback.format_exc())
        try:
            conn.send(reply)
        except Exception as e:  # a result that cannot be pickled: nothing was written yet
            conn.send((i, f"its result could not be sent back ({describe(e)})", None, traceback.format_exc()))


@dataclass(eq=False)
class _Worker:
    process: Any
    conn: Any
    shared: set = field(default_factory=set)
    #: (task index, item) of the job it runs, or None when idle.
    job: tuple[int, Any] | None = None


def _exit_status(process: Any) -> str:
    code = process.exitcode
    if code is not None and code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


class ProcessExecutor:
    """``jobs`` worker processes on this machine (spawned: a forked torch can hang in its thread
    pool), each with ``threads // jobs`` torch threads, talking over one pipe each (no queues, so
    no semaphores for a resource tracker to find leaked when a worker is killed)."""

    def __init__(self, *, jobs: int = 2, threads: int = 2, address: str | None = None, device: str = "cpu") -> None:
        import multiprocessing
        import multiprocessing.util  # registers its exit hook (join every child) before ours, so ours runs first

        context = multiprocessing.get_context("spawn")
        self.workers: list[_Worker] = []
        atexit.register(self.close)  # a caller that never closes: workers ended, not joined forever at exit
        try:
            for _ in range(jobs):
                conn, child = context.Pipe()
                process = context.Process(target=_serve, args=(child, per_job(threads, jobs), os.getpid()), name="benchmarks-job")
                process.start()
                child.close()
                self.workers.append(_Worker(process, conn))
        except BaseException:
            self.close()
            raise

    def _send(self, worker: _Worker, fn: Callable, i: int, key: Hashable, item: Any, value: Any) -> None:
        if key not in worker.shared:
            worker.conn.send(("shared", key, value))
            worker.shared.add(key)
        worker.conn.send(("task", i, fn, key, item))
        worker.job = (i, item)

    def _finished(self, timeout: float) -> list[tuple[_Worker, int, Any, JobError | None]]:
        """The jobs that ended within ``timeout`` seconds: (worker, task index, result, error)."""
        from multiprocessing.connection import wait

        busy = [w for w in self.workers if w.job is not None]
        if not busy:
            return []
        ready = set(wait([w.conn for w in busy] + [w.process.sentinel for w in busy], timeout=timeout))
        out = []
        for w in busy:
            if w.conn not in ready and w.process.sentinel not in ready:
                continue
            (i, item), w.job = w.job, None
            try:
                if w.conn.poll():
                    _, what, result, detail = w.conn.recv()
                    out.append((w, i, result, None if what is None else job_failed(job_label(item), what, detail)))
                    continue
            except (EOFError, OSError):
                pass
            w.process.join(POLL_S)
            out.append((w, i, None, worker_died(job_label(item), _exit_status(w.process))))
        return out

    def map(self, fn: Callable, tasks: Sequence[Task], shared: Mapping[Hashable, Any]) -> Iterator[tuple[int, Any]]:
        todo = list(enumerate(tasks))
        todo.reverse()
        error: JobError | None = None
        with _Signals() as signals:
            while True:
                for w in self.workers:
                    if todo and error is None and signals.pending is None and w.job is None and w.process.is_alive():
                        i, (key, item) = todo.pop()
                        try:
                            self._send(w, fn, i, key, item, shared[key])
                        except (OSError, EOFError):  # the worker died while idle
                            w.job = None
                            error = worker_died(job_label(item), _exit_status(w.process))
                busy = any(w.job is not None for w in self.workers)
                if not busy and todo and error is None and signals.pending is None:
                    error = worker_died(job_label(todo[-1][1][1]), "no worker process is left")
                stopping = error is not None or signals.pending is not None  # then: every finished one, without waiting
                for _, i, result, failed in self._finished(0 if stopping else POLL_S):
                    if failed is None:
                        yield i, result  # written by the caller before anything below is raised
                    error = error or failed
                if stopping:
                    if error is not None:
                        raise error
                    signals.check()
                if not todo and not any(w.job is not None for w in self.workers):
                    if error is None and signals.pending is None:
                        return

    def close(self) -> None:
        """End every worker: an idle one is told to stop, a busy one (its job abandoned) is killed."""
        atexit.unregister(self.close)
        for w in self.workers:
            try:
                if w.job is None and w.process.is_alive():
                    w.conn.send(None)
                else:
                    w.process.kill()
            except (OSError, ValueError):
                w.process.kill()
        for w in self.workers:
            w.process.join(5)
            if w.process.is_alive():
                w.process.kill()
                w.process.join(5)
            w.conn.close()
        self.workers = []


class _TaskFailed(RuntimeError):
    """What a job raised in a Ray worker, described there: (description, traceback); picklable."""


def _on_ray(fn: Callable, threads: int, value: Any, item: Any) -> Any:
    """One task inside a Ray worker: its own thread count first (a worker may serve other runs)."""
    set_threads(threads)
    try:
        return fn(value, item)
    except BaseException as e:  # noqa: BLE001 - a job's sys.exit() is reported, not obeyed
        raise _TaskFailed(describe(e), traceback.format_exc()) from None


def check_address(address: str | None, *, timeout: float = ADDRESS_TIMEOUT_S) -> None:
    """Refuse in one line, within ``timeout`` seconds and before any data is read, a Ray address
    (``HOST:PORT`` or ``ray://HOST:PORT``) where nothing accepts a connection; ``None``,
    ``local`` and ``auto`` are not probed."""
    if address in (None, "local", "auto"):
        return
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(address if "://" in address else f"ray://{address}")
        host, port = parts.hostname, parts.port
    except ValueError:
        host = port = None
    if not host or port is None:
        raise ValueError(f"--address {address!r} must be HOST:PORT or ray://HOST:PORT (or local)")
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as e:
        why = "no answer" if isinstance(e, TimeoutError) else (e.strerror or str(e))
        raise ValueError(
            f"--address {address}: nothing answers at {host}:{port} ({why} within {timeout:g} s); "
            "start the cluster there (ray start --head) or leave --address out for a local Ray instance"
        ) from None


def _watch_ray() -> None:
    """The watchdog process of a local Ray instance: it reads ``pid start-time`` lines of the
    processes Ray started; ``done`` (Ray was shut down) ends it, and the end of its input without
    it (the run died, kill -9 included) kills each of them that is still the same process."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        import psutil
    except ImportError:  # Ray ships it; without it a pid is killed unchecked, right after the run died
        psutil = None
    started: list[tuple[int, float]] = []
    for line in sys.stdin:
        if line.strip() == "done":
            return
        pid, created = line.split()
        started.append((int(pid), float(created)))
    for pid, created in started:
        try:
            if psutil is None or abs(psutil.Process(pid).create_time() - created) < 0.01:
                os.kill(pid, signal.SIGKILL)
        except Exception:  # noqa: BLE001 - gone already
            continue


class _RayWatchdog:
    """A process that outlives this one to end the local Ray instance it started: Ray ends its
    head processes with the driver, but not the agents its raylet starts (``ray::DashboardAgent``,
    ``ray::RuntimeEnvAgent``), which kill -9 of the driver left running under PID 1."""

    def __init__(self) -> None:
        code = f"import sys; sys.path[:0] = {sys.path!r}; from benchmarks.executors import _watch_ray; _watch_ray()"
        self.process = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, start_new_session=True, text=True)  # fmt: skip
        self.seen: set[int] = set()

    def record(self) -> None:
        """Tell it of every process under this one it has not been told of yet (psutil: Ray's)."""
        import psutil

        lines = []
        for child in psutil.Process().children(recursive=True):
            try:
                if child.pid not in self.seen and child.pid != self.process.pid:
                    lines.append(f"{child.pid} {child.create_time()}\n")
                    self.seen.add(child.pid)
            except psutil.Error:
                continue
        try:
            self.process.stdin.write("".join(lines))
            self.process.stdin.flush()
        except OSError:
            pass

    def done(self) -> None:
        """Ray was shut down here: the watchdog ends without killing anything."""
        try:
            self.process.stdin.write("done\n")
            self.process.stdin.close()
        except OSError:
            pass
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()


class RayExecutor:
    """Tasks on a Ray cluster (``address``; None or ``"local"``: a Ray instance on this machine),
    at most ``jobs`` at once, each asking for ``threads // jobs`` CPUs and, when the cluster has
    GPUs and the device is not ``cpu``, ``1 / jobs`` of a GPU. An address is probed first
    (:func:`check_address`); a local instance is ended with this process, however it ends."""

    def __init__(self, *, jobs: int = 1, threads: int = 1, address: str | None = None, device: str = "cpu") -> None:
        try:
            import ray
        except ImportError:
            raise ImportError("--executor ray needs Ray: pip install 'mmimdb2[ray]'") from None
        self.ray = ray
        self.started = not ray.is_initialized()
        self.watchdog: _RayWatchdog | None = None
        if self.started:
            local = address in (None, "local")
            check_address(None if local else address)
            if local:
                self.watchdog = _RayWatchdog()
            try:
                ray.init(address=None if local else address, include_dashboard=False, log_to_driver=False,
                         **({"num_cpus": max(threads, jobs)} if local else {}))  # fmt: skip
            finally:
                if self.watchdog is not None:
                    self.watchdog.record()
        self.jobs, self.threads = jobs, per_job(threads, jobs)
        gpus = ray.cluster_resources().get("GPU", 0) if device != "cpu" else 0
        self.remote = ray.remote(_on_ray).options(num_cpus=self.threads, num_gpus=(1 / jobs if gpus else 0), max_retries=0)

    def _outcome(self, ref: Any, item: Any) -> tuple[Any, JobError | None]:
        """(result, None), or (None, the job's failure as one line)."""
        exceptions = self.ray.exceptions
        try:
            return self.ray.get(ref), None
        except exceptions.RayTaskError as e:
            cause = getattr(e, "cause", None)
            if isinstance(cause, _TaskFailed):
                return None, job_failed(job_label(item), *cause.args)
            return None, job_failed(job_label(item), describe(cause) if cause is not None else type(e).__name__, str(e))
        except exceptions.RayError as e:  # WorkerCrashedError, OutOfMemoryError, a node lost, ...
            return None, worker_died(job_label(item), f"Ray: {type(e).__name__}", str(e))

    def map(self, fn: Callable, tasks: Sequence[Task], shared: Mapping[Hashable, Any]) -> Iterator[tuple[int, Any]]:
        refs = {key: self.ray.put(shared[key]) for key in {k for k, _ in tasks}}  # each shared input stored once
        waiting, running = list(enumerate(tasks)), {}
        error: JobError | None = None
        with _Signals() as signals:
            while waiting or running:
                while waiting and len(running) < self.jobs and error is None and signals.pending is None:
                    i, (key, item) = waiting.pop(0)
                    running[self.remote.remote(fn, self.threads, refs[key], item)] = (i, item)
                if self.watchdog is not None:
                    self.watchdog.record()  # the workers Ray started for these tasks
                if not running:
                    break
                stopping = error is not None or signals.pending is not None  # then: every finished one, without waiting
                done, _ = self.ray.wait(list(running), num_returns=len(running) if stopping else 1, timeout=0 if stopping else POLL_S)
                for ref in done:
                    i, item = running.pop(ref)
                    result, failed = self._outcome(ref, item)
                    if failed is None:
                        yield i, result  # written by the caller before anything below is raised
                    error = error or failed
                if stopping:
                    for ref in running:
                        self.ray.cancel(ref, force=True)
                    running.clear()
            if error is not None:
                raise error
            signals.check()

    def close(self) -> None:
        if self.started:
            self.ray.shutdown()
        if self.watchdog is not None:
            self.watchdog.done()


#: Executors by name (``--executor``); each is built with ``jobs``, ``threads``, ``address``, ``device``.
EXECUTORS: Registry[type] = Registry("executor")
EXECUTORS.add("serial", SerialExecutor, doc="one job after another in this process")
EXECUTORS.add("process", ProcessExecutor, doc="--jobs worker processes on this machine")
EXECUTORS.add("ray", RayExecutor, doc="a Ray cluster (--address; default: a local Ray instance)")


def executor_name(executor: str | None, jobs: int) -> str:
    """The executor a run uses: the one named, else serial for one job at a time and process for more."""
    return EXECUTORS.canonical(executor) if executor else ("serial" if jobs == 1 else "process")
