import numpy as np
import pytest
from PIL import Image

from dipbench.errors import ImageError
from dipbench.imaging.io import read_image, to_uint8, write_png


def test_png_round_trip_is_exact_for_8bit_values(tmp_path):
    image = np.random.default_rng(0).integers(0, 256, (5, 7, 3)).astype(np.float32) / 255
    write_png(tmp_path / "a.png", image)
    np.testing.assert_array_equal(read_image(tmp_path / "a.png"), image)


def test_modes(tmp_path):
    gray = np.linspace(0, 1, 12, dtype=np.float32).reshape(3, 4, 1)
    write_png(tmp_path / "g.png", gray)
    with pytest.raises(ImageError, match="expected an RGB image, got 1 channel"):
        read_image(tmp_path / "g.png", "rgb")
    assert read_image(tmp_path / "g.png", "to_rgb").shape == (3, 4, 3)
    colour = np.zeros((3, 4, 3), dtype=np.float32); colour[..., 0] = 1
    write_png(tmp_path / "c.png", colour)
    with pytest.raises(ImageError, match="colour RGB image"):
        read_image(tmp_path / "c.png", "to_gray")
    write_png(tmp_path / "e.png", np.repeat(gray, 3, axis=2))  # an RGB file with equal channels
    assert read_image(tmp_path / "e.png", "to_gray").shape == (3, 4, 1)


def test_truncated_and_missing_files_are_clear(tmp_path):
    write_png(tmp_path / "a.png", np.zeros((32, 32, 3)))
    data = (tmp_path / "a.png").read_bytes()
    (tmp_path / "t.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageError, match="cannot read image"):
        read_image(tmp_path / "t.png")
    with pytest.raises(ImageError, match="not found"):
        read_image(tmp_path / "missing.png")


def test_16bit_and_rounding(tmp_path):
    Image.fromarray(np.full((2, 2), 65535, dtype=np.uint16)).save(tmp_path / "w16.png")
    assert read_image(tmp_path / "w16.png").max() == pytest.approx(1.0)
    assert to_uint8(np.array([0.5 / 255, 1.5 / 255, 2.0])).tolist() == [0, 2, 255]
