"""Workflow faults: Snakemake killed under its jobs, a restored image damaged after its run."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from dipbench.tasks import make_task

BIN = Path(sys.executable).parent

SLEEPY = '''
import os
import time

from dipbench.methods import Method, Restoration, register


@register
class Sleepy(Method):
    """Writes its pid, then works for a minute."""

    name = "sleepy"
    tasks = ("denoise",)
    seeded = False

    def restore(self, obs, ctx):
        with open(os.environ["SLEEPY_PID"], "w") as handle:
            handle.write(str(os.getpid()))
        for _ in range(600):
            time.sleep(0.1)
        return Restoration(obs.y)
'''


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state == "Z"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_a_job_dies_with_the_workflow_that_started_it(tmp_path, smooth_rgb):
    """A stand-in for Snakemake marks itself and starts `bash -c "dipbench job restore ... | cat"` as the
    rules do; SIGKILL of it stops the job within seconds, and the job leaves no record or image."""
    obs = make_task("denoise").degrade(smooth_rgb[:40, :40], np.random.default_rng(0))
    obs.save(tmp_path / "obs.npz")
    (tmp_path / "sleepy.py").write_text(SLEEPY)
    job = (f"{BIN / 'dipbench'} job restore --plugin {tmp_path / 'sleepy.py'} --obs {tmp_path / 'obs.npz'} "
           f"--method sleepy --seed 0 --out-dir {tmp_path / 'run'} --quiet 2>&1 | cat > {tmp_path / 'job.log'}")
    parent = textwrap.dedent(f"""
        import subprocess, sys, time
        from dipbench.pipeline.lifeline import mark_workflow
        mark_workflow()
        subprocess.Popen(["bash", "-c", sys.argv[1]])
        time.sleep(300)
    """)
    env = {**os.environ, "SLEEPY_PID": str(tmp_path / "job.pid")}
    env.pop("DIPBENCH_WORKFLOW_PROCESS", None)
    workflow = subprocess.Popen([sys.executable, "-c", parent, job], env=env)
    try:
        deadline = time.monotonic() + 120
        while not (tmp_path / "job.pid").is_file() or not (tmp_path / "job.pid").read_text():
            assert time.monotonic() < deadline, "the job did not start"
            assert workflow.poll() is None
            time.sleep(0.1)
        pid = int((tmp_path / "job.pid").read_text())
        time.sleep(1.0)
        assert not _gone(pid), "the job ended on its own"
        workflow.send_signal(signal.SIGKILL)
        workflow.wait(10)
        deadline = time.monotonic() + 15
        while not _gone(pid):
            assert time.monotonic() < deadline, "the job outlived the workflow"
            time.sleep(0.1)
    finally:
        workflow.kill()
        if (tmp_path / "job.pid").is_file() and (tmp_path / "job.pid").read_text():
            pid = int((tmp_path / "job.pid").read_text())
            if not _gone(pid):
                os.kill(pid, signal.SIGKILL)
    assert "has ended: stopping the job" in (tmp_path / "job.log").read_text()
    assert not (tmp_path / "run" / "run.json").exists() and not (tmp_path / "run" / "restored.png").exists()


def test_a_job_without_a_workflow_is_not_watched(monkeypatch):
    from dipbench.pipeline.lifeline import ENV, mark_workflow, watch_workflow

    monkeypatch.delenv(ENV, raising=False)
    assert watch_workflow() is None
    monkeypatch.setenv(ENV, "some-other-host:1:1")
    assert watch_workflow() is None
    mark_workflow()  # this very process: nothing to watch
    assert watch_workflow() is None
