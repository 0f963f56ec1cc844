"""Metrics as a registry: PSNR over the missing pixels of inpainting pinned by known values, and a throwaway
metric registered in one place reaching scores, records, tables, summaries, figures, report pages and the CLI."""

import json

import numpy as np
import pytest

from dipbench.metrics import Metric, MetricFacts, metric_facts, metric_names, register_metric, score
from dipbench.metrics import registry
from dipbench.tasks import make_task


def _inpainting(seed=0):
    rng = np.random.default_rng(seed)
    gt = rng.uniform(0.2, 0.8, (24, 24, 3)).astype(np.float32)
    task = make_task("inpaint", keep=0.5)
    return task, task.degrade(gt, np.random.default_rng(1))


def test_psnr_missing_scores_only_the_pixels_the_input_lacks():
    _, obs = _inpainting()
    pred = obs.gt.copy()
    missing = obs.mask[..., 0] == 0
    pred[missing] += 0.1  # every missing pixel off by 0.1: PSNR 20 dB there
    pred[~missing] = np.clip(pred[~missing] + 0.3, 0, 1)  # known pixels way off: not part of it
    result = score(obs.gt, pred, "inpaint", mask=obs.mask)
    assert result["psnr_missing"] == pytest.approx(20.0, abs=1e-4)
    assert result["psnr"] < 15 and result["protocol"] == "dip_paper"
    assert score(obs.gt, pred, "inpaint", "basicsr", mask=obs.mask)["psnr_missing"] == pytest.approx(20.0, abs=1e-4)
    assert "psnr_missing" not in score(obs.gt, pred, "inpaint")  # no mask: does not apply
    assert "psnr_missing" not in score(obs.gt, pred, "denoise")
    assert metric_facts("psnr_missing").axis_label == "PSNR (missing) (dB)"


def test_a_mask_of_another_size_is_one_clear_error():
    from dipbench.errors import ImageError

    _, obs = _inpainting()
    with pytest.raises(ImageError, match="the mask is 10x10 px, the ground truth 24x24 px"):
        score(obs.gt, obs.gt, "inpaint", mask=np.ones((10, 10, 1)))


def test_registering_a_taken_or_bad_name_is_an_error():
    from dipbench.errors import ConfigError

    with pytest.raises(ConfigError, match="registered twice"):
        register_metric(Metric("psnr", MetricFacts("other", "", 2, True), lambda s: 0.0))
    with pytest.raises(ConfigError, match="lower-case identifier"):
        register_metric(Metric("My Metric", MetricFacts("x", "", 2, True), lambda s: 0.0))
    with pytest.raises(ConfigError, match="record column"):
        register_metric(Metric("runtime_s", MetricFacts("x", "", 2, True), lambda s: 0.0))
    with pytest.raises(ConfigError, match="needs a compute function"):
        register_metric(Metric("blank", MetricFacts("x", "", 2, True)))


def test_a_protocol_returns_its_named_metrics_and_one_that_does_not_is_refused(monkeypatch):
    from dipbench.errors import ConfigError
    from dipbench.metrics import protocols

    _, obs = _inpainting()
    own = protocols._PROTOCOLS["dip_paper"](obs.gt, obs.gt * 0.9, False, None, protocols.Box(0, 0, 24, 24))
    assert set(own) == {"psnr", "ssim"} == set(registry.PROTOCOL_METRICS)
    assert score(obs.gt, obs.gt * 0.9, "inpaint")["psnr"] == own["psnr"]
    monkeypatch.setitem(protocols._PROTOCOLS, "psnr_only", lambda gt, pred, *rest: {"psnr": 30.0})
    with pytest.raises(ConfigError, match=r"protocol 'psnr_only' returned \['psnr'\], not \['psnr', 'ssim'\]"):
        score(obs.gt, obs.gt, "inpaint", "psnr_only")


@pytest.fixture
def mae(monkeypatch):
    """A throwaway metric, registered the way a module would (and gone after the test)."""
    monkeypatch.setattr(registry, "_METRICS", dict(registry._METRICS))

    def mean_absolute_error(scored):
        return float(np.abs(scored.target.slice(scored.gt) - scored.pred).mean())

    return register_metric(Metric("mae", MetricFacts("MAE", "", 4, False), mean_absolute_error))


def test_a_new_metric_reaches_records_tables_summaries_figures_pages_and_the_cli(mae, tmp_path, capsys):
    from dipbench.cli import main
    from dipbench.imaging.io import write_png
    from dipbench.pipeline.jobs import evaluate
    from dipbench.report.build import write_figures
    from dipbench.report.pages import write_pages
    from dipbench.report.records import records_frame, summarize, write_tables
    from dipbench.report.table_files import write_report_tables

    assert metric_names()[-1] == "mae"
    task, obs = _inpainting()
    obs.dataset, obs.image = "d", "im"
    obs.save(tmp_path / "obs.npz")
    records = []
    for label, offset in (("a", 0.02), ("b", 0.05)):
        run = tmp_path / label
        run.mkdir()
        write_png(run / "restored.png", np.clip(obs.gt + offset, 0, 1))
        (run / "run.json").write_text(json.dumps({"experiment": "e", "label": label, "method": label, "seed": 0,
                                                  "task": "inpaint", "task_params": obs.task_params, "dataset": "d",
                                                  "image": "im", "params": {}, "runtime_s": 1.0}))
        records.append(evaluate(tmp_path / "obs.npz", run / "restored.png", run / "run.json", "dip_paper",
                                run / "metrics.json"))
    assert records[0]["mae"] == pytest.approx(0.02, abs=0.002) and "psnr_missing" in records[0]
    df = records_frame(records)
    assert df["mae"].dtype == np.float64
    assert {"mae_mean", "mae_seed_std", "psnr_missing_mean"} <= set(summarize(df).columns)
    write_tables(df, tmp_path)
    write_report_tables(df, tmp_path)
    md = (tmp_path / "tables/e_d.md").read_text()
    assert "MAE" in md and "PSNR (missing)" in md
    assert (tmp_path / "tables/e_d_mae.tex").is_file() and (tmp_path / "tables/e_d_psnr_missing.tex").is_file()
    written = write_figures(df, tmp_path, grids=False)
    assert (tmp_path / "figures/e_d_mae.png").is_file() and tmp_path / "figures/e_d_mae.png" in written
    pages = [p.name for p in write_pages(tmp_path, tmp_path / "pages")]
    assert "e.d.2.MAE-table.html" in pages and "e.d.5.mae.html" in pages
    write_png(tmp_path / "gt.png", obs.gt)
    assert main(["score", "--gt", str(tmp_path / "gt.png"), "--pred", str(tmp_path / "a/restored.png"),
                 "--task", "inpaint"]) == 0
    assert "MAE 0.02" in capsys.readouterr().out
