"""The command line: one-line errors for bad input, restore and score on small files."""

import numpy as np
import pytest

from dipbench.cli import main
from dipbench.imaging.io import read_image, write_png

TINY_DIP = ["--steps", "4", "--param", "channels=8", "--param", "scales=3", "--param", "input_depth=4",
            "--param", "log_every=2", "--quiet"]


@pytest.fixture
def clean_png(tmp_path, smooth_rgb):
    path = tmp_path / "clean.png"
    write_png(path, smooth_rgb)
    return path


def _one_line_error(capsys):
    err = capsys.readouterr().err.strip()
    assert err.startswith("dipbench: error:") and "\n" not in err and "Traceback" not in err
    return err


def test_restore_simulated_denoise_writes_image_curve_and_psnr(tmp_path, clean_png, capsys):
    out = tmp_path / "out.png"
    assert main(["restore", str(clean_png), "--task", "denoise", "--simulate", "-o", str(out), *TINY_DIP]) == 0
    printed = capsys.readouterr().out
    assert "PSNR" in printed
    assert read_image(out).shape == (64, 64, 3)
    assert out.with_suffix(".curve.csv").is_file() and out.with_suffix(".curve.png").stat().st_size > 0


def test_restore_real_lr_image_upscales(tmp_path, smooth_rgb, capsys):
    lr = tmp_path / "lr.png"
    write_png(lr, smooth_rgb[::4, ::4])
    out = tmp_path / "sr.png"
    assert main(["restore", str(lr), "--task", "sr", "--scale", "4", "--method", "bicubic", "-o", str(out)]) == 0
    assert read_image(out).shape == (64, 64, 3)


def test_score_prints_psnr(tmp_path, clean_png, smooth_rgb, capsys):
    noisy = tmp_path / "noisy.png"
    write_png(noisy, np.clip(smooth_rgb + 0.1, 0, 1))
    assert main(["score", "--gt", str(clean_png), "--pred", str(noisy), "--task", "denoise"]) == 0
    assert "PSNR" in capsys.readouterr().out


def test_unreadable_image_is_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not a png")
    assert main(["restore", str(bad), "--task", "denoise", "-o", str(tmp_path / "o.png")]) == 1
    assert "cannot read image" in _one_line_error(capsys)


def test_mask_size_mismatch_is_one_line(tmp_path, clean_png, capsys):
    mask = tmp_path / "mask.png"
    write_png(mask, np.ones((10, 12, 1)))
    assert main(["restore", str(clean_png), "--task", "inpaint", "--mask", str(mask), "-o", str(tmp_path / "o.png")]) == 1
    assert "mask" in _one_line_error(capsys)


def test_unknown_method_is_one_line(tmp_path, clean_png, capsys):
    assert main(["restore", str(clean_png), "--task", "denoise", "--method", "dpi", "-o", str(tmp_path / "o.png")]) == 2
    assert "unknown method 'dpi'" in _one_line_error(capsys)
