"""Workflow faults: Snakemake killed under its jobs, a restored image damaged after its run."""

import os
import shlex
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


def _kill_workflow_and_expect_the_job_gone(workflow: subprocess.Popen, pid_file: Path, start_s: float,
                                           settle_s: float = 0.0) -> None:
    """Wait up to ``start_s`` for the job to write its pid, (``settle_s`` later, check it still runs), SIGKILL
    the workflow, and expect the job gone within 15 s; a job left over is killed either way."""
    pid = None
    try:
        deadline = time.monotonic() + start_s
        while not pid_file.is_file() or not pid_file.read_text():
            assert time.monotonic() < deadline and workflow.poll() is None, "the job did not start"
            time.sleep(0.1)
        pid = int(pid_file.read_text())
        time.sleep(settle_s)
        assert not _gone(pid), "the job ended on its own"
        workflow.send_signal(signal.SIGKILL)
        workflow.wait(10)
        deadline = time.monotonic() + 15
        while not _gone(pid):
            assert time.monotonic() < deadline, "the job outlived the workflow"
            time.sleep(0.1)
    finally:
        workflow.kill()
        if pid is not None and not _gone(pid):
            os.kill(pid, signal.SIGKILL)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_a_job_dies_with_the_workflow_that_started_it(tmp_path, smooth_rgb):
    """A stand-in for Snakemake marks itself and starts `bash -c "dipbench job restore ... | cat"` as the
    rules do; SIGKILL of it stops the job within seconds, and the job leaves no record or image."""
    obs = make_task("denoise").degrade(smooth_rgb[:40, :40], np.random.default_rng(0))
    obs.save(tmp_path / "obs.npz")
    (tmp_path / "sleepy.py").write_text(SLEEPY)
    command = [BIN / "dipbench", "job", "restore", "--plugin", tmp_path / "sleepy.py", "--obs", tmp_path / "obs.npz",
               "--method", "sleepy", "--seed", "0", "--out-dir", tmp_path / "run", "--quiet"]
    job = f"{shlex.join(map(str, command))} 2>&1 | cat > {shlex.quote(str(tmp_path / 'job.log'))}"  # as the rules run it
    parent = textwrap.dedent("""
        import subprocess, sys, time
        from dipbench.pipeline.lifeline import mark_workflow
        mark_workflow()
        subprocess.Popen(["bash", "-c", sys.argv[1]])
        time.sleep(300)
    """)
    env = {**os.environ, "SLEEPY_PID": str(tmp_path / "job.pid")}
    env.pop("DIPBENCH_WORKFLOW_PROCESS", None)
    workflow = subprocess.Popen([sys.executable, "-c", parent, job], env=env)
    _kill_workflow_and_expect_the_job_gone(workflow, tmp_path / "job.pid", start_s=120, settle_s=1.0)
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


