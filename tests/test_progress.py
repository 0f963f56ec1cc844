"""Progress in a log: whole lines, not interleaved redraws; and the workflow's estimate of the time left."""

import json

from dipbench.pipeline.eta import estimate, write_manifest
from dipbench.pipeline.plan import load_config
from dipbench.progress import progress_bar


def test_progress_in_a_log_is_whole_lines(capsys):
    bar = progress_bar(100, "dip denoise coffee")
    bar.update(40)
    bar.update(60)
    bar.close()
    err = capsys.readouterr().err  # pytest's capture is not a terminal, like a job piped into tee
    assert "\r" not in err
    lines = [line for line in err.splitlines() if line]
    assert lines and all(line.startswith("[dip denoise coffee]") for line in lines)
    assert "100/100 steps" in lines[-1]


def test_disabled_progress_prints_nothing(capsys):
    bar = progress_bar(10, "x", enabled=False)
    bar.update(10)
    bar.close()
    assert capsys.readouterr().err == ""


def test_estimate_from_the_manifest_and_finished_runs(tmp_path):
    plan = load_config({
        "results": str(tmp_path), "experiments": {"e": {
            "task": {"name": "denoise"}, "datasets": ["builtin"], "seeds": [0, 1],
            "methods": ["dip", "bm3d"], "params": {"dip": {"steps": 100}}}}})
    path = write_manifest(plan, cores=2)
    runs = json.loads(path.read_text())["runs"]
    assert len(runs) == 9 and {r["steps"] for r in runs if "/dip" in r["label"]} == {100}  # bm3d: once per image
    assert estimate(tmp_path) == "progress: 0 of 9 restore runs done"
    for run in runs[:1] + [r for r in runs if "/bm3d" in r["label"]][:1]:
        folder = tmp_path / run["run_dir"]
        folder.mkdir(parents=True)
        seconds = 50.0 if "/dip" in run["label"] else 2.0
        (folder / "run.json").write_text(json.dumps({"runtime_s": seconds}))
    # left: 5 dip runs at 0.5 s/step x 100 steps, 2 bm3d runs at 2 s = 254 s of job time, 127 s at 2 at once
    assert estimate(tmp_path) == ("progress: 2 of 9 restore runs done; about 4 min of job time left, "
                                  "~2 min at 2 job(s) at once")
    assert estimate(tmp_path / "elsewhere") is None


def test_progress_in_a_log_prints_every_tenth_of_a_run(capsys):
    bar = progress_bar(300, "dip denoise coffee")  # the case: one line in 300 steps
    for _ in range(300):
        bar.update(1)
    bar.close()
    lines = [line for line in capsys.readouterr().err.splitlines() if line]
    done = [int(line.split()[3].split("/")[0]) for line in lines]
    assert done[:11] == [0, 30, 60, 90, 120, 150, 180, 210, 240, 270, 300] and set(done[11:]) <= {300}
    assert all(line.startswith("[dip denoise coffee] ") for line in lines)


def test_progress_in_a_log_with_uneven_updates_prints_each_tenth_crossed(capsys):
    bar = progress_bar(1800, "x")
    for _ in range(72):
        bar.update(25)  # a loop that reports every 25 steps
    bar.close()
    done = [int(line.split()[1].split("/")[0]) for line in capsys.readouterr().err.splitlines() if line]
    assert done[:11] == [0, 200, 375, 550, 725, 900, 1100, 1275, 1450, 1625, 1800]
