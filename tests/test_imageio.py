import os

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


# ---------------------------------------------------------------- files that hang, loop, rotate or saturate
def test_a_named_pipe_is_refused_at_once(tmp_path):
    import threading

    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    outcome = []
    reader = threading.Thread(target=lambda: outcome.append(_error_of(fifo)), daemon=True)
    reader.start()
    reader.join(10)  # opening a FIFO with no writer blocks forever
    assert not reader.is_alive(), "reading a named pipe hung"
    assert "not a regular file (a named pipe" in outcome[0]


def _error_of(path):
    try:
        read_image(path)
    except ImageError as error:
        return str(error)
    return "read"


def test_a_symlink_loop_and_a_dangling_link_are_one_line(tmp_path):
    (tmp_path / "a.png").symlink_to(tmp_path / "b.png")
    (tmp_path / "b.png").symlink_to(tmp_path / "a.png")
    with pytest.raises(ImageError, match="a loop of symbolic links"):
        read_image(tmp_path / "a.png")
    (tmp_path / "dangling.png").symlink_to(tmp_path / "nowhere.png")
    with pytest.raises(ImageError, match="not found"):
        read_image(tmp_path / "dangling.png")
    with pytest.raises(ImageError, match="it is a folder"):
        read_image(tmp_path)


def test_the_exif_orientation_is_applied_and_reported(tmp_path):
    stored = np.zeros((32, 64, 3), dtype=np.uint8)  # landscape as stored, red at the top-left
    stored[:16, :16] = [255, 0, 0]
    pil = Image.fromarray(stored)
    exif = pil.getexif()
    exif[0x0112] = 6  # the camera was held rotated: show it turned 90 degrees clockwise
    pil.save(tmp_path / "photo.jpg", exif=exif, quality=100)
    info = {}
    image = read_image(tmp_path / "photo.jpg", info=info)
    assert info["exif_orientation"] == 6 and image.shape == (64, 32, 3)  # upright: portrait
    assert image[4:12, -12:-4, 0].mean() > 0.9 and image[4:12, 4:12, 0].mean() < 0.1  # top-left went top-right
    plain = tmp_path / "plain.jpg"
    pil.save(plain, quality=100)
    info = {}
    assert read_image(plain, info=info).shape == (32, 64, 3) and info["exif_orientation"] == 1


def test_integer_images_are_scaled_by_their_dtype(tmp_path):
    tifffile = pytest.importorskip("tifffile")
    signed = np.array([[0, 2**30], [2**31 - 1, 2**20]], dtype=np.int32)
    Image.fromarray(signed).save(tmp_path / "i32.tif")  # PIL writes SampleFormat 2 (signed)
    info = {}
    np.testing.assert_allclose(read_image(tmp_path / "i32.tif", info=info)[..., 0],
                               signed / (2**31 - 1), rtol=1e-6)
    assert info["bits"] == 32
    unsigned = np.array([[0, 2**31], [2**32 - 1, 7]], dtype=np.uint32)
    tifffile.imwrite(tmp_path / "u32.tif", unsigned)
    np.testing.assert_allclose(read_image(tmp_path / "u32.tif")[..., 0], unsigned / (2**32 - 1), rtol=1e-6)
    sixteen = np.array([[0, 32768, 65535]], dtype=np.uint16)
    tifffile.imwrite(tmp_path / "u16.tif", sixteen)
    Image.fromarray(sixteen).save(tmp_path / "u16.png")
    for name in ("u16.tif", "u16.png"):
        np.testing.assert_allclose(read_image(tmp_path / name)[..., 0], sixteen / 65535, rtol=1e-6)
    Image.fromarray(np.array([[-5, 3]], dtype=np.int32)).save(tmp_path / "neg.tif")
    with pytest.raises(ImageError, match="negative values"):
        read_image(tmp_path / "neg.tif")
    Image.fromarray(np.array([[np.nan, 0.5]], dtype=np.float32)).save(tmp_path / "nan.tif")
    with pytest.raises(ImageError, match="NaN or infinite"):
        read_image(tmp_path / "nan.tif")
