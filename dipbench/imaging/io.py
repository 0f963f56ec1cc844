"""Reading and writing images as float arrays.

Convention everywhere in dipbench: an image is a numpy array of shape (H, W, C), dtype float32, values in
[0, 1], with C = 1 (gray) or 3 (RGB). Integer files map v -> v / (the largest value of their dtype): 8-bit
v / 255, 16-bit v / 65535, 32-bit v / (2^32 - 1), or / (2^31 - 1) where the file says signed (a negative
value is refused). Float files (PIL mode F) are clipped to [0, 1]; NaN or infinite pixels are refused. The
EXIF orientation of a photo is applied (a camera's portrait JPEG reads upright). Only regular files are
read: a named pipe, device or socket, or a symbolic-link loop, is one :class:`ImageError` at once.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ..atomic import atomic_open
from ..errors import ConfigError, ImageError

Mode = Literal["any", "rgb", "gray", "to_rgb", "to_gray"]


def read_image(path: str | os.PathLike, mode: Mode = "any", info: dict | None = None) -> np.ndarray:
    """Read an image file as (H, W, C) float32 in [0, 1] (integer files scaled by their dtype's range, see
    the module docstring), upright by its EXIF orientation.

    mode: ``any`` keeps 1 or 3 channels as stored (an RGB file whose channels are all equal stays RGB);
    ``rgb`` / ``gray`` demand that kind and raise :class:`ImageError` otherwise; ``to_rgb`` replicates a
    gray image to 3 channels; ``to_gray`` takes a gray image, or the first channel of an RGB file with equal
    channels. Alpha channels are dropped; palette images are converted to RGB.
    info: a dict that receives ``exif_orientation`` (1-8; 1 = as stored) and ``bits`` (per sample).
    """
    path = Path(path)
    _check_regular_file(path)
    try:
        with Image.open(path) as pil:
            pil.load()
            orientation = int(pil.getexif().get(ORIENTATION_TAG, 1) or 1)
            upright = ImageOps.exif_transpose(pil) if orientation != 1 else pil
            array, bits = _pil_to_float(upright, source=pil)
    except ImageError:
        raise
    except FileNotFoundError:
        raise ImageError(f"image file not found: {path}") from None
    except Image.DecompressionBombError as exc:
        raise ImageError(f"image {path} is too large to decode safely ({exc})") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ImageError(f"cannot read image {path}: {exc}") from None
    if info is not None:
        info.update(exif_orientation=orientation, bits=bits)
    return convert_channels(array, mode, source=str(path))


#: The EXIF tag that says how a camera held the picture (1 = as stored, 6 = rotate 90 degrees clockwise, ...).
ORIENTATION_TAG = 0x0112


def _check_regular_file(path: Path) -> None:
    """Refuse at once what would hang or loop: a named pipe, device or socket; a symbolic-link loop."""
    try:
        status = os.stat(path)
    except FileNotFoundError:
        raise ImageError(f"image file not found: {path}") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ImageError(f"cannot read image {path}: a loop of symbolic links") from None
        raise ImageError(f"cannot read image {path}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(status.st_mode):
        raise ImageError(f"cannot read image {path}: it is a folder")
    if not stat.S_ISREG(status.st_mode):
        raise ImageError(f"cannot read image {path}: not a regular file (a named pipe, device or socket)")


def _integer_kind(pil: Image.Image) -> tuple[int, bool]:
    """(bits per sample, signed) of an integer-mode ("I", "I;16...") image: a TIFF's own tags say; a PNG's
    deep gray is 16-bit unsigned; any other "I" image is taken as signed 32-bit."""
    tags = getattr(pil, "tag_v2", None)
    if tags is not None and 258 in tags:
        return int(tags[258][0]), int((tags.get(339) or (1,))[0]) == 2
    if pil.mode.startswith("I;16") or pil.format == "PNG":
        return 16, False
    return 32, True


def _pil_to_float(pil: Image.Image, source: Image.Image | None = None) -> tuple[np.ndarray, int]:
    """(H, W, C) float32 in [0, 1] and the bits per sample; ``source`` is the file's image before
    orientation (its tags say the integer dtype)."""
    if pil.mode.startswith("I"):
        bits, signed = _integer_kind(source or pil)
        raw = np.asarray(pil)
        if not signed and raw.dtype == np.int32:
            raw = raw.view(np.uint32)  # PIL keeps 32-bit samples in int32: read unsigned ones as such
        if signed and int(raw.min(initial=0)) < 0:
            raise ImageError(f"{getattr(source or pil, 'filename', 'image')}: signed {bits}-bit image with "
                             "negative values; give intensities from 0 up")
        top = float(2 ** (bits - 1) - 1 if signed else 2**bits - 1)
        return (raw.astype(np.float64) / top)[..., None].astype(np.float32), bits
    if pil.mode == "F":
        array = np.asarray(pil, dtype=np.float32)
        if not np.isfinite(array).all():
            raise ImageError(f"{getattr(source or pil, 'filename', 'image')}: floating-point image with NaN or "
                             "infinite pixels")
        return np.clip(array, 0, 1)[..., None], 32
    if pil.mode in ("1", "L", "LA"):
        pil = pil.convert("L")
    elif pil.mode != "RGB":
        pil = pil.convert("RGB")
    array = np.asarray(pil, dtype=np.float32) / 255.0
    return (array[..., None] if array.ndim == 2 else array), 8


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
