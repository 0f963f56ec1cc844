"""A workflow job dies with the Snakemake that started it.

Snakemake runs each job as ``bash -c "dipbench job ... | tee log"``: when Snakemake itself is killed
(SIGKILL, a lost terminal, an out-of-memory kill), nothing tells bash or the job, which would run on for
hours. The planning Snakemake process calls :func:`mark_workflow` (``workflow/rules/common.smk``), which
names it in ``$DIPBENCH_WORKFLOW_PROCESS`` (``host:pid:start time``) for every job it starts; each
``dipbench job ...`` calls :func:`watch_workflow`, a daemon thread that checks every ``interval`` seconds
that this process still runs (the same pid with the same start time, so a reused pid does not count). Once
it is gone the job stops as on Ctrl-C (KeyboardInterrupt: temporary files are removed, no record is
written), and exits outright if it has not stopped ``grace`` seconds later (a long native call). The job's
``tee`` then sees the end of its input and bash exits. A job on another host (a cluster node) is not
watched from here: the Snakemake there (the executor re-runs it per job) marks itself.
"""

from __future__ import annotations

import _thread
import os
import socket
import sys
import threading
import time
from pathlib import Path

ENV = "DIPBENCH_WORKFLOW_PROCESS"


def _start_time(pid: int) -> str:
    """The process's start time in clock ticks since boot (Linux /proc), or "" where that is unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rsplit(")", 1)[1].split()[19]  # field 22, counted after the command name


def mark_workflow() -> None:
    """Name this process as the workflow that jobs started from here belong to."""
    os.environ[ENV] = f"{socket.gethostname()}:{os.getpid()}:{_start_time(os.getpid())}"


def _alive(pid: int, start: str) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        pass
    if not start:
        return True
    now = _start_time(pid)
    if not now:
        return False
    state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    return now == start and state != "Z"


def watch_workflow(interval: float = 0.5, grace: float = 10.0) -> threading.Thread | None:
    """Stop this process once the workflow named in ``$DIPBENCH_WORKFLOW_PROCESS`` has ended (module
    docstring). Returns the watching thread, or None where there is nothing to watch (no workflow, another
    host, or this process is the workflow)."""
    value = os.environ.get(ENV, "")
    try:
        host, pid_text, start = value.split(":")
        pid = int(pid_text)
    except ValueError:
        return None
    if host != socket.gethostname() or pid == os.getpid():
        return None

    def watch() -> None:
        while _alive(pid, start):
            time.sleep(interval)
        print(f"dipbench: the workflow that started this job (pid {pid}) has ended: stopping the job",
              file=sys.stderr, flush=True)
        _thread.interrupt_main()
        time.sleep(grace)
        os._exit(143)

    thread = threading.Thread(target=watch, name="dipbench-lifeline", daemon=True)
    thread.start()
    return thread
