"""PSNR and SSIM under named evaluation protocols, as a registry.

A protocol fixes everything that changes a number: which pixels (crop, shave), which channel (RGB, Y,
gray), which range (peak 1 or 255, rounding) and how SSIM is windowed. Every result records its protocol.

"sr" below means every task whose output is larger than its input (``Task.upscales``).

``dip_paper`` (the DIP paper's numbers, docs/protocol.md section 5):
    sr       the prediction is pasted into a black canvas of the ground truth's size; PSNR on Y (BT.601,
             studio range, peak 1) over the centre crop of the ground truth to a multiple of 32, shaved by
             4 px at top/left and 5 px at bottom/right; gray images are replicated to RGB first.
    denoise  PSNR on all channels of the full image, peak 1.
    inpaint  PSNR on the full image (gray, or all channels for colour), peak 1.
``basicsr`` (the modern SR convention, BasicSR's ``calculate_psnr``/``calculate_ssim``):
    images rounded to uint8; for sr, ``scale`` px of border cropped from the restored box, PSNR/SSIM on Y
    in 0-255 (16-235); for other tasks, all channels. SSIM: Gaussian window sigma 1.5 (11x11), population
    covariance, data range 255.
SSIM under ``dip_paper`` uses the same window on the same pixels and channel as its PSNR, data range 1.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..errors import ConfigError, ImageError
from ..imaging.color import rgb_to_y
from ..imaging.geometry import Box, center_box, paste
from ..imaging.io import as_hwc
from ..tasks import get_task_class
from .measures import psnr, ssim
from .registry import PROTOCOL_METRICS, Scored, extra_scores

#: A protocol: (ground truth, prediction on ``target``, upscaling task?, scale, target) -> its named metrics,
#: ``{"psnr": dB, "ssim": float}`` (the registry's protocol-owned metrics, :mod:`.registry`).
ProtocolFunction = Callable[[np.ndarray, np.ndarray, bool, "int | None", Box], "dict[str, float]"]
_PROTOCOLS: dict[str, ProtocolFunction] = {}


def register_protocol(name: str) -> Callable[[ProtocolFunction], ProtocolFunction]:
    """Decorator: register a protocol function under ``name`` (a second one under the same name is an error)."""
    def decorate(function: ProtocolFunction) -> ProtocolFunction:
        if name in _PROTOCOLS and _PROTOCOLS[name] is not function:
            raise ConfigError(f"metric protocol {name!r} is registered twice")
        _PROTOCOLS[name] = function
        return function
    return decorate


def protocol_names() -> list[str]:
    """The registered protocols, in registration order (``dip_paper`` first)."""
    return list(_PROTOCOLS)
#: The DIP evaluation script's shave of the centre-32 box: (top, left, bottom, right) in pixels.
DIP_SR_SHAVE = (4, 4, 5, 5)


def dip_sr_region(height: int, width: int) -> Box:
    """The pixels the DIP paper scored for SR: the centre 32-multiple crop, shaved 4 px top/left, 5 bottom/right."""
    box = center_box(height, width, 32)
    top, left, bottom, right = DIP_SR_SHAVE
    if box.height <= top + bottom or box.width <= left + right:
        raise ImageError(f"image of {width}x{height} px is too small for the dip_paper SR protocol")
    return Box(box.top + top, box.left + left, box.height - top - bottom, box.width - left - right)


def score(
    gt: np.ndarray,
    pred: np.ndarray,
    task: str,
    protocol: str = "dip_paper",
    scale: int | None = None,
    target: Box | None = None,
    convert_channels: bool = False,
    mask: np.ndarray | None = None,
) -> dict[str, float | str]:
    """Score a restored image against its ground truth with every registered metric (:mod:`.registry`).

    gt: the prepared ground truth (H, W, C) in [0, 1] (for SR, already modcropped to the scale).
    pred: the restored image covering ``target`` (default: the whole ground truth), (h, w, C) in [0, 1].
    convert_channels: a gray image against an RGB one is refused unless true (then the gray one is
    replicated to RGB). mask: the observation's mask ((H, W, 1), non-zero = known), for the metrics that
    need one. Returns ``{"psnr": dB, "ssim": float, <other metrics that apply>: float, "protocol": name}``.
    """
    if protocol not in _PROTOCOLS:
        raise ConfigError(f"unknown metric protocol {protocol!r}; known: {', '.join(_PROTOCOLS)}")
    upscales = get_task_class(task).upscales
    gt, pred = as_hwc(gt), as_hwc(pred)
    if target is None:
        target = Box(0, 0, gt.shape[0], gt.shape[1])
    if pred.shape[:2] != (target.height, target.width):
        raise ImageError(
            f"restored image is {pred.shape[1]}x{pred.shape[0]} px, expected {target.width}x{target.height} px"
        )
    if pred.shape[2] != gt.shape[2]:
        if not convert_channels:
            raise ImageError(f"the ground truth has {gt.shape[2]} channel(s) and the restored image "
                             f"{pred.shape[2]}: score them only after converting one (convert_channels, "
                             "`dipbench score --convert`)")
        if pred.shape[2] == 1:
            pred = np.repeat(pred, 3, axis=2)
        else:
            gt = np.repeat(gt, 3, axis=2)
    if upscales and scale is None:
        raise ConfigError(f"the {task} task needs a scale to be scored")
    if mask is not None and as_hwc(mask).shape[:2] != gt.shape[:2]:
        raise ImageError(f"the mask is {as_hwc(mask).shape[1]}x{as_hwc(mask).shape[0]} px, the ground truth "
                         f"{gt.shape[1]}x{gt.shape[0]} px: they must match")
    own = _PROTOCOLS[protocol](gt, pred, upscales, scale, target)
    if set(own) != set(PROTOCOL_METRICS):
        raise ConfigError(f"metric protocol {protocol!r} returned {sorted(own)}, not {list(PROTOCOL_METRICS)}")
    extra = extra_scores(Scored(gt, pred, target, upscales, scale, protocol, None if mask is None else as_hwc(mask)))
    return {**{name: float(own[name]) for name in PROTOCOL_METRICS}, **extra, "protocol": protocol}


@register_protocol("dip_paper")
def _dip_paper(gt, pred, upscales, scale, target):
    if upscales:
        canvas = paste(gt.shape, pred, target)
        region = dip_sr_region(gt.shape[0], gt.shape[1])
        if not _contains(target, region):
            raise ImageError("the restored box does not cover the dip_paper SR evaluation region")
        a, b = rgb_to_y(region.slice(gt)), rgb_to_y(region.slice(canvas))
    else:
        a, b = target.slice(gt), pred
    return {"psnr": psnr(a, b, 1.0), "ssim": ssim(a, b, 1.0)}


@register_protocol("basicsr")
def _basicsr(gt, pred, upscales, scale, target):
    gt8 = np.rint(target.slice(gt).astype(np.float64) * 255.0)
    pred8 = np.rint(np.clip(pred.astype(np.float64), 0, 1) * 255.0)
    if upscales:
        border = scale
        gt8, pred8 = gt8[border:-border, border:-border], pred8[border:-border, border:-border]
        gt8, pred8 = rgb_to_y(gt8 / 255.0) * 255.0, rgb_to_y(pred8 / 255.0) * 255.0
    return {"psnr": psnr(gt8, pred8, 255.0), "ssim": ssim(gt8, pred8, 255.0)}


def _contains(outer: Box, inner: Box) -> bool:
    return (
        outer.top <= inner.top
        and outer.left <= inner.left
        and inner.top + inner.height <= outer.top + outer.height
        and inner.left + inner.width <= outer.left + outer.width
    )

