"""Independent report work (one figure family set per experiment and dataset) in several processes.

Drawing and saving figures is matplotlib's single-threaded Python, and the report step runs at the end of
a workflow, when every core is free: ``workers`` forked processes draw ``workers`` (experiment, dataset)
pairs at a time. Forked, not spawned, so that a worker sees the plugins' methods, tasks and metrics that
the parent registered; where the OS cannot fork (Windows), or with one worker, the work runs in this
process. Each call returns the same values in the same order whatever ``workers`` is.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Callable, Sequence, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


def can_fork() -> bool:
    """Whether this OS starts worker processes by forking (Linux, macOS)."""
    return "fork" in multiprocessing.get_all_start_methods()


def ordered_map(work: Callable[[Item], Result], items: Sequence[Item], workers: int = 1,
                done: Callable[[], None] | None = None) -> list[Result]:
    """``[work(item) for item in items]``, on up to ``workers`` forked processes; ``done()`` after each item
    finishes (in the order they finish, for a progress bar). ``work`` and its results must pickle; an
    exception in a worker is raised here."""
    workers = max(1, min(int(workers), len(items)))
    if workers == 1 or not can_fork():
        results = []
        for item in items:
            results.append(work(item))
            if done:
                done()
        return results
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = {pool.submit(work, item): i for i, item in enumerate(items)}
        results: list[Result | None] = [None] * len(items)
        for future in as_completed(futures):
            results[futures[future]] = future.result()
            if done:
                done()
    return results  # type: ignore[return-value]
