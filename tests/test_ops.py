import numpy as np
import pytest
import torch

from dipbench.imaging.operators import LanczosDownsampler
from dipbench.imaging.color import rgb_to_y
from dipbench.imaging.geometry import center_box, modcrop
from dipbench.imaging.resize import lanczos2_kernel


@pytest.mark.parametrize("factor, size", [(4, 16), (8, 32), (2, 8)])
def test_lanczos2_kernel_shape_sum_symmetry(factor, size):
    kernel = lanczos2_kernel(factor)
    assert kernel.shape == (size, size)
    assert kernel.sum() == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(kernel, kernel.T)
    np.testing.assert_allclose(kernel, kernel[::-1, ::-1])


def test_lanczos2_kernel_taps_match_formula():
    # 1-D tap j at t = |j + 0.5 - 2s| / s weighs sinc(t) sinc(t/2); the centre taps of x4 are at t = 1/8.
    kernel = lanczos2_kernel(4)
    taps = kernel.sum(axis=0)
    t = np.abs(np.arange(16) + 0.5 - 8) / 4
    expected = np.sinc(t) * np.sinc(t / 2)
    np.testing.assert_allclose(taps, expected / expected.sum(), rtol=1e-12)
    assert taps[7] == taps[8] == taps.max()


def test_downsampler_shape_and_constant_preserved():
    down = LanczosDownsampler(4)
    x = torch.full((1, 3, 64, 48), 0.3)
    y = down(x)
    assert y.shape == (1, 3, 16, 12)
    torch.testing.assert_close(y, torch.full_like(y, 0.3))


def test_y_of_white_and_black():
    white = np.ones((2, 2, 3))
    black = np.zeros((2, 2, 3))
    np.testing.assert_allclose(rgb_to_y(white), 235 / 255)
    np.testing.assert_allclose(rgb_to_y(black), 16 / 255)
    # pure red: 0.299 * 219/255 + 16/255
    red = np.zeros((1, 1, 3)); red[..., 0] = 1
    np.testing.assert_allclose(rgb_to_y(red), (0.299 * 219 + 16) / 255)


def test_modcrop_and_center_box():
    image = np.zeros((103, 130, 3))
    assert modcrop(image, 4).shape == (100, 128, 3)
    box = center_box(100, 130, 32)
    assert box == (2, 1, 96, 128)
