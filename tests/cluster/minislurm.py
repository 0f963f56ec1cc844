"""A one-node SLURM cluster on 127.0.0.1 for tests: munged, (MariaDB + slurmdbd,) slurmctld and slurmd as
root, in the foreground, with every config, pid, log, state and socket file under one folder and free ports.

    cluster = MiniSlurm(folder)
    reason = cluster.unavailable()      # None, or why this machine cannot run it (then skip)
    cluster.start()                      # raises ClusterError with the daemons' log tails
    subprocess.run(["sbatch", ...], env=cluster.env())
    cluster.jobs()                       # every job SLURM accounted: partition, CPUs, memory, GPUs, state
    cluster.stop()                       # cancels the jobs and stops every daemon started here

Accounting: with MariaDB and slurmdbd installed, the real thing (``sacct`` answers, as the executor plugin
expects by default). Without them ``accounting_storage/none``: then ``sacct`` cannot answer (the plugin needs
``--slurm-status-command squeue``) and the job records come from the ``jobcomp/filetxt`` file (``sacct -c``).
Set DIPBENCH_TEST_SLURM_ACCOUNTING=jobcomp to force the light mode.

Only for a throwaway machine or container: it needs root, runs jobs as root and uses no cgroups.
"""

from __future__ import annotations

import atexit
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DAEMONS = ("munged", "slurmctld", "slurmd")
CLIENTS = ("sbatch", "srun", "squeue", "scancel", "sacct", "sinfo", "scontrol")
DBD = ("mariadbd", "mariadb-install-db", "mariadb", "slurmdbd")
SBIN = ("/usr/sbin", "/sbin", "/usr/local/sbin")


class ClusterError(RuntimeError):
    pass


def _which(name: str) -> str | None:
    return shutil.which(name) or shutil.which(name, path=os.pathsep.join(SBIN))


def _free_ports(count: int) -> list[int]:
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


