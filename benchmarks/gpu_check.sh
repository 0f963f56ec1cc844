#!/usr/bin/env bash
# The GPU check of "fast by default": every figure the CPU could not give, in one run of under 10 minutes
# on one GPU.
#
#   bash benchmarks/gpu_check.sh [OUT]          (OUT: output folder, default benchmarks/gpu_results)
#   PYTHON=/path/to/python bash benchmarks/gpu_check.sh OUT     (default: `python` from PATH)
#
# 1. prints the hardware line (benchmarks/hardware.py), then stops with exit code 2 unless
#    torch.cuda.is_available();
# 2. benchmarks/dip_speed.py --device cuda in the modes speed, fused (--runs 8 --size 256), memory
#    (--sizes 512 1024 2048) and ttq, each with --json OUT/<mode>.json and its log in OUT/<mode>.log;
#    then benchmarks/paper_projection.py --device cuda: the projected time of the whole paper config
#    (config/config.yaml) on this GPU, from a short probe of every experiment x method (measured
#    seconds per step x planned steps), into OUT/projection.json;
# 3. one timed experiment of the workflow: sr_x4 of config/config.yaml restricted to Set5, written by
#    Python to OUT/sr_x4.config.yaml (the config with only that experiment and dataset, results
#    OUT/sr_x4, device cuda), run as
#      snakemake --profile profiles/gpu --configfile OUT/sr_x4.config.yaml --config results=OUT/sr_x4 ...
#    (one --configfile replaces config/config.yaml, see the Snakefile) and timed with the wall clock;
# 4. OUT/gpu_check.json (every figure, and each check's exit status and seconds) and OUT/gpu_check.md
#    (one Markdown table: check, figure, value), written by the Python at the end from the JSON files.
#
# Each step gets at most its own cap and what is left of GPU_CHECK_BUDGET_S (default 540 s); a step that
# fails or runs out of time is recorded and the others still run; the exit status is then 1.
# Datasets for the workflow come from $DIPBENCH_MIRROR, else a shared/datasets folder in or beside the
# repository (the machine may have no network).
set -euo pipefail

