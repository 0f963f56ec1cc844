"""profiles/slurm, proven: `snakemake --profile profiles/slurm` against a one-node SLURM on 127.0.0.1.

tests/cluster/minislurm.py starts munged, MariaDB + slurmdbd (when installed), slurmctld and slurmd as root with
every file in a temporary folder, two partitions (tcpu, and tgpu with one fake GPU) and no default partition.
A tiny config then runs twice, at the same time: locally (`snakemake --cores 2`) and through the profile,
where the SLURM run is interrupted (SIGINT, as Ctrl-C) once a few runs are done and started again. The checks:
every job went through the scheduler with what the profile asks for (partition, CPUs, memory, time, a GPU for
DIP), the metrics equal the local run's, and the second start redid nothing the first had finished.

The partition names come from a partition file passed with SNAKEMAKE_SLURM_PARTITIONS, as a user would (the
profile itself is not edited). The only non-user argument is --slurm-init-seconds-before-status-checks 5 (the
plugin's default of 40 s would add minutes of polling to a test of a dozen tiny jobs).

3 to 6 minutes on 2 cores; the live tests are marked `cluster` and `slow`. Needs root, SLURM (Debian: slurmctld slurmd slurm-client munge;
mariadb-server slurmdbd for sacct) and the executor plugin (pip install -e '.[cluster]'); skips without them.
.ci/run installs them and sets DIPBENCH_REQUIRE_SLURM=1, which turns those skips into failures.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent / "cluster"))
from minislurm import ClusterError, MiniSlurm  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
PROFILE = REPO / "profiles" / "slurm"
BIN = Path(sys.executable).parent
SNAKEMAKE = shutil.which("snakemake", path=str(BIN)) or shutil.which("snakemake")
CPU, GPU = "tcpu", "tgpu"  # the test cluster's partition names: deliberately not the profile's cpu/gpu

THREADS = {"default": 1, "dip": 2}
# About a dozen jobs, the fewest that cover every path: CPU methods (input, tv: one run per observation, as
# they ignore the seed), DIP fused over two seeds (restore_fused_denoise_s25), DIP as a plain restore job
# (sr_x4 has one seed), evaluate, report.
TINY = {
    "results": "out",
    "smoke": True,
    "fuse_seeds": True,
    "protocols": ["dip_paper", "basicsr"],
    "threads": THREADS,
    "methods": {"input": {"display": "degraded input"}, "tv": {"display": "TV"}, "dip": {"display": "DIP"}},
    "experiments": {
        "denoise_s25": {"task": {"name": "denoise", "sigma": 25}, "datasets": ["builtin"], "image_size": 48,
                        "images": {"builtin": ["astronaut"]}, "seeds": [0, 1], "methods": ["input", "tv", "dip"]},
        "sr_x4": {"task": {"name": "sr", "scale": 4}, "datasets": ["builtin"], "image_size": 48,
                  "images": {"builtin": ["chelsea"]}, "methods": ["dip"]},
    },
}
GPU_LABELS = {"dip"}
KEYS = ["experiment", "label", "dataset", "image", "seed", "protocol"]



def live(test):
    """The tests that start the cluster."""
    return pytest.mark.cluster(pytest.mark.slow(test))


def _unavailable(reason: str):
    if os.environ.get("DIPBENCH_REQUIRE_SLURM") == "1":
        pytest.fail(f"DIPBENCH_REQUIRE_SLURM=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    if importlib.util.find_spec("snakemake_executor_plugin_slurm") is None:
        _unavailable("snakemake-executor-plugin-slurm is not installed (pip install -e '.[cluster]')")
    if not SNAKEMAKE:
        _unavailable("snakemake is not installed")
    slurm = MiniSlurm(tmp_path_factory.mktemp("slurm"), cpus=2, cpu_partition=CPU, gpu_partition=GPU)
    reason = slurm.unavailable()
    if reason:
        _unavailable(reason)
    try:
        slurm.start()
    except (ClusterError, OSError, subprocess.SubprocessError) as error:
        slurm.stop()
        _unavailable(f"the one-node SLURM did not start: {error}")
    try:
        yield slurm
    finally:
        slurm.stop()


def _workdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "tiny.yaml").write_text(yaml.safe_dump(TINY))
    return path


def _command(workdir: Path, *args: str) -> list[str]:
    return [SNAKEMAKE, "-s", str(REPO / "Snakefile"), "--directory", str(workdir),
            "--configfile", str(workdir / "tiny.yaml"), *args]


def _env(cluster=None, **extra) -> dict:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    env = cluster.env(env) if cluster else env
    return {**env, **extra}


@pytest.fixture(scope="module")
def local_started(tmp_path_factory, cluster):
    """The same config without SLURM (the reference numbers), started in the background: it runs while the
    SLURM run mostly waits for status checks."""
    workdir = _workdir(tmp_path_factory.mktemp("local"))
    log = open(workdir / "local.log", "w")
    proc = subprocess.Popen(_command(workdir, "--cores", "2"), cwd=workdir, env=_env(), stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    yield workdir, proc
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    log.close()


@pytest.fixture(scope="module")
def local_run(local_started, slurm_run):
    workdir, proc = local_started
    proc.wait(timeout=900)
    text = (workdir / "local.log").read_text()
    assert proc.returncode == 0, text[-4000:]
    jobs = {_identity(job) for job in _jobs(text).values() if job["rule"] != "all"}
    total = re.search(r"^total\s+(\d+)$", text, flags=re.M)
    assert len(jobs) == int(total.group(1)) - 1, (sorted(jobs), total.group(0))  # the log parsed whole
    return {"out": workdir / "out", "jobs": jobs}


def _jobs(log: str) -> dict[str, dict]:
    """Snakemake job id -> its rule and wildcards, from the job blocks of Snakemake's own log."""
    jobs = {}
    for block in re.split(r"\n(?=\[[^\]]+\]\n(?:local)?rule )", log):
        rule = re.search(r"^(?:local)?rule (\S+):$", block, flags=re.M)
        jobid = re.search(r"^\s+jobid: (\d+)$", block, flags=re.M)
        if rule and jobid:
            wildcards = re.search(r"^\s+wildcards: (.*)$", block, flags=re.M)
            jobs[jobid.group(1)] = {"rule": rule.group(1), "wildcards": dict(
                item.split("=", 1) for item in wildcards.group(1).split(", ")) if wildcards else {}}
    return jobs