class MiniSlurm:
    def __init__(self, root: Path, cpus: int = 2, mem_mb: int = 64000, cpu_partition: str = "tcpu",
                 gpu_partition: str = "tgpu", node: str = "dbnode"):
        self.root = Path(root)
        self.cpus, self.mem_mb, self.node = cpus, mem_mb, node
        self.cpu_partition, self.gpu_partition = cpu_partition, gpu_partition
        self.host = socket.gethostname().split(".")[0]
        self.procs: list[tuple[str, subprocess.Popen]] = []
        wanted = os.environ.get("DIPBENCH_TEST_SLURM_ACCOUNTING", "auto")
        self.accounting = "slurmdbd" if wanted != "jobcomp" and all(_which(x) for x in DBD) else "jobcomp"
        if wanted == "slurmdbd" and self.accounting != "slurmdbd":
            self.accounting = "missing"

    # ---- availability -------------------------------------------------------------------------------------
    def unavailable(self) -> str | None:
        """Why this machine cannot run the cluster, or None."""
        if os.name != "posix" or os.geteuid() != 0:
            return "needs root (slurmd runs jobs as root; daemons write their state as root)"
        missing = [name for name in DAEMONS + CLIENTS if not _which(name)]
        if missing:
            return ("SLURM is not installed (missing: " + ", ".join(missing) + "); on Debian/Ubuntu: "
                    "apt-get install slurmctld slurmd slurm-client munge (.ci/run does this)")
        if self.accounting == "missing":
            return "DIPBENCH_TEST_SLURM_ACCOUNTING=slurmdbd but mariadb-server/slurmdbd are not installed"
        return None

    # ---- environment for clients and workflows --------------------------------------------------------------
    def env(self, base: dict | None = None) -> dict:
        """The environment in which sbatch/squeue/snakemake talk to this cluster. The first PATH entry holds an
        `srun` that re-sets SLURM_CONF: the plugin's job step strips every SLURM_* variable before it calls
        srun inside a job, and on this cluster the config is not at /etc/slurm/slurm.conf."""
        env = dict(os.environ if base is None else base)
        env["SLURM_CONF"] = str(self.conf)
        env["PATH"] = os.pathsep.join([str(self.root / "bin"), env.get("PATH", ""), *SBIN])
        for key in [k for k in env if k.startswith(("SLURM_", "SBATCH_", "SRUN_", "SQUEUE_"))]:
            if key != "SLURM_CONF":
                env.pop(key)
        return env

    @property
    def conf(self) -> Path:
        return self.root / "etc" / "slurm.conf"

    def client(self, *args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess:
        result = subprocess.run(list(args), env=self.env(), capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise ClusterError(f"{' '.join(args)} failed ({result.returncode}): {result.stderr.strip()}")
        return result

    # ---- start / stop -------------------------------------------------------------------------------------
    def start(self, timeout: float = 90) -> None:
        atexit.register(self.stop)  # a safety net: the caller stops the cluster (a pytest finalizer)
        for sub in ("etc", "state", "spool", "run", "log", "munge", "bin", "db"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o755)
        ctld_port, slurmd_port, dbd_port, mysql_port = _free_ports(4)
        values = dict(root=self.root, host=self.host, node=self.node, cpus=self.cpus, mem_mb=self.mem_mb,
                      ctld_port=ctld_port, slurmd_port=slurmd_port, dbd_port=dbd_port, mysql_port=mysql_port,
                      cpu_partition=self.cpu_partition, gpu_partition=self.gpu_partition,
                      db_password=secrets.token_hex(8))
        if self.accounting == "slurmdbd":
            values["accounting"] = "\n".join([
                "AccountingStorageType=accounting_storage/slurmdbd",
                "AccountingStorageHost=127.0.0.1",
                f"AccountingStoragePort={dbd_port}",
                f"AccountingStoragePass={self.root}/munge/munge.sock   # the munge socket slurmdbd clients use",
                "AccountingStorageTRES=gres/gpu",
                "AccountingStoreFlags=job_comment"])
        else:
            values["accounting"] = "AccountingStorageType=accounting_storage/none"
        self.conf.write_text((HERE / "slurm.conf.in").read_text().format(**values))
        (self.root / "etc" / "gres.conf").write_text(f"NodeName={self.node} Name=gpu File=/dev/null\n")
        srun = self.root / "bin" / "srun"
        srun.write_text(f'#!/bin/sh\nSLURM_CONF={self.conf} exec {_which("srun")} "$@"\n')
        srun.chmod(0o755)

        key = self.root / "munge" / "munge.key"
        key.write_bytes(secrets.token_bytes(1024))
        key.chmod(0o600)
        munge = self.root / "munge"
        self._spawn("munged", [_which("munged"), "--foreground", "--force", f"--socket={munge}/munge.sock",
                               f"--key-file={key}", f"--pid-file={munge}/munged.pid",
                               f"--log-file={self.root}/log/munged.log", f"--seed-file={munge}/munged.seed"])
        self._wait(lambda: (munge / "munge.sock").exists(), timeout, "munged did not create its socket")

        if self.accounting == "slurmdbd":
            self._start_database(values, timeout)
        self._spawn("slurmctld", [_which("slurmctld"), "-D", "-c", "-f", str(self.conf)])
        self._wait(lambda: self.client("scontrol", "ping", check=False).stdout.count("UP") > 0, timeout,
                   "slurmctld does not answer scontrol ping")
        self._spawn("slurmd", [_which("slurmd"), "-D", "-N", self.node, "-f", str(self.conf)])
        self._wait(self._node_idle, timeout, f"node {self.node} did not become idle")

    def _start_database(self, values: dict, timeout: float) -> None:
        db, port = self.root / "db", values["mysql_port"]
        init = subprocess.run([_which("mariadb-install-db"), "--no-defaults", f"--datadir={db}", "--user=root",
                               "--auth-root-authentication-method=socket", "--skip-test-db"],
                              capture_output=True, text=True, timeout=timeout)
        if init.returncode != 0:
            raise ClusterError(f"mariadb-install-db failed: {init.stdout[-1500:]}{init.stderr[-1500:]}")
        sock = self.root / "run" / "mysql.sock"
        self._spawn("mariadbd", [_which("mariadbd"), "--no-defaults", f"--datadir={db}", "--user=root",
                                 "--bind-address=127.0.0.1", f"--port={port}", f"--socket={sock}",
                                 f"--pid-file={self.root}/run/mariadb.pid", f"--log-error={self.root}/log/mariadb.log",
                                 "--innodb-buffer-pool-size=64M", "--skip-log-bin"])
        mariadb = [_which("mariadb"), "--no-defaults", f"--socket={sock}", "-uroot"]
        self._wait(lambda: subprocess.run(mariadb + ["-e", "select 1"], capture_output=True).returncode == 0,
                   timeout, "MariaDB did not accept connections")
        password = values["db_password"]
        sql = "".join(f"CREATE USER 'slurm'@'{h}' IDENTIFIED BY '{password}';"
                      f"GRANT ALL ON slurm_acct_db.* TO 'slurm'@'{h}';" for h in ("127.0.0.1", "localhost"))
        subprocess.run(mariadb + ["-e", sql], check=True, capture_output=True, timeout=timeout)
        dbd_conf = self.root / "etc" / "slurmdbd.conf"
        dbd_conf.write_text((HERE / "slurmdbd.conf.in").read_text().format(**values))
        dbd_conf.chmod(0o600)
        # slurmdbd reads slurmdbd.conf from the folder of SLURM_CONF.
        self._spawn("slurmdbd", [_which("slurmdbd"), "-D"])
        self._wait(lambda: self.client("sacctmgr", "-n", "list", "cluster", check=False).returncode == 0,
                   timeout, "slurmdbd does not answer sacctmgr")

    def _spawn(self, name: str, argv: list[str]) -> None:
        log = open(self.root / "log" / f"{name}.out", "ab")
        proc = subprocess.Popen(argv, env=self.env(), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
        log.close()
        self.procs.append((name, proc))

    def _wait(self, ready, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, proc in self.procs:
                if proc.poll() is not None:
                    raise ClusterError(f"{name} exited with {proc.returncode} ({what})\n{self.log_tail()}")
            try:
                if ready():
                    return
            except (ClusterError, OSError, subprocess.SubprocessError):
                pass
            time.sleep(0.3)
        raise ClusterError(f"{what} within {timeout:.0f} s\n{self.log_tail()}")

    def _node_idle(self) -> bool:
        state = self.client("sinfo", "-h", "-N", "-o", "%t", check=False).stdout.split()
        return bool(state) and all(s == "idle" for s in state)

    def stop(self) -> None:
        """Cancel every job, then stop the daemons started here (newest first): SIGTERM, SIGKILL after 20 s."""
        if any(name == "slurmctld" and proc.poll() is None for name, proc in self.procs):
            try:
                self.client("scancel", "--full", "--user=root", check=False, timeout=20)
                deadline = time.monotonic() + 20
                while time.monotonic() < deadline and self.queue():
                    time.sleep(0.5)
            except (ClusterError, OSError, subprocess.SubprocessError):
                pass
        for name, proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=10)
        self.procs.clear()
        # Job processes that outlived their job (a cancelled Snakemake job step can ignore SIGTERM and miss the
        # SIGKILL when slurmd stops first): every process started under this cluster carries its SLURM_CONF.
        for pid in self.leftovers():
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass

    def leftovers(self) -> list[int]:
        """Processes other than this one whose environment names this cluster's slurm.conf."""
        marker = f"SLURM_CONF={self.conf}".encode()
        pids = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit() and int(entry.name) != os.getpid():
                try:
                    if marker in (entry / "environ").read_bytes().split(b"\0"):
                        pids.append(int(entry.name))
                except OSError:
                    pass
        return pids

    def log_tail(self, lines: int = 15) -> str:
        out = []
        for path in sorted((self.root / "log").glob("*")):
            if path.suffix in (".log", ".out"):
                tail = path.read_text(errors="replace").splitlines()[-lines:]
                out.append(f"--- {path.name}\n" + "\n".join(tail))
        return "\n".join(out)

    # ---- what the scheduler saw ---------------------------------------------------------------------------
    def queue(self) -> list[str]:
        """Job ids still pending or running."""
        out = self.client("squeue", "-h", "-o", "%i", "--states=PENDING,RUNNING,CONFIGURING,COMPLETING",
                          check=False).stdout
        return out.split()

    def cancel_all(self) -> None:
        self.client("scancel", "--full", "--user=root", check=False)

    def jobs(self) -> dict[str, dict]:
        """Every finished or running job SLURM accounted, by job id: name, partition, cpus, mem_mb, gpus,
        timelimit (minutes), state (and comment with slurmdbd)."""
        if self.accounting == "slurmdbd":
            fields = "JobIDRaw,JobName%80,Partition,ReqCPUS,ReqMem,ReqTRES%200,Timelimit,State,Comment%300"
            out = self.client("sacct", "-X", "-P", "-n", "--starttime", "now-2days", "--endtime", "now",
                              f"--format={fields}").stdout
            jobs = {}
            for line in out.splitlines():
                jobid, name, partition, cpus, mem, tres, limit, state, comment = line.split("|", 8)
                jobs[jobid] = dict(name=name, partition=partition, cpus=int(cpus), mem_mb=_mem_mb(mem),
                                   gpus=_gpus(tres), timelimit=_minutes(limit), state=state.split()[0],
                                   comment=comment)
            return jobs
        # Light mode: slurmctld's own memory of the jobs (kept MinJobAge seconds after they end).
        jobs = {}
        for line in self.client("scontrol", "show", "job", "-o", check=False).stdout.splitlines():
            f = dict(re.findall(r"(\w+)=(\S*)", line))
            if "JobId" not in f:
                continue
            gpus = re.search(r"gpu:(\d+)", f.get("TresPerJob", "") + "," + f.get("TRES", ""))
            jobs[f["JobId"]] = dict(name=f["JobName"], partition=f["Partition"], cpus=int(f["NumCPUs"]),
                                    mem_mb=_mem_mb(f.get("MinMemoryNode", "0")), gpus=int(gpus.group(1)) if gpus else 0,
                                    timelimit=_minutes(f["TimeLimit"]), state=f["JobState"],
                                    comment=f.get("Comment", ""))
        return jobs


def _mem_mb(text: str) -> int:
    match = re.fullmatch(r"([\d.]+)([KMGT]?)n?c?", text.strip())
    if not match:
        return 0
    scale = {"K": 1 / 1024, "M": 1, "": 1, "G": 1024, "T": 1024 * 1024}[match.group(2)]
    return round(float(match.group(1)) * scale)


def _gpus(tres: str) -> int:
    match = re.search(r"gres/gpu=(\d+)", tres)
    return int(match.group(1)) if match else 0


def _minutes(text: str) -> int:
    """SLURM time limits: MM, MM:SS, HH:MM:SS, D-HH:MM:SS."""
    days, _, rest = text.rpartition("-") if "-" in text else ("0", "", text)
    parts = [int(p) for p in rest.split(":")]
    if len(parts) == 1:
        minutes = parts[0]
    elif len(parts) == 2:
        minutes = parts[0]
    else:
        minutes = parts[0] * 60 + parts[1]
    return int(days or 0) * 1440 + minutes
