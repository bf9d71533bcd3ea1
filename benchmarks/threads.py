"""How many intra-op threads torch gets: the one place that decides and sets it.

torch starts one intra-op thread per core of the machine. Beside other CPU-bound processes those
threads oversubscribe the cores, and torch's parallel regions wait at each barrier for the thread
that is descheduled: on 2 cores beside 4 busy processes the demo ran 10x slower than idle, against
3.4x with one thread (its fair share). So the default is the CPUs this process may use
(:func:`mmimdb2.cpus.usable_cpus`) that are idle right now, at least one; ``OMP_NUM_THREADS``
and ``--threads`` override it. The setting is process-wide (torch has no other kind):
:func:`torch_threads` sets it for a block and restores the caller's value after. The idle CPUs are
read once, at the start (a load that comes later is not followed), over a tenth of a second of
``/proc/stat`` rather than the load average, which lags by a minute and counts a run that just
ended. Inter-op threads are left alone: nothing here forks torch work (``torch.jit.fork``).

Since the count follows the machine's load, no number may depend on it: :func:`thread_independent`
(entered by the trainer around every step and prediction) routes the few CPU kernels whose
rounding depends on the thread count to ones that do not (see its docstring), so a job gives the
same bits at 1 thread or 16, in this process or in a worker.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import os
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from mmimdb2.cpus import usable_cpus

#: How long :func:`idle_cpus` watches the CPUs: ten scheduler ticks at 100 Hz, short beside a run.
SAMPLE_S = 0.1


def _cpu_times(stat: Path, cpus: set[int]) -> tuple[float, float] | None:
    """(idle, total) jiffies summed over ``cpus`` from ``/proc/stat``; None when unreadable."""
    try:
        lines = stat.read_text().splitlines()
    except OSError:
        return None
    idle = total = 0.0
    seen = 0
    for line in lines:
        name, *fields = line.split()
        if not (name.startswith("cpu") and name[3:].isdigit() and int(name[3:]) in cpus):
            continue
        values = [float(v) for v in fields[:8]]  # user nice system idle iowait irq softirq steal
        idle += values[3] + values[4]
        total += sum(values)
        seen += 1
    return (idle, total) if seen else None


def idle_cpus(*, window: float = SAMPLE_S, stat: Path = Path("/proc/stat")) -> float | None:
    """How many of this process's CPUs sat idle over ``window`` seconds (from ``/proc/stat``);
    None where the kernel does not tell (not Linux)."""
    try:
        cpus = os.sched_getaffinity(0)
    except (AttributeError, OSError):
        return None
    before = _cpu_times(stat, cpus)
    if before is None:
        return None
    time.sleep(window)
    after = _cpu_times(stat, cpus)
    if after is None or after[1] <= before[1]:
        return None
    return len(cpus) * (after[0] - before[0]) / (after[1] - before[1])


def parse_threads(value: str | int, source: str) -> int:
    """A thread count of at least 1; anything else is one line naming where it came from."""
    try:
        n = int(value)
    except (TypeError, ValueError):
        n = 0
    if n < 1 or (isinstance(value, str) and not value.strip().isdigit()):
        raise ValueError(f"{source} must be a whole number of threads >= 1. Got {value!r} instead.")
    return n


def default_threads(*, env: Mapping[str, str] | None = None, idle: float | None = None, cpus: int | None = None) -> int:
    """``OMP_NUM_THREADS`` when set; else the usable CPUs that are idle now (at least 1), or all
    usable CPUs where idleness cannot be read. ``idle`` and ``cpus`` default to the measured values."""
    env = os.environ if env is None else env
    if env.get("OMP_NUM_THREADS", "").strip():
        return parse_threads(env["OMP_NUM_THREADS"], "OMP_NUM_THREADS")
    cpus = usable_cpus() if cpus is None else cpus
    idle = idle_cpus() if idle is None else idle
    if idle is None:
        return cpus
    return max(1, min(cpus, round(idle)))


def resolve_threads(requested: int | None) -> int:
    """``requested`` (``--threads``) when given, else :func:`default_threads`."""
    return default_threads() if requested is None else parse_threads(requested, "--threads")


def per_job(threads: int, jobs: int) -> int:
    """Each of ``jobs`` concurrent workers' share of ``threads``, at least 1."""
    return max(1, threads // max(1, jobs))


def set_threads(n: int) -> None:
    """Set torch's intra-op threads for this process (a worker's own count)."""
    import torch

    torch.set_num_threads(int(n))


@contextlib.contextmanager
def torch_threads(n: int | None) -> Iterator[int]:
    """torch's intra-op threads set to ``n`` inside the block and restored after; ``None`` leaves
    the caller's setting alone. Yields the count in force."""
    import torch

    before = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(int(n))
    try:
        yield torch.get_num_threads()
    finally:
        torch.set_num_threads(before)



#: torch's ``at::internal::GRAIN_SIZE``: a full reduction of fewer elements runs on one thread.
GRAIN_SIZE = 32768
#: The fixed slice length of :func:`_full_sum`, so its partial sums depend on the size alone.
SUM_SLICE = 4096
#: Losses whose ``mean`` / ``sum`` reduction is a full reduction of an elementwise loss.
_REDUCED_LOSSES = ("binary_cross_entropy_with_logits", "binary_cross_entropy", "mse_loss", "l1_loss",
                   "smooth_l1_loss", "huber_loss", "soft_margin_loss")  # fmt: skip


def _full_sum(x):
    """The sum of every element of ``x``, in an order fixed by its size alone: each run of
    ``SUM_SLICE`` elements (a reduction over a dimension, which torch splits between threads by
    output element, never inside one), then the partial sums, until fewer than ``GRAIN_SIZE``
    remain. torch's own full sum of a large tensor adds one partial sum per thread."""
    import torch

    flat = x.reshape(-1)
    while flat.numel() >= GRAIN_SIZE:
        whole = flat.numel() - flat.numel() % SUM_SLICE
        parts = flat[:whole].view(-1, SUM_SLICE).sum(1)
        flat = parts if whole == flat.numel() else torch.cat([parts, flat[whole:].sum().reshape(1)])
    return flat.sum()


def _mean(x, dims: list[int]):
    """``x.mean(dims, keepdim=True)``; a mean over every element goes through :func:`_full_sum`."""
    if all(x.shape[d] == 1 or d in dims for d in range(x.dim())) and x.numel() >= GRAIN_SIZE:
        return (_full_sum(x) / x.numel()).reshape([1] * x.dim())
    return x.mean(dims, keepdim=True)


def _normalize(x, dims: list[int], eps: float):
    """(x - mean) / sqrt(var + eps) over ``dims``, the biased variance, and the mean and variance."""
    import torch

    mean = _mean(x, dims)
    centred = x - mean
    var = _mean(centred.square(), dims)
    return centred * torch.rsqrt(var + eps), mean, var


def _batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    """``F.batch_norm`` from dimension reductions. torch's CPU kernel for an (N, C) or (N, C, 1)
    input sums rows into one buffer per thread, forward and backward."""
    import torch

    shape = [1, -1] + [1] * (input.dim() - 2)
    if training or running_mean is None:
        dims = [0, *range(2, input.dim())]
        out, mean, var = _normalize(input, dims, eps)
        if training and running_mean is not None:
            n = input.numel() // input.shape[1]
            with torch.no_grad():
                running_mean.mul_(1 - momentum).add_(mean.reshape(-1), alpha=momentum)
                running_var.mul_(1 - momentum).add_(var.reshape(-1) * (n / max(n - 1, 1)), alpha=momentum)
    else:
        out = (input - running_mean.reshape(shape)) * torch.rsqrt(running_var.reshape(shape) + eps)
    if weight is not None:
        out = out * weight.reshape(shape)
    return out if bias is None else out + bias.reshape(shape)


def _layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """``F.layer_norm`` from dimension reductions (torch's CPU backward sums the weight's gradient
    in one buffer per thread)."""
    k = len(tuple(normalized_shape)) if not isinstance(normalized_shape, int) else 1
    out, _, _ = _normalize(input, list(range(input.dim() - k, input.dim())), eps)
    if weight is not None:
        out = out * weight
    return out if bias is None else out + bias


def _group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """``F.group_norm`` from dimension reductions (torch's CPU kernels split rows by thread)."""
    grouped = input.reshape(input.shape[0], num_groups, -1)
    out = _normalize(grouped, [2], eps)[0].reshape(input.shape)
    shape = [1, -1] + [1] * (input.dim() - 2)
    if weight is not None:
        out = out * weight.reshape(shape)
    return out if bias is None else out + bias.reshape(shape)


def _full_reduction(mean: bool) -> Callable:
    """``x.sum()`` / ``x.mean()`` (no dim, no dtype) of a large floating tensor by :func:`_full_sum`."""

    def reduce(x, *args, **kwargs):
        if args or kwargs or not x.is_floating_point() or x.numel() < GRAIN_SIZE:
            return NotImplemented
        total = _full_sum(x)
        return total / x.numel() if mean else total

    return reduce


def _reduced_loss(func: Callable) -> Callable:
    """An elementwise loss with ``reduction="mean"`` or ``"sum"``: the unreduced loss, then :func:`_full_sum`."""
    signature = inspect.signature(func)

    def loss(*args, **kwargs):
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        given = bound.arguments
        if given.get("size_average") is not None or given.get("reduce") is not None or given["reduction"] not in ("mean", "sum"):
            return NotImplemented
        if given["input"].numel() < GRAIN_SIZE:
            return NotImplemented
        unreduced = func(**{**given, "reduction": "none"})
        total = _full_sum(unreduced)
        return total / unreduced.numel() if given["reduction"] == "mean" else total

    return loss


@functools.cache
def _thread_independent_mode() -> type:
    """The torch function mode of :func:`thread_independent` (built once, when torch is first needed)."""
    import torch
    import torch.nn.functional as F
    from torch.overrides import TorchFunctionMode

    routes: dict[Callable, Callable] = {F.batch_norm: _batch_norm, F.layer_norm: _layer_norm, F.group_norm: _group_norm}
    for func, mean in ((torch.sum, False), (torch.Tensor.sum, False), (torch.mean, True), (torch.Tensor.mean, True)):
        routes[func] = _full_reduction(mean)
    for name in _REDUCED_LOSSES:
        routes[getattr(F, name)] = _reduced_loss(getattr(F, name))

    class ThreadIndependent(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            route = routes.get(func)
            if route is not None and isinstance(args[0] if args else None, torch.Tensor) and args[0].device.type == "cpu":
                out = route(*args, **kwargs)
                if out is not NotImplemented:
                    return out
            return func(*args, **kwargs)

    return ThreadIndependent


@contextlib.contextmanager
def thread_independent(device: str | object = "cpu") -> Iterator[None]:
    """Inside the block, torch's CPU results do not depend on how many intra-op threads it has.

    Measured on torch 2.x (MKL sgemm, OpenMP): matrix products, elementwise ops, softmax and
    reductions over a dimension already give the same bits at any thread count. What does not:
    batch and layer (and group) norm, whose CPU kernels sum rows into one buffer per thread (the
    statistics and the backward pass); full sums and means of 32,768 elements or more (one
    partial sum per thread), including a loss's mean reduction; and accumulating index writes
    (the backward of ``x[index]``), which run in parallel with atomic adds. The first three are
    routed (a torch function mode) to the same formulas written with reductions over a
    dimension; the last runs serially under ``torch.use_deterministic_algorithms`` (warn-only),
    restored after. Tensors on a GPU are left alone, and ``device`` other than the CPU enters
    nothing. The results differ from torch's own kernels by rounding only.
    """
    import torch

    if torch.device(device).type != "cpu":
        yield
        return
    import torch.utils.deterministic as deterministic

    before = (torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled())
    fill = deterministic.fill_uninitialized_memory
    if not before[0]:
        torch.use_deterministic_algorithms(True, warn_only=True)
        deterministic.fill_uninitialized_memory = False  # nothing reads memory before writing it; NaN-filling costs a pass
    try:
        with _thread_independent_mode()():
            yield
    finally:
        torch.use_deterministic_algorithms(before[0], warn_only=before[1])
        deterministic.fill_uninitialized_memory = fill