def _identity(job: dict) -> tuple:
    """What a job is, across starts and runs (Snakemake's job ids are numbered per start)."""
    return job["rule"], tuple(sorted(job["wildcards"].items()))


def _submissions(log: str) -> dict[str, dict]:
    """SLURM job id -> the Snakemake job it runs (rule, wildcards, whether Snakemake saw it finish), from
    Snakemake's own log."""
    jobs = _jobs(log)
    finished = set(re.findall(r"Finished jobid: (\d+)", log))
    return {m.group(2): {**jobs[m.group(1)], "finished": m.group(1) in finished} for m in re.finditer(
        r"Job (\d+) has been submitted with SLURM jobid (\d+)", log) if m.group(1) in jobs}


def _run_json(out: Path, job: dict) -> list[Path]:
    """The run.json files a restore job writes (restore_fused_<experiment>: every seed of the experiment)."""
    wildcards = job["wildcards"]
    experiment = wildcards.get("experiment") or job["rule"].removeprefix("restore_fused_")
    seeds = [wildcards["seed"]] if "seed" in wildcards else TINY["experiments"][experiment]["seeds"]
    run = out / "runs" / experiment / wildcards["label"] / wildcards["dataset"] / wildcards["image"]
    return [run / f"seed{seed}" / "run.json" for seed in seeds]


def _run_records(out: Path) -> dict[Path, int]:
    return {path: path.stat().st_mtime_ns for path in (out / "runs").rglob("run.json")}


