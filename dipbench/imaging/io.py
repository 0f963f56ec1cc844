"""Reading and writing images as float arrays.

Convention everywhere in dipbench: an image is a numpy array of shape (H, W, C), dtype float32, values in
[0, 1], with C = 1 (gray) or 3 (RGB). 8-bit files map v -> v / 255.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..atomic import atomic_open
from ..errors import ConfigError, ImageError

Mode = Literal["any", "rgb", "gray", "to_rgb", "to_gray"]


def read_image(path: str | os.PathLike, mode: Mode = "any") -> np.ndarray:
    """Read an 8-bit or 16-bit image file as (H, W, C) float32 in [0, 1].

    mode: ``any`` keeps 1 or 3 channels as stored (an RGB file whose channels are all equal stays RGB);
    ``rgb`` / ``gray`` demand that kind and raise :class:`ImageError` otherwise; ``to_rgb`` replicates a
    gray image to 3 channels; ``to_gray`` takes a gray image, or the first channel of an RGB file with equal
    channels. Alpha channels are dropped; palette images are converted to RGB.
    """
    path = Path(path)
    try:
        with Image.open(path) as pil:
            pil.load()
            array = _pil_to_float(pil)
    except FileNotFoundError:
        raise ImageError(f"image file not found: {path}") from None
    except Image.DecompressionBombError as exc:
        raise ImageError(f"image {path} is too large to decode safely ({exc})") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ImageError(f"cannot read image {path}: {exc}") from None
    return convert_channels(array, mode, source=str(path))


def _pil_to_float(pil: Image.Image) -> np.ndarray:
    if pil.mode in ("I;16", "I;16B", "I;16L", "I"):
        array = np.asarray(pil, dtype=np.float64) / 65535.0
        return array[..., None].astype(np.float32)
    if pil.mode == "F":
        return np.clip(np.asarray(pil, dtype=np.float32), 0, 1)[..., None]
    if pil.mode in ("1", "L", "LA"):
        pil = pil.convert("L")
    elif pil.mode != "RGB":
        pil = pil.convert("RGB")
    array = np.asarray(pil, dtype=np.float32) / 255.0
    return array[..., None] if array.ndim == 2 else array


def convert_channels(image: np.ndarray, mode: Mode, source: str = "image") -> np.ndarray:
    """Apply a :data:`Mode` to an (H, W, C) array (see :func:`read_image`)."""
    image = as_hwc(image)
    channels = image.shape[2]
    if mode == "any":
        return image
    if mode == "rgb":
        if channels != 3:
            raise ImageError(f"{source}: expected an RGB image, got {channels} channel(s)")
        return image
    if mode == "gray":
        if channels != 1:
            raise ImageError(f"{source}: expected a grayscale image, got {channels} channels")
        return image
    if mode == "to_rgb":
        return np.repeat(image, 3, axis=2) if channels == 1 else image
    if mode == "to_gray":
        if channels == 1:
            return image
        if not (np.array_equal(image[..., 0], image[..., 1]) and np.array_equal(image[..., 0], image[..., 2])):
            raise ImageError(f"{source}: expected a grayscale image, got a colour RGB image")
        return image[..., :1]
    raise ValueError(f"unknown mode {mode!r}")


def as_hwc(image: np.ndarray) -> np.ndarray:
    """Return ``image`` as float32 (H, W, C); a 2-D array gains a channel axis."""
    image = np.asarray(image, dtype=np.float32)
    if image.ndim == 2:
        image = image[..., None]
    if image.ndim != 3 or image.shape[2] not in (1, 3):
        raise ImageError(f"expected an (H, W, 1|3) image, got shape {image.shape}")
    return image


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Quantise [0, 1] floats to uint8 by rounding (values outside [0, 1] are clipped)."""
    return np.clip(np.rint(np.asarray(image, dtype=np.float64) * 255.0), 0, 255).astype(np.uint8)


#: Output formats by file extension: lossless only, so a written result scores as it was computed.
OUTPUT_FORMATS = {".png": "PNG", ".tif": "TIFF", ".tiff": "TIFF", ".bmp": "BMP", ".ppm": "PPM", ".pgm": "PPM"}


def output_format(path: str | os.PathLike) -> str:
    """The PIL format that the extension of ``path`` names; :class:`ConfigError` for a lossy or unknown one."""
    suffix = Path(path).suffix.lower()
    if suffix not in OUTPUT_FORMATS:
        raise ConfigError(f"cannot write {path}: use one of the lossless extensions "
                         f"{', '.join(OUTPUT_FORMATS)} (a lossy format would change the restored pixels)")
    return OUTPUT_FORMATS[suffix]


def write_image(path: str | os.PathLike, image: np.ndarray, fmt: str | None = None) -> None:
    """Write an (H, W, C) [0, 1] image with 8 bits per channel, atomically, in ``fmt`` (a PIL format name)
    or else the format the extension of ``path`` names (:func:`output_format`)."""
    fmt = fmt or output_format(path)
    data = to_uint8(as_hwc(image))
    pil = Image.fromarray(data[..., 0] if data.shape[2] == 1 else data)
    with atomic_open(path, "wb") as handle:
        pil.save(handle, format=fmt)


def write_png(path: str | os.PathLike, image: np.ndarray) -> None:
    """Write an (H, W, C) [0, 1] image as an 8-bit PNG, atomically (whatever the extension)."""
    write_image(path, image, "PNG")
