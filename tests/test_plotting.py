"""Figures are written, non-empty, and the automatic crop finds the textured patch."""

import numpy as np
import pandas as pd
import pytest

from dipbench.imaging.io import write_png
from dipbench.report.comparison_figures import comparison_plot
from dipbench.report.curve_figures import learning_curves
from dipbench.report.visual_grid import auto_crop_box, visual_grid, visual_panels
from dipbench.report.records import records_frame

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def make_df(seeds=(0, 1)):
    rows = []
    for m, base in {"dip": 30.0, "bm3d": 31.0, "published:bicubic": 28.0}.items():
        for i, image in enumerate(["baby", "bird", "head"]):
            for seed in seeds:
                rows.append({
                    "experiment": "sr_x4", "task": "sr", "task_slug": "sr_crop_multiple32_lr_kernellanczos_scale4",
                    "dataset": "set5", "image": image, "method": m.split(":")[-1], "label": m, "seed": seed,
                    "psnr": base + i * 0.5 + 0.1 * seed, "ssim": 0.8, "protocol": "dip_paper",
                })
    return records_frame(rows)


def is_png(path):
    return path.exists() and path.stat().st_size > 1000 and path.read_bytes()[:8] == PNG_MAGIC


def test_comparison_plot(tmp_path):
    paths = comparison_plot(make_df(), "sr_x4", "set5", tmp_path / "cmp.png", pdf=True)
    assert is_png(tmp_path / "cmp.png") and (tmp_path / "cmp.pdf").stat().st_size > 0
    assert len(paths) == 2
    with pytest.raises(ValueError):
        comparison_plot(make_df(), "nope", "set5", tmp_path / "x.png")


def test_learning_curves(tmp_path):
    steps = np.arange(200)
    psnr = np.where(steps % 10 == 0, 25 + steps / 50.0, np.nan)
    curves = {
        f"dip / baby / seed {s}": pd.DataFrame(
            {"step": steps, "loss": 0.01 * np.exp(-steps / 80) + 1e-3, "psnr": psnr + s, "psnr_ema": psnr + s + 0.3}
        )
        for s in (0, 1)
    }
    curves["no psnr"] = pd.DataFrame({"step": steps, "loss": np.linspace(1, 0.1, 200)})
    learning_curves(curves, tmp_path / "curves.png", "test", es_steps={"dip / baby / seed 0": 60},
                    stop_steps={"dip / baby / seed 0": 95})
    assert is_png(tmp_path / "curves.png") and (tmp_path / "curves.pdf").stat().st_size > 0


def test_auto_crop_box_finds_texture():
    image = np.full((64, 96, 3), 0.5, np.float32)
    image[40:56, 60:76] = np.random.default_rng(0).random((16, 16, 3))
    top, left, h, w = auto_crop_box(image, size=16)
    assert (h, w) == (16, 16)
    assert abs(top - 40) <= 4 and abs(left - 60) <= 4


def test_visual_grid_mixed_sizes(tmp_path):
    rng = np.random.default_rng(0)
    gt = rng.random((64, 64, 3)).astype(np.float32)
    lr = gt[::4, ::4]
    gray = gt[..., :1]
    visual_grid([("ground truth", gt), ("input (LR)", lr), ("dip\n30.00 dB", gray)], tmp_path / "grid.png")
    assert is_png(tmp_path / "grid.png")


def test_visual_panels_from_records(tmp_path):
    from dipbench.tasks import make_task

    rng = np.random.default_rng(0)
    task = make_task("denoise", sigma=25.0)
    gt = rng.random((32, 32, 3)).astype(np.float32)
    obs = task.degrade(gt, rng)
    obs.save(tmp_path / "obs.npz")
    write_png(tmp_path / "dip.png", gt)
    df = records_frame([{
        "experiment": "d", "task": "denoise", "dataset": "ds", "image": "im", "method": "dip", "label": "dip",
        "seed": 0, "psnr": 31.5, "input_psnr": 20.2, "observation": "obs.npz", "restored": "dip.png",
    }])
    panels = visual_panels(df, tmp_path, "im")
    assert [p.title for p in panels] == ["ground truth", "input\n20.20 dB", "dip\n31.50 dB"]
    assert panels.note == "" and all(p.missing is None for p in panels)
    visual_grid(panels, tmp_path / "grid.png", crop_box=(0, 0, 8, 8))
    assert is_png(tmp_path / "grid.png")