@pytest.fixture(scope="module")
def slurm_run(tmp_path_factory, cluster, local_started):
    """Through the profile: started, interrupted with SIGINT once a few runs are done, started again."""
    workdir = _workdir(tmp_path_factory.mktemp("slurm_run"))
    partitions = workdir / "partitions.yaml"
    partitions.write_text(yaml.safe_dump({"partitions": {CPU: {"max_gpu": 0}, GPU: {"max_gpu": 1}}}))
    env = _env(cluster, SNAKEMAKE_SLURM_PARTITIONS=str(partitions))
    args = ["--profile", str(PROFILE), "--slurm-init-seconds-before-status-checks", "5"]
    if cluster.accounting != "slurmdbd":
        args += ["--slurm-status-command", "squeue"]  # sacct needs slurmdbd
    out = workdir / "out"

    # First start: interrupt (Ctrl-C) once Snakemake has seen two restore jobs finish (more are to come).
    first_log = workdir / "first.log"
    with open(first_log, "w") as log:
        proc = subprocess.Popen(_command(workdir, *args), cwd=workdir, env=env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 600
        while proc.poll() is None and time.monotonic() < deadline and len(re.findall(
                r"Finished jobid: \d+ \(Rule: restore", first_log.read_text())) < 2:
            time.sleep(0.5)
        finished_early = proc.poll() is not None
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=180)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    first = first_log.read_text()
    assert not finished_early, f"the first run ended before it could be interrupted:\n{first[-4000:]}"
    deadline = time.monotonic() + 30
    while cluster.queue() and time.monotonic() < deadline:
        time.sleep(1)
    left_behind = cluster.queue()
    cluster.cancel_all()  # whatever the interrupted run left in the queue
    deadline = time.monotonic() + 30
    while cluster.queue() and time.monotonic() < deadline:
        time.sleep(1)
    # The runs Snakemake saw finish (a job that ended after its last status check may or may not be redone).
    first_jobs = _submissions(first_log.read_text())
    finished = [path for job in first_jobs.values() if job["finished"] and job["rule"].startswith("restore")
                for path in _run_json(out, job)]
    records_after_first = {path: path.stat().st_mtime_ns for path in finished}

    # Second start: the same command.
    start = time.monotonic()
    second = subprocess.run(_command(workdir, *args), cwd=workdir, env=env, capture_output=True, text=True,
                            timeout=900)
    wall = time.monotonic() - start
    (workdir / "second.log").write_text(second.stdout + second.stderr)
    assert second.returncode == 0, (second.stdout + second.stderr)[-6000:] + "\n" + cluster.log_tail()
    return {"out": out, "first": first_jobs, "second": _submissions(second.stdout + second.stderr),
            "left_behind": left_behind, "records_after_first": records_after_first,
            "wall": wall, "accounting": cluster.accounting, "jobs": cluster.jobs()}


def _profile() -> dict:
    return yaml.safe_load((PROFILE / "config.yaml").read_text())


def _expected(rule: str, wildcards: dict) -> dict:
    profile = _profile()
    resources = {**profile["default-resources"], **profile.get("set-resources", {}).get(rule, {})}
    # Only the restore rules run a method (their threads and gpu resource depend on the label); the report
    # draws its figures on two processes.
    label = wildcards["label"] if rule.startswith("restore") else None
    gpu = label in GPU_LABELS
    cpus = THREADS.get(label, THREADS["default"]) if label else 2 if rule == "report" else 1
    return {"partition": GPU if gpu else CPU, "gpus": 1 if gpu else 0, "mem_mb": int(resources["mem_mb"]),
            "timelimit": int(resources["runtime"]), "cpus": cpus}


@live
def test_every_job_went_through_slurm_with_what_the_profile_asks_for(slurm_run, local_run):
    submitted = {**slurm_run["first"], **slurm_run["second"]}
    jobs = slurm_run["jobs"]
    assert submitted and set(submitted) <= set(jobs), (sorted(submitted), sorted(jobs))
    rules = {job["rule"] for job in submitted.values()}
    assert {"observation", "restore", "restore_fused_denoise_s25", "evaluate", "report"} <= rules
    for slurm_id, job in submitted.items():
        record = jobs[slurm_id]
        seen = {key: record[key] for key in ("partition", "gpus", "mem_mb", "timelimit", "cpus")}
        assert seen == _expected(job["rule"], job["wildcards"]), (slurm_id, job, record)
        if slurm_run["accounting"] == "slurmdbd":
            assert record["comment"].startswith(f"rule_{job['rule']}"), record
    # Every job of the workflow ran to completion under SLURM: in the first start or the second. SLURM's own
    # state says which of the first start's jobs completed: one that ends between Snakemake's last status check
    # and Ctrl-C has complete outputs (its job script cleared their incomplete mark), so the second start
    # rightly leaves it alone although the first never logged it as finished.
    assert all(jobs[i]["state"] == "COMPLETED" for i in slurm_run["second"])
    assert all(jobs[i]["state"] == "COMPLETED" for i, job in slurm_run["first"].items() if job["finished"])
    completed_first = {_identity(job) for i, job in slurm_run["first"].items() if jobs[i]["state"] == "COMPLETED"}
    second = {_identity(job) for job in slurm_run["second"].values()}
    assert completed_first | second == local_run["jobs"], (sorted(completed_first), sorted(second))


