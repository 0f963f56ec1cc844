"""Overhead per job of `snakemake --profile profiles/slurm` on the one-node test cluster, against a local run.

    sudo .venv/bin/python tests/cluster/measure_overhead.py [--init-seconds N] [--keep]

Starts tests/cluster/minislurm.py's cluster, runs tests/test_cluster.py's tiny config once locally
(`--cores 2`) and once through the profile (uninterrupted), and prints both wall times, the job count,
(SLURM wall - local wall) / jobs, and what SLURM measured per job (sacct Elapsed, with slurmdbd). By default the
plugin polls as shipped (first status check after 40 s, then +10 s per check without news);
--init-seconds 2 is what the test uses.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

import yaml  # noqa: E402
from minislurm import MiniSlurm  # noqa: E402
from test_cluster import CPU, GPU, PROFILE, _command, _env, _submissions, _workdir  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--init-seconds", type=int, default=None,
                        help="--slurm-init-seconds-before-status-checks (default: the plugin's, 40)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="dipbench-overhead-"))
    cluster = MiniSlurm(root / "slurm", cpus=2, cpu_partition=CPU, gpu_partition=GPU)
    reason = cluster.unavailable()
    if reason:
        print(f"cannot run: {reason}")
        return 2
    cluster.start()
    try:
        local = _workdir(root / "local")
        start = time.monotonic()
        done = subprocess.run(_command(local, "--cores", "2"), cwd=local, env=_env(), capture_output=True,
                              text=True)
        local_wall = time.monotonic() - start
        assert done.returncode == 0, done.stderr[-3000:]

        work = _workdir(root / "slurm_run")
        partitions = work / "partitions.yaml"
        partitions.write_text(yaml.safe_dump({"partitions": {CPU: {"max_gpu": 0}, GPU: {"max_gpu": 1}}}))
        extra = ["--profile", str(PROFILE)]
        if args.init_seconds:
            extra += ["--slurm-init-seconds-before-status-checks", str(args.init_seconds)]
        if cluster.accounting != "slurmdbd":
            extra += ["--slurm-status-command", "squeue"]
        start = time.monotonic()
        done = subprocess.run(_command(work, *extra), cwd=work, capture_output=True, text=True,
                              env=_env(cluster, SNAKEMAKE_SLURM_PARTITIONS=str(partitions)))
        slurm_wall = time.monotonic() - start
        assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
        jobs = len(_submissions(done.stdout + done.stderr))
        print(f"local --cores 2: {local_wall:.1f} s; SLURM profile (init-seconds "
              f"{args.init_seconds or 'default'}): {slurm_wall:.1f} s; {jobs} jobs")
        print(f"overhead per job: {(slurm_wall - local_wall) / jobs:.1f} s")
        if cluster.accounting == "slurmdbd":
            out = cluster.client("sacct", "-X", "-P", "-n", "--format=JobName%60,ElapsedRaw,Comment%200",
                                 "--starttime", "now-1days").stdout
            elapsed = [int(line.split("|")[1]) for line in out.splitlines() if line]
            print(f"SLURM elapsed per job: median {statistics.median(elapsed):.0f} s, "
                  f"min {min(elapsed)} s, max {max(elapsed)} s, sum {sum(elapsed)} s")
    finally:
        cluster.stop()
        if not args.keep:
            subprocess.run(["rm", "-rf", str(root)])
        else:
            print(f"kept {root}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
