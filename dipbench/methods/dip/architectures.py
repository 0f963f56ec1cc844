"""The DIP authors' skip networks, by experiment (docs/protocol.md sections 2 and 9).

Each entry is the :class:`~.network.SkipNet` layout one of the paper's experiments used (the input and
output channel counts come from the input kind and the image); DIP's ``network`` parameter names one, and
``"auto"`` takes the one of the task's experiment (:mod:`.settings`). The parameter counts
below were measured on the authors' code and are pinned in tests/test_architectures.py.
"""

from __future__ import annotations

from typing import Any

from ...errors import ConfigError
from .network import per_scale

_PAPER = {"down": (128,) * 5, "up": (128,) * 5, "skip": (4,) * 5, "upsample_mode": "bilinear"}
_PYRAMID5 = (16, 32, 64, 128, 128)
_PYRAMID6 = (16, 32, 64, 128, 128, 128)

#: name -> SkipNet keyword arguments (one value for all scales, or one per scale).
ARCHITECTURES: dict[str, dict[str, Any]] = {
    # every quantitative experiment (section 2): 2,217,831 parameters for 32 -> 3 channels
    "default": _PAPER,
    # text inpainting (fig. 7): 128-channel skips, nearest upsampling; 3,002,627 for 32 -> 3
    "text_inpainting": {**_PAPER, "skip": (128,) * 5, "upsample_mode": "nearest"},
    # region inpainting of the vase (fig. 6): no skips, nearest upsampling; 2,157,955 for 2 -> 3 (meshgrid)
    "region_inpainting": {**_PAPER, "skip": (0,) * 5, "upsample_mode": "nearest"},
    # large holes (fig. 8): 6 scales 16..128, no skips, 5x5 down / 3x3 up, no 1x1 up; 2,996,467 for 1 -> 3
    "large_holes": {"down": _PYRAMID6, "up": _PYRAMID6, "skip": (0,) * 6, "kernel_down": 5, "kernel_up": 3,
                    "upsample_mode": "nearest", "need1x1_up": False},
    # 2%-pixel restoration (supplement): 5 scales 16..128, no skips, bilinear, average-pool downsampling
    "sparse_pixels": {"down": _PYRAMID5, "up": _PYRAMID5, "skip": (0,) * 5, "upsample_mode": "bilinear",
                      "downsample_mode": "avg"},
    # JPEG artefact removal (fig. 3): 8..128 channels, skips only at the two coarsest scales; 572,827 for 3 -> 3
    "jpeg": {"down": (8, 16, 32, 64, 128), "up": (8, 16, 32, 64, 128), "skip": (0, 0, 0, 4, 4),
             "upsample_mode": "bilinear"},
    # flash / no-flash (fig. 10): the paper's network, nearest upsampling at the two finest scales;
    # 2,184,307 for 3 -> 3 (the flash image as input)
    "flash": {**_PAPER, "upsample_mode": ("nearest", "nearest", "bilinear", "bilinear", "bilinear")},
    # natural pre-image (fig. 9): 6 scales, 7/5/3 kernels, nearest up, average-pool down, zero padding
    "feature_inversion": {"down": _PYRAMID6, "up": _PYRAMID6, "skip": (4,) * 6,
                          "kernel_down": (7, 7, 5, 5, 3, 3), "kernel_up": (7, 7, 5, 5, 3, 3),
                          "upsample_mode": "nearest", "downsample_mode": "avg", "padding": "zero"},
}

_PER_SCALE = ("down", "up", "skip", "kernel_down", "kernel_up", "upsample_mode")


def architecture(name: str) -> dict[str, Any]:
    """The SkipNet keyword arguments of a named network; a :class:`ConfigError` names the known ones."""
    if name not in ARCHITECTURES:
        raise ConfigError(f"unknown DIP network {name!r}; known: {', '.join(ARCHITECTURES)}")
    return dict(ARCHITECTURES[name])


def layout(name: str, scales: int | str = "auto", channels: int | str = "auto",
           skip_channels: int | str = "auto") -> dict[str, Any]:
    """A named network, optionally reshaped: ``scales`` keeps the first (or repeats the last) per-scale
    values; ``channels`` / ``skip_channels`` set every scale's width. ``"auto"`` keeps the network's."""
    spec = architecture(name)
    depth = len(spec["down"]) if scales == "auto" else int(scales)
    for key in _PER_SCALE:
        if key in spec and not isinstance(spec[key], (str, int)):
            values = tuple(spec[key])
            spec[key] = (values + (values[-1],) * depth)[:depth]
    if channels != "auto":
        spec["down"] = spec["up"] = (int(channels),) * depth
    if skip_channels != "auto":
        spec["skip"] = (int(skip_channels),) * depth
    return spec


def scale_count(name: str, scales: int | str = "auto") -> int:
    """How many scales the network has (``scales`` overrides the named network's)."""
    return len(architecture(name)["down"]) if scales == "auto" else int(scales)


def min_side(spec: dict[str, Any]) -> int:
    """The smallest image side (px) a layout runs on: reflection padding of (k - 1) / 2 needs more pixels
    than that at every resolution it pads, and the deepest level keeps at least 2 px per side for
    BatchNorm's batch statistics (33 px for the paper's network, 129 for the large-hole one)."""
    scales = len(spec["down"])
    reflect = spec.get("padding", "reflection") == "reflection"
    pads = [(k - 1) // 2 if reflect else 0 for k in per_scale(spec.get("kernel_down", 3), scales, "kernel_down")]
    ups = [(k - 1) // 2 if reflect else 0 for k in per_scale(spec.get("kernel_up", 3), scales, "kernel_up")]
    pooled = spec.get("downsample_mode") == "avg"
    for side in range(2, 1 << 16):
        # stride-2 conv: ceil(s / 2); average pooling: the input padded to a multiple of 2^scales, halved
        sizes = [side + (-side % 2 ** scales if pooled else 0)]
        for _ in range(scales):
            sizes.append(sizes[-1] // 2 if pooled else -(-sizes[-1] // 2))
        if sizes[-1] >= 2 and all(sizes[i] > pads[i] and sizes[i + 1] > max(pads[i], ups[i]) for i in range(scales)):
            return side
    raise ValueError("no image side fits this layout")