# ------------------------------------------------------------------------- a damaged restored image
def test_a_record_names_its_image_and_a_damaged_image_is_refused(tmp_path, smooth_rgb):
    import json

    from dipbench.errors import ImageError
    from dipbench.pipeline.integrity import set_aside_stale_records
    from dipbench.pipeline.jobs import ensemble, evaluate, restore_seeds

    obs = make_task("denoise").degrade(smooth_rgb[:40, :40], np.random.default_rng(0))
    obs.dataset, obs.image = "mine", "pic"
    obs.save(tmp_path / "obs.npz")
    (record,) = restore_seeds(tmp_path / "obs.npz", "input", {}, [0], [tmp_path / "runs/a"])
    run = tmp_path / "runs/a"
    from dipbench.datasets.download import sha256_of

    assert json.loads((run / "run.json").read_text())["restored_sha256"] == sha256_of(run / "restored.png")
    assert set_aside_stale_records(tmp_path, ["runs/a"]) == []
    evaluate(tmp_path / "obs.npz", run / "restored.png", run / "run.json", "dip_paper", tmp_path / "m.json")
    data = (run / "restored.png").read_bytes()
    (run / "restored.png").write_bytes(data[: len(data) // 2])  # truncated
    with pytest.raises(ImageError, match="is not the one its record .* describes"):
        evaluate(tmp_path / "obs.npz", run / "restored.png", run / "run.json", "dip_paper", tmp_path / "m.json")
    with pytest.raises(ImageError, match="run snakemake again"):
        ensemble([run / "restored.png"], [run / "run.json"], tmp_path / "runs/avg")
    assert set_aside_stale_records(tmp_path, ["runs/a", "runs/missing"]) == [run / "run.json"]
    assert not (run / "run.json").exists() and (run / "run.json.stale").is_file()  # kept, not deleted


@pytest.mark.slow
@pytest.mark.skipif(not (Path(__file__).resolve().parents[1] / "Snakefile").is_file(), reason="no workflow here")
def test_snakemake_redoes_a_run_whose_restored_image_was_truncated(tmp_path):
    import json
    import shutil

    import yaml

    repo = Path(__file__).resolve().parents[1]
    snakemake = shutil.which("snakemake", path=str(BIN)) or shutil.which("snakemake")
    assert snakemake, "snakemake is not installed"
    config = {"results": "out", "smoke": True, "protocols": ["dip_paper"],
              "experiments": {"dn": {"task": {"name": "denoise"}, "datasets": ["builtin"], "image_size": 32,
                                     "images": {"builtin": ["coffee"]}, "methods": ["input"]}}}
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(config))
    target = "out/metrics/dip_paper/dn/input/builtin/coffee/seed0.json"
    command = [snakemake, "-s", str(repo / "Snakefile"), "--directory", str(tmp_path), "--configfile",
               str(tmp_path / "tiny.yaml"), "--cores", "1", target]
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "DIPBENCH_OFFLINE": "1"}
    first = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr[-3000:]
    image = tmp_path / "out/runs/dn/input/builtin/coffee/seed0/restored.png"
    good = image.read_bytes()
    image.write_bytes(good[:100])
    (tmp_path / target).unlink()  # the score is wanted again: it would read the damaged image
    second = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "set aside as run.json.stale, the run is redone" in second.stderr
    assert image.read_bytes() == good  # the run was redone: the same deterministic image
    assert json.loads((tmp_path / target).read_text())["psnr"] > 0


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_sigkill_of_snakemake_stops_its_running_job(tmp_path):
    """The real thing: Snakemake runs a job of a plugin method that works for a minute; SIGKILL of
    Snakemake ends the job too."""
    import shutil

    import yaml

    repo = Path(__file__).resolve().parents[1]
    snakemake = shutil.which("snakemake", path=str(BIN)) or shutil.which("snakemake")
    assert snakemake, "snakemake is not installed"
    (tmp_path / "sleepy.py").write_text(SLEEPY)
    config = {"results": "out", "smoke": True, "plugins": ["sleepy.py"], "protocols": ["dip_paper"],
              "experiments": {"dn": {"task": {"name": "denoise"}, "datasets": ["builtin"], "image_size": 32,
                                     "images": {"builtin": ["coffee"]}, "methods": ["sleepy"]}}}
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(config))
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "DIPBENCH_OFFLINE": "1",
           "SLEEPY_PID": str(tmp_path / "job.pid")}
    env.pop("DIPBENCH_WORKFLOW_PROCESS", None)
    workflow = subprocess.Popen([snakemake, "-s", str(repo / "Snakefile"), "--directory", str(tmp_path),
                                 "--configfile", str(tmp_path / "tiny.yaml"), "--cores", "1"],
                                cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _kill_workflow_and_expect_the_job_gone(workflow, tmp_path / "job.pid", start_s=240)
    assert not (tmp_path / "out/runs/dn/sleepy/builtin/coffee/seed0/run.json").exists()