PYTHON="${PYTHON:-python}"
script_dir="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd -- "$script_dir/.." && pwd)"
out="${1:-$repo/benchmarks/gpu_results}"
case "$out" in
    /*) ;;
    *) out="$PWD/$out" ;;
esac
budget="${GPU_CHECK_BUDGET_S:-540}"
if ! [[ "$budget" =~ ^[0-9]+$ ]]; then
    echo "gpu_check: GPU_CHECK_BUDGET_S must be a whole number of seconds" >&2
    exit 1
fi
export PYTHONUNBUFFERED=1
cd -- "$repo"

# What is checked, first, so that a run on the wrong machine still shows it.
"$PYTHON" benchmarks/hardware.py --device auto
if ! "$PYTHON" -c 'import torch; assert torch.cuda.is_available()' 2>/dev/null; then
    echo "gpu_check: no CUDA device (torch.cuda.is_available() is False); run this on a GPU machine" >&2
    exit 2
fi

mkdir -p -- "$out"
status_file="$out/status.tsv"
: > "$status_file"
t0="$(date +%s)"
failed=0

# run_check NAME CAP_S COMMAND...: run COMMAND with a time limit, log to OUT/NAME.log, record the exit status
# and start/end times (s since the epoch) in OUT/status.tsv.
run_check() {
    local name="$1" cap="$2"
    shift 2
    local left=$((budget - ($(date +%s) - t0)))
    local limit=$((cap < left ? cap : left))
    if ((limit < 20)); then
        echo "gpu_check: $name skipped (the time budget of $budget s is spent)" >&2
        printf '%s\t%s\t%s\t%s\n' "$name" "skipped" "" "" >> "$status_file"
        failed=1
        return 0
    fi
    echo "gpu_check: $name (at most $limit s): $*"
    local start end status
    start="$(date +%s.%N)"
    set +e
    timeout --kill-after=15 "$limit" "$@" 2>&1 | tee -- "$out/$name.log"
    status="${PIPESTATUS[0]}"
    set -e
    end="$(date +%s.%N)"
    printf '%s\t%s\t%s\t%s\n' "$name" "$status" "$start" "$end" >> "$status_file"
    if ((status == 124 || status == 137)); then
        echo "gpu_check: $name ran out of time ($limit s)" >&2
        failed=1
    elif ((status != 0)); then
        echo "gpu_check: $name failed (exit status $status)" >&2
        failed=1
    fi
}

speed=("$PYTHON" benchmarks/dip_speed.py --device cuda)
run_check speed 150 "${speed[@]}" --mode speed --json "$out/speed.json"
run_check projection 120 "$PYTHON" benchmarks/paper_projection.py --device cuda --json "$out/projection.json"
run_check fused 90 "${speed[@]}" --mode fused --runs 8 --size 256 --json "$out/fused.json"
run_check memory 180 "${speed[@]}" --mode memory --sizes 512 1024 2048 --json "$out/memory.json"
run_check ttq 150 "${speed[@]}" --mode ttq --json "$out/ttq.json"

# The workflow experiment: config/config.yaml with only sr_x4 on Set5, written by Python (no value pasted
# into the shell).
"$PYTHON" - "$repo/config/config.yaml" "$out" <<'PY'
import os
import sys
from pathlib import Path

import yaml

source, out = Path(sys.argv[1]), Path(sys.argv[2])
config = yaml.safe_load(source.read_text())
experiment = dict(config["experiments"]["sr_x4"])
experiment["datasets"] = ["set5"]
config["experiments"] = {"sr_x4": experiment}
config["results"] = str(out / "sr_x4")
config["device"] = "cuda"
config["fuse_seeds"] = True
if not os.environ.get("DIPBENCH_MIRROR") and not config.get("mirror"):
    repo = source.resolve().parents[1]
    for candidate in (repo / "shared" / "datasets", repo.parent / "shared" / "datasets"):
        if candidate.is_dir():
            config["mirror"] = str(candidate)
            break
(out / "sr_x4.config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
print(f"gpu_check: workflow config {out / 'sr_x4.config.yaml'} (sr_x4 on set5, mirror {config.get('mirror')})")
PY
if "$PYTHON" -c 'import snakemake' 2>/dev/null; then
    snakemake=("$PYTHON" -m snakemake)
else
    snakemake=(snakemake)
fi
run_check workflow_sr_x4_set5 "$budget" "${snakemake[@]}" --profile profiles/gpu \
    --configfile "$out/sr_x4.config.yaml" --config "results=$out/sr_x4" device=cuda fuse_seeds=true \
    --keep-going --forceall

# Every figure, from the JSON files, into OUT/gpu_check.json and OUT/gpu_check.md.
"$PYTHON" - "$out" <<'PY'
import csv
import json
import math
import sys
from pathlib import Path

out = Path(sys.argv[1])
figures = []  # (check, figure, value)


def add(check, figure, value):
    if value is not None:
        figures.append({"check": check, "figure": figure, "value": value})


def load(name):
    path = out / f"{name}.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


checks = {}
for line in (out / "status.tsv").read_text().splitlines():
    name, status, start, end = line.split("\t")
    seconds = float(end) - float(start) if start and end else None
    checks[name] = {"exit_status": None if status == "skipped" else int(status), "skipped": status == "skipped",
                    "seconds": seconds}

summaries = {name: load(name) for name in ("speed", "fused", "memory", "ttq")}
hardware = next((s["hardware"] for s in summaries.values() if s and "hardware" in s), None)
if hardware:
    add("hardware", "GPU", hardware.get("gpu_name"))
    add("hardware", "compute capability", hardware.get("compute_capability"))
    add("hardware", "GPU memory (GB)", hardware.get("gpu_memory_gb"))
    add("hardware", "CPU", f"{hardware.get('cpu_model')} ({hardware.get('logical_cores')} logical cores)")
    add("hardware", "torch / CUDA", f"{hardware.get('torch')} / {hardware.get('cuda_version')}")
    add("hardware", "precision auto ->", hardware.get("precision_resolved"))

speed = summaries["speed"]
if speed:
    for path in ("reference", "dipbench"):
        s = speed[path]
        add("speed", f"{path} steps/s", s["steps_per_s"])
        add("speed", f"{path} fraction of est. peak", s.get("fraction_of_peak"))
        add("speed", f"{path} peak memory (MB)", s.get("peak_mb"))
        add("speed", f"{path} mean final PSNR (dB)", s["psnr_mean"])
    add("speed", "dipbench precision", speed["dipbench"]["precision"])
    add("speed", "dipbench channels_last", speed["dipbench"]["channels_last"])
    add("speed", "speedup", speed["speedup"])
    add("speed", "PSNR gap (dB)", speed["psnr_gap_db"])
    add("speed", "keeps the numbers (|gap| <= 0.1 dB)", speed["keeps_numbers"])
    if speed.get("fixed_work"):
        add("speed", "fixed per-run work (% of timed)", speed["fixed_work"]["percent_of_timed"])

projection = load("projection")
if projection:
    add("projection", "full config on this GPU, one job at a time (h)", projection["projected_s"] / 3600)
    for row in projection["rows"]:
        add("projection", f"{row['experiment']} / {row['label']}: {row['runs']} runs (h)", row["projected_s"] / 3600)

fused = summaries["fused"]
if fused:
    add("fused", "separate run-steps/s", fused["separate_run_steps_per_s"])
    add("fused", "fused run-steps/s", fused["fused_run_steps_per_s"])
    add("fused", "throughput ratio (fused / separate)", fused["throughput_ratio"])
    add("fused", "largest |PSNR difference| (dB)", fused["max_abs_psnr_difference_db"])

memory = summaries["memory"]
if memory:
    for row in memory["rows"]:
        setting = f"{row['size']}^2 {row['precision']}{' +checkpointing' if row['checkpointing'] else ''}"
        add("memory", f"{setting} peak (MB)", row["peak_mb"])
        add("memory", f"{setting} s/step", row["seconds_per_step"])
    for key, s in memory["per_setting"].items():
        add("memory", f"{key} MB per megapixel", s["mb_per_megapixel"])
        for name, value in s.items():
            if name.startswith("predicted_mb_"):
                add("memory", f"{key} predicted at {name.rsplit('_', 1)[1]}^2 (MB)", value)
        add("memory", f"{key} fits", s["fits"])

ttq = summaries["ttq"]
if ttq:
    add("ttq", "time to the reference's PSNR / reference time", ttq["time_to_quality_ratio"])
    add("ttq", "ES-WMV time / reference time", ttq["es_time_ratio"])
    add("ttq", "ES-WMV reached the target", f"{ttq['es_reached']}/{ttq['runs']}")

workflow = checks.get("workflow_sr_x4_set5")
if workflow:
    add("workflow sr_x4 set5", "wall clock (s)", workflow["seconds"])
    add("workflow sr_x4 set5", "exit status", "skipped" if workflow["skipped"] else workflow["exit_status"])
summary_csv = out / "sr_x4" / "tables" / "summary.csv"
if summary_csv.is_file():
    with summary_csv.open(newline="") as handle:
        for row in csv.DictReader(handle):
            label = f"{row.get('label')} [{row.get('protocol')}]"
            for column, unit in (("psnr_mean", "PSNR (dB)"), ("runtime_s_mean", "runtime (s)")):
                if row.get(column):
                    add("workflow sr_x4 set5", f"{label} {unit}", float(row[column]))

for name, check in checks.items():
    if name == "workflow_sr_x4_set5":
        continue  # above
    add(name, "exit status", "skipped" if check["skipped"] else check["exit_status"])
    add(name, "seconds", check["seconds"])


def fmt(value):
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return "n/a" if math.isnan(value) else f"{value:.4g}"
    return str(value)


(out / "gpu_check.json").write_text(json.dumps({"checks": checks, "figures": figures, "hardware": hardware},
                                               indent=2) + "\n")
lines = ["| check | figure | value |", "| --- | --- | --- |"]


def cell(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


lines += [f"| {cell(f['check'])} | {cell(f['figure'])} | {cell(fmt(f['value']))} |" for f in figures]
(out / "gpu_check.md").write_text("\n".join(lines) + "\n")
print("\n".join(lines))
print(f"gpu_check: wrote {out / 'gpu_check.json'} and {out / 'gpu_check.md'}")
PY

exit "$failed"
