"""Result records -> pandas: loading, per-image averaging over seeds, summaries, CSV output."""

import json

import numpy as np
import pandas as pd
import pytest

from dipbench.report.records import (
    RECORD_COLUMNS,
    RecordError,
    average_seeds,
    load_records,
    records_frame,
    summarize,
    write_tables,
)

METHODS = {"dip": 30.0, "bm3d": 31.0, "nlm": 29.0}
IMAGES = {"house": 1.0, "lena": 0.0, "peppers": -1.0}
SEEDS = (0, 1)


def psnr_of(method, image, seed):
    return METHODS[method] + IMAGES[image] + 0.2 * seed


def make_records(tmp_path, extra=None):
    """3 methods x 3 images x 2 seeds, written as one JSON file each; returns the folder."""
    folder = tmp_path / "records"
    folder.mkdir()
    for method in METHODS:
        for image in IMAGES:
            for seed in SEEDS:
                record = {
                    "experiment": "denoise_s25", "task": "denoise", "task_slug": "denoise_clip1_quantize0_sigma25",
                    "dataset": "dip_denoise9", "image": image, "method": method, "label": method, "seed": seed,
                    "psnr": psnr_of(method, image, seed), "ssim": 0.8 + 0.01 * seed, "protocol": "dip_paper",
                    "runtime_s": 2.0 + seed, "method_version": "1", "params": {"steps": 10}, "device": "cpu",
                    "precision": "fp32", "restored": f"restored/{method}/{image}_{seed}.png", "curve": "",
                    "observation": f"obs/{image}_{seed}.npz",
                }
                if method == "dip":
                    record["stop_step"] = 100 + seed
                record.update(extra or {})
                (folder / f"{method}_{image}_{seed}.json").write_text(json.dumps(record))
    return folder


def test_load_records_columns_order_and_sorting(tmp_path):
    folder = make_records(tmp_path)
    (folder / "not_a_record.json").write_text("[1, 2]")  # skipped when found by searching a folder
    df = load_records(folder)
    assert len(df) == 18
    assert list(df.columns[: len(RECORD_COLUMNS)]) == RECORD_COLUMNS
    assert "stop_step" in df.columns  # optional fields kept, after the standard ones
    assert df["seed"].dtype == np.int64 and df["psnr"].dtype == np.float64
    assert list(df["method"].drop_duplicates()) == ["bm3d", "dip", "nlm"]
    assert list(df["image"].iloc[:6]) == ["house", "house", "lena", "lena", "peppers", "peppers"]
    assert json.loads(df["params"].iloc[0]) == {"steps": 10}  # nested values become JSON strings
    assert df.loc[df["method"] == "bm3d", "stop_step"].isna().all()


def test_load_records_named_bad_file_raises(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"experiment": "x"}))
    with pytest.raises(RecordError, match="lacks"):
        load_records([bad])


def test_missing_optional_columns_and_label_default():
    df = records_frame([
        {"experiment": "e", "task": "sr", "dataset": "set5", "image": "baby", "method": "bicubic", "seed": 0,
         "psnr": 28.0},
    ])
    assert df["label"].iloc[0] == "bicubic"
    assert np.isnan(df["ssim"].iloc[0])
    summary = summarize(df)
    assert summary["psnr_mean"].iloc[0] == 28.0 and summary["n_images"].iloc[0] == 1


def test_average_seeds(tmp_path):
    df = load_records(make_records(tmp_path))
    per_image = average_seeds(df)
    assert len(per_image) == 9
    row = per_image[(per_image["label"] == "dip") & (per_image["image"] == "house")].iloc[0]
    assert row["psnr"] == pytest.approx((31.0 + 31.2) / 2)
    assert row["n_seeds"] == 2 and row["stop_step"] == 100.5 and row["method"] == "dip"


def test_summarize_values(tmp_path):
    df = load_records(make_records(tmp_path))
    summary = summarize(df)
    assert len(summary) == 3
    for column in ("psnr_mean", "psnr_std", "psnr_count", "psnr_seed_std", "ssim_mean", "runtime_s_mean"):
        assert column in summary.columns
    dip = summary[summary["label"] == "dip"].iloc[0]
    # per image means 31.1, 30.1, 29.1 -> 30.1
    assert dip["psnr_mean"] == pytest.approx(30.1)
    assert dip["psnr_count"] == 6 and dip["n_images"] == 3 and dip["n_seeds"] == 2
    # per-seed dataset means 30.0 and 30.2 -> std (ddof 1) = 0.1 * sqrt(2)
    assert dip["psnr_seed_std"] == pytest.approx(0.2 / np.sqrt(2))
    assert dip["psnr_std"] == pytest.approx(np.std([psnr_of("dip", i, s) for i in IMAGES for s in SEEDS], ddof=1))
    assert dip["runtime_s_mean"] == pytest.approx(2.5)


def test_write_tables(tmp_path):
    df = load_records(make_records(tmp_path))
    paths = write_tables(df, tmp_path / "out")
    assert paths["runs"] == tmp_path / "out" / "tables" / "runs.csv"
    runs = pd.read_csv(paths["runs"])
    summary = pd.read_csv(paths["summary"])
    assert len(runs) == 18 and list(runs.columns[:3]) == ["experiment", "task", "task_slug"]
    assert len(summary) == 3 and "psnr_mean" in summary.columns
    first = paths["runs"].read_bytes()
    write_tables(df, tmp_path / "out")
    assert paths["runs"].read_bytes() == first  # stable bytes
    assert not list((tmp_path / "out" / "tables").glob(".*.part"))


def test_empty():
    df = records_frame([])
    assert list(df.columns) == RECORD_COLUMNS
    assert summarize(df).empty and average_seeds(df).empty