@live
def test_results_equal_the_local_run(slurm_run, local_run):
    local = pd.read_csv(local_run["out"] / "tables" / "runs.csv").set_index(KEYS).sort_index()
    slurm = pd.read_csv(slurm_run["out"] / "tables" / "runs.csv").set_index(KEYS).sort_index()
    assert list(slurm.index) == list(local.index)
    rows = {(e, label, seed) for e, label, _, _, seed, _ in local.index}
    assert rows >= {("denoise_s25", "dip", 0), ("denoise_s25", "dip", 1), ("denoise_s25", "input", 0),
                    ("denoise_s25", "tv", 0), ("sr_x4", "dip", 0)}, rows
    for column in ("psnr", "ssim"):
        assert (slurm[column] - local[column]).abs().max() <= 1e-9, column
    summary_local = pd.read_csv(local_run["out"] / "tables" / "summary.csv")
    summary_slurm = pd.read_csv(slurm_run["out"] / "tables" / "summary.csv")
    assert (summary_slurm["psnr_mean"] - summary_local["psnr_mean"]).abs().max() <= 1e-9


@live
def test_an_interrupted_run_resumes_without_redoing_finished_jobs(slurm_run, local_run):
    assert slurm_run["left_behind"] == [], "Ctrl-C left SLURM jobs in the queue"
    before = slurm_run["records_after_first"]
    assert len(before) >= 2
    after = _run_records(slurm_run["out"])
    assert {path: after[path] for path in before} == before, "a finished run was written again"
    assert len(slurm_run["second"]) < len(local_run["jobs"])
    for job in slurm_run["second"].values():
        if job["rule"].startswith("restore"):
            assert not set(_run_json(slurm_run["out"], job)) & set(before), job
    print(f"\ncluster: the resumed SLURM run took {slurm_run['wall']:.0f} s for {len(slurm_run['second'])} of "
          f"{len(local_run['jobs'])} jobs ({slurm_run['accounting']} accounting)")


def test_the_profile_covers_the_fused_rules_and_keeps_to_what_the_plugin_allows():
    """No cluster needed: the static half of the contract."""
    profile = _profile()
    experiments = set()
    for config in (REPO / "config").glob("*.yaml"):
        experiments |= set(yaml.safe_load(config.read_text()).get("experiments") or {})
    set_resources = profile["set-resources"]
    for experiment in experiments:
        assert {"runtime", "mem_mb"} <= set(set_resources.get(f"restore_fused_{experiment}", {})), experiment
    # CPUs follow the rules' threads; GPUs follow the rules' gpu resource (the plugin adds --gpus itself and
    # rejects --gres/--gpus in slurm_extra).
    assert "cpus_per_task" not in profile["default-resources"] and "set-threads" not in profile
    for resources in [profile["default-resources"], *set_resources.values()]:
        assert "slurm_partition" not in resources
        assert not re.search(r"--(gres|gpus)\b", str(resources.get("slurm_extra", "")))
    if importlib.util.find_spec("snakemake_executor_plugin_slurm") is not None:
        from snakemake_executor_plugin_slurm.partitions import read_partition_file

        partitions = {p.name: p.limits for p in read_partition_file(PROFILE / "partitions.yaml")}
        assert any(limits.max_gpu > 0 for limits in partitions.values())
        assert any(limits.max_gpu == 0 for limits in partitions.values())
