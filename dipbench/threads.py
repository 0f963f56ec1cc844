"""CPU threads for a fit: the workflow's rule for one job, applied to a command-line restore too.

The rule (README "Threads", measured by ``benchmarks/thread_split.py``): on a CPU, one thread per job,
because two OpenMP threads that share a core with other work spin-wait on each other (a 96 px DIP step
went from about 0.12 s to 5 s on a busy 2-core machine). A job takes more threads only when cores are
free. The workflow sets ``threads:`` per job (config ``threads: {default: 1}``); ``dipbench restore``
takes ``--threads N`` or, by default, :func:`default_threads`: the cores not already busy.
"""

from __future__ import annotations

import math
import os
import sys


def cores() -> int:
    """The CPU cores this process may run on (its affinity mask where the OS has one), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def free_cores(load: float | None = None, total: int | None = None) -> int:
    """Cores not busy with other work: ``total`` (default :func:`cores`) minus the 1-minute load average
    ``load`` (default ``os.getloadavg()[0]``: processes running or waiting to run) rounded to the nearest
    whole number, at least 1.
    Where the OS has no load average, every core counts as free."""
    total = cores() if total is None else total
    if load is None:
        try:
            load = os.getloadavg()[0]
        except (AttributeError, OSError):
            return total
    return max(1, min(total, total - math.floor(load + 0.5)))


def default_threads() -> int:
    """Threads for one fit started by hand: every core on an idle machine, one on a busy one, and in
    between the free cores (:func:`free_cores`)."""
    return free_cores()


def set_threads(threads: int) -> None:
    """Limit CPU threads: ``OMP_NUM_THREADS`` for libraries not yet imported, torch's setting if it is."""
    os.environ["OMP_NUM_THREADS"] = str(threads)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)


def oversubscription(threads: int, free: int | None = None) -> str | None:
    """A one-line warning when ``threads`` exceed the free cores (:func:`free_cores`), else None."""
    free = free_cores() if free is None else free
    if threads <= free:
        return None
    return (f"{threads} threads but only {free} of {cores()} cores are free (load average "
            f"{_load_text()}): the fit may run many times slower; --threads {free} follows the workflow's rule")


def _load_text() -> str:
    try:
        return f"{os.getloadavg()[0]:.1f}"
    except (AttributeError, OSError):
        return "unknown"
