import math

import numpy as np
import pytest

from dipbench.errors import ConfigError, ImageError
from dipbench.imaging.io import read_image
from dipbench.metrics import dip_sr_region, psnr, score


def test_psnr_hand_computed():
    a = np.zeros((4, 4))
    b = np.zeros((4, 4)); b[0, 0] = 0.4  # MSE = 0.16 / 16 = 0.01 -> 20 dB
    assert psnr(a, b) == pytest.approx(20.0)
    assert psnr(a * 255, b * 255, peak=255) == pytest.approx(20.0)
    assert psnr(a, a) == math.inf


def test_dip_sr_region_shaves_4_and_5():
    # 288x288 (bird, x4): centre 32-crop is the whole image; shave 4 top/left, 5 bottom/right.
    assert dip_sr_region(288, 288) == (4, 4, 279, 279)
    # 256x176 -> crop 256x160 centred at column 8
    assert dip_sr_region(256, 176) == (4, 12, 247, 151)


def test_unknown_protocol_and_shape_errors(smooth_rgb):
    with pytest.raises(ConfigError):
        score(smooth_rgb, smooth_rgb, "denoise", "nonsense")
    with pytest.raises(ImageError):
        score(smooth_rgb, smooth_rgb[:32], "denoise")


def test_basicsr_sr_crops_scale_border(smooth_rgb):
    pred = smooth_rgb.copy()
    pred[:4] = 0  # only the border that basicsr crops at x4 differs
    assert score(smooth_rgb, pred, "sr", "basicsr", scale=4)["psnr"] == math.inf


SR_EXPECTED = {  # (dataset, scale, published method) -> paper-protocol mean PSNR, docs/protocol.md section 6
    ("Set5", "x4", "deep_prior"): 29.90, ("Set5", "x4", "bicubic"): 28.44,
    ("Set14", "x4", "deep_prior"): 27.01, ("Set14", "x4", "bicubic"): 26.05,
    ("Set5", "x8", "deep_prior_005"): 25.89, ("Set14", "x8", "deep_prior_005"): 24.15,
    ("Set5", "x8", "bicubic"): 24.37, ("Set14", "x8", "bicubic"): 23.10,
}


@pytest.mark.parametrize("key", sorted(SR_EXPECTED))
def test_published_sr_scores_match_paper(shared, key):
    dataset, scale, method = key
    folder = shared / "dip_paper_outputs" / "SR" / dataset / scale
    names = sorted(p.name[: -len("_GT.png")] for p in folder.glob("*_GT.png"))
    values = [score(read_image(folder / f"{n}_GT.png", "to_rgb"), read_image(folder / f"{n}_{method}.png", "to_rgb"),
                    "sr", "dip_paper", scale=int(scale[1:]))["psnr"] for n in names]
    assert len(values) == (5 if dataset == "Set5" else 14)
    assert np.mean(values) == pytest.approx(SR_EXPECTED[key], abs=0.01)


@pytest.mark.parametrize("folder, mode, method, expected", [
    ("Denoising/Color/25", "to_rgb", "bm3d", 31.42), ("Denoising/Color/25", "to_rgb", "nlm", 30.23),
    ("Denoising/Color/25", "to_rgb", "deep_prior", 31.29),
    ("Reconstruction/Gray/50p", "to_gray", "deep_prior", 33.44), ("Reconstruction/Gray/50p", "to_gray", "papyan", 31.16),
])
def test_published_denoise_inpaint_scores_match_paper(shared, folder, mode, method, expected):
    root = shared / "dip_paper_outputs" / folder
    names = sorted(p.name[: -len("_GT.png")] for p in root.glob("*_GT.png"))
    task = "denoise" if folder.startswith("Denoising") else "inpaint"
    values = [score(read_image(root / f"{n}_GT.png", mode), read_image(root / f"{n}_{method}.png", mode), task)["psnr"]
              for n in names]
    assert len(values) == (9 if task == "denoise" else 11)
    assert np.mean(values) == pytest.approx(expected, abs=0.01)
