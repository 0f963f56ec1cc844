"""Classical baselines: the degraded input itself, bicubic upsampling, BM3D, non-local means, total variation,
and the paper's "TV prior" / "no prior" pixel optimisations for SR and inpainting.

Every method states its parameters in ``defaults`` / ``task_defaults``; tuned values say how they were
tuned in the class docstring. None of them looks at the ground truth.
"""

from __future__ import annotations

from importlib import metadata
from typing import Any

import numpy as np
import pandas as pd
import torch

from ..errors import ConfigError, DivergenceError
from ..imaging.io import as_hwc
from ..imaging.resize import imresize_matlab
from ..progress import progress_bar
from ..tasks import Observation, task_of
from .base import Method, Restoration, RunContext, require
from .params import Rule
from .device import resolve_device
from .divergence import loss_divergence
from .registry import register


def _sigma(obs: Observation, method: str, params: dict[str, Any] | None = None) -> float:
    """The noise level in 8-bit units: the task's ``sigma`` (denoising, flash / no-flash), else the method's
    ``sigma`` parameter (an assumed level, e.g. for JPEG artefacts); a clear error when neither is set."""
    sigma = (obs.task_params or {}).get("sigma", (params or {}).get("sigma"))
    if sigma is None:
        raise ConfigError(f"method {method!r} needs the noise level: the observation has no task parameter 'sigma' "
                          f"(give the method a `sigma` parameter)")
    try:
        sigma = float(sigma)
    except (TypeError, ValueError):
        raise ConfigError(f"method {method!r}: sigma must be a number, got {sigma!r}") from None
    if not sigma > 0:
        raise ConfigError(f"method {method!r}: sigma must be > 0, got {sigma}")
    return sigma


def _scale(obs: Observation, method: str) -> int:
    scale = (obs.task_params or {}).get("scale")
    if not isinstance(scale, int) or scale < 1:
        raise ConfigError(f"method {method!r} needs an integer task parameter 'scale', got {scale!r}")
    return scale


def _finish(image: np.ndarray, obs: Observation, method: str) -> np.ndarray:
    """Clip to [0, 1], make (H, W, C) float32 and check the shape against the target box."""
    image = as_hwc(np.clip(image, 0.0, 1.0))
    if image.shape != obs.output_shape:
        raise RuntimeError(f"method {method!r} produced shape {image.shape}, expected {obs.output_shape}")
    return np.ascontiguousarray(image, dtype=np.float32)


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "unknown"


@register
class Input(Method):
    """The degraded input as is: the "noisy input" / "masked input" reference row."""

    name = "input"
    seeded = False
    problems = ("denoising", "masked", "inversion")  # every task whose input is an image of the output's size
    version = "1"
    description = "the degraded input, unchanged"

    def restore(self, obs: Observation, ctx: RunContext) -> Restoration:
        return Restoration(_finish(obs.y, obs, self.name))


@register
class Bicubic(Method):
    """Bicubic upsampling of the LR image by the task's scale.

    ``kernel``: ``matlab`` (default): MATLAB ``imresize`` bicubic (:func:`dipbench.imaging.resize.imresize_matlab`),
    the convention of the paper's bicubic baseline and of later SR papers; ``pil``: PIL's BICUBIC filter, what
    DIP's notebook called bicubic (applied per channel in 32-bit float mode, so without 8-bit rounding).
    Output clipped to [0, 1]. Measured (x4, the paper's protocol, Y-PSNR on the centre 32-crop shaved 4/5 px):
    from MATLAB-bicubic LR of the modcrop, Set5 28.43 dB and Set14 26.04 dB (paper 28.43 / 26.05); from DIP's
    PIL-Lanczos LR, Set5 28.72 dB. ``matlab`` and ``pil`` differ only at the borders (Set5: 28.43 vs 28.43).
    """

    name = "bicubic"
    seeded = False
    problems = ("upscaling",)
    version = "1"
    defaults = {"kernel": "matlab"}
    kernels = ("matlab", "pil")
    param_rules = {"kernel": Rule(str, choices=kernels)}
    description = "bicubic upsampling (MATLAB imresize or PIL)"

    def restore(self, obs: Observation, ctx: RunContext) -> Restoration:
        kernel = self.params["kernel"]
        if kernel not in self.kernels:
            raise ConfigError(f"method 'bicubic': kernel must be one of {self.kernels}, got {kernel!r}")
        scale = _scale(obs, self.name)
        height, width, _ = obs.output_shape
        y = as_hwc(obs.y)
        if kernel == "matlab":
            out = imresize_matlab(y, float(scale))
        else:
            from PIL import Image

            channels = []
            for c in range(y.shape[2]):
                pil = Image.fromarray(np.ascontiguousarray(y[..., c], dtype=np.float32))
                channels.append(np.asarray(pil.resize((width, height), Image.Resampling.BICUBIC)))
            out = np.stack(channels, axis=2)
        return Restoration(_finish(out, obs, self.name), info={"kernel": kernel})


@register
class BM3D(Method):
    """BM3D (gray) / CBM3D (colour) from the ``bm3d`` package (Mäkinen, Azzari, Foi).

    ``sigma_psd = sigma / 255`` from the task; colour images use ``bm3d_rgb`` in the ``colorspace`` given
    (``opp``, the package default, or ``YCbCr``); ``profile`` is the package's profile name (``np`` default,
    ``refilter``, ``vn``, ``vn_old``, ``high``, ``deb``). The package is free for non-commercial use only.
    Measured: ``bm3d_rgb`` with these defaults on the DIP authors' published noisy inputs (sigma 25) gives
    31.49 dB mean over the 9 images (paper's CBM3D: 31.42); about 10 s for a 256x256 colour image and
    55-100 s for 512x512 / 768x512 on one core.

    Flash / no-flash: CBM3D of the no-flash photo alone at the task's ``sigma``. JPEG artefacts (the paper
    compares DIP with CBM3D there), and every task of kind ``artefacts``: CBM3D as a deblocking filter at an
    assumed ``sigma`` (method parameter, default 10 in 8-bit units; a stated, untuned setting).
    """

    name = "bm3d"
    seeded = False
    problems = ("denoising",)
    version = "1"
    defaults = {"profile": "np", "colorspace": "opp"}
    kind_defaults = {"artefacts": {"sigma": 10.0}}
    colorspaces = ("opp", "YCbCr")
    profiles = ("np", "refilter", "vn", "vn_old", "high", "deb")
    param_rules = {"colorspace": Rule(str, choices=colorspaces), "profile": Rule(str, choices=profiles),
                   "sigma": Rule(float, low=0, low_open=True)}
    description = "BM3D / CBM3D (bm3d package)"

    def restore(self, obs: Observation, ctx: RunContext) -> Restoration:
        bm3d = require("bm3d", self.name, hint="pip install bm3d; free for non-commercial use only")
        sigma = _sigma(obs, self.name, self.params)
        if self.params["colorspace"] not in self.colorspaces:
            raise ConfigError(
                f"method 'bm3d': colorspace must be one of {self.colorspaces}, got {self.params['colorspace']!r}"
            )
        profile = self.params["profile"]
        if profile not in self.profiles:
            raise ConfigError(f"method 'bm3d': profile must be one of {self.profiles}, got {profile!r}")
        y = as_hwc(obs.y).astype(np.float64)
        if y.shape[2] == 3:
            out = bm3d.bm3d_rgb(y, sigma_psd=sigma / 255.0, profile=profile, colorspace=self.params["colorspace"])
        else:
            out = bm3d.bm3d(y[..., 0], sigma_psd=sigma / 255.0, profile=profile)
        out = np.asarray(out).reshape(y.shape)
        return Restoration(_finish(out, obs, self.name), info={"bm3d_version": _version("bm3d")})


@register
class NLM(Method):
    """Non-local means, scikit-image's ``denoise_nl_means`` (sigma-aware).

    Patch 7x7, search distance 10, filtering parameter ``h = h_factor * sigma`` (on [0, 1] data), the known
    noise sigma passed so that skimage subtracts its expectation from the patch distances. Colour images are
    filtered jointly (``channel_axis=-1``). The paper's NLM implementation is unknown; this is a tuned
    baseline with stated parameters, tuned on held-out images (Kodak 4-9, synthetic sigma 25, clipped and
    quantised), not on the benchmark images:

    - ``fast_mode=False`` (Gaussian-weighted patch distances) beats ``fast_mode=True`` by about 0.6 dB
      (Kodak 4-9: 29.38 dB at h_factor 0.6 vs 28.80 at the fast mode's best h_factor 0.5) at about 10x the
      cost (about 35 s per 512x512 colour image on one core);
    - ``h_factor`` 0.6 (0.7: 29.32 dB; fast mode 0.4-1.0: 28.65 / 28.80 / 28.49 / 27.94 / 27.31 / 26.69 /
      26.11).

    On the DIP authors' 9 published sigma-25 noisy images this gives 29.93 dB (the paper's NLM: 30.26; fast
    mode at its best h_factor 0.5: 29.46).
    """

    name = "nlm"
    seeded = False
    problems = ("gaussian_noise",)  # it needs the noise sigma
    version = "1"
    defaults = {"patch_size": 7, "patch_distance": 10, "h_factor": 0.6, "fast_mode": False}
    param_rules = {"patch_size": Rule(int, low=1), "patch_distance": Rule(int, low=1),
                   "h_factor": Rule(float, low=0, low_open=True)}
    smoke = {"patch_size": 3, "patch_distance": 2}
    description = "non-local means (scikit-image)"

    def restore(self, obs: Observation, ctx: RunContext) -> Restoration:
        from skimage.restoration import denoise_nl_means

        sigma = _sigma(obs, self.name) / 255.0
        y = as_hwc(obs.y).astype(np.float64)
        colour = y.shape[2] == 3
        out = denoise_nl_means(
            y if colour else y[..., 0],
            patch_size=int(self.params["patch_size"]),
            patch_distance=int(self.params["patch_distance"]),
            h=float(self.params["h_factor"]) * sigma,
            sigma=sigma,
            fast_mode=bool(self.params["fast_mode"]),
            channel_axis=-1 if colour else None,
        )
        return Restoration(_finish(out, obs, self.name), info={"skimage_version": _version("scikit-image")})


def _tv_sum(x: torch.Tensor, eps: float) -> torch.Tensor:
    """Isotropic total variation Σ sqrt(dx² + dy² + eps), summed over pixels and channels (forward
    differences, the last row and column dropped as in the DIP code)."""
    dx = x[:, :, :-1, 1:] - x[:, :, :-1, :-1]
    dy = x[:, :, 1:, :-1] - x[:, :, :-1, :-1]
    return torch.sqrt(dx * dx + dy * dy + eps).sum()


def optimise_pixels(
    obs: Observation,
    ctx: RunContext,
    *,
    steps: int,
    lr: float,
    tv_weight: float,
    init: str = "uniform",
    eps: float = 1e-8,
    log_every: int = 100,
    name: str = "tv",
) -> Restoration:
    """Optimise the image x directly: Adam on mean((A(x) - y)²) + tv_weight · Σ sqrt(dx² + dy² + eps).

    A is the task's forward operator (Lanczos-2 downsampler for SR, mask for inpainting); the MSE is a mean
    over all elements of A(x), the TV a sum over pixels and channels, as in the paper's "TV prior" experiment.
    ``init``: ``uniform`` draws x from U(0, 0.1) (the paper's setting); ``observed`` (inpainting only) starts
    from the observed pixels and U(0, 0.1) at the missing ones. x is clamped to [0, 1] at the end only.

    The curve has the loss at every step and, where the observation carries the ground truth, the oracle
    PSNR (RGB or gray, peak 1, of the clamped x against the target box) every ``log_every`` steps and at the
    last one (NaN elsewhere); everything stays on the device until the loop ends.
    """
    if steps < 0:
        raise ConfigError(f"method {name!r}: steps must be >= 0, got {steps}")
    if log_every < 1:
        raise ConfigError(f"method {name!r}: log_every must be >= 1, got {log_every}")
    if init not in ("uniform", "observed"):
        raise ConfigError(f"method {name!r}: init must be 'uniform' or 'observed', got {init!r}")
    if init == "observed" and obs.mask is None:
        raise ConfigError(f"method {name!r}: init 'observed' needs an inpainting observation (a mask)")
    device = resolve_device(ctx.device)
    operator = task_of(obs).operator(obs, device)
    height, width, channels = obs.output_shape
    y = torch.as_tensor(as_hwc(obs.y)).permute(2, 0, 1)[None].to(device)

    generator = torch.Generator().manual_seed(int(ctx.seed))
    start = torch.rand((1, channels, height, width), generator=generator) * 0.1
    if init == "observed":
        mask = torch.as_tensor(as_hwc(obs.mask)).permute(2, 0, 1)[None]
        start = torch.where(mask > 0, torch.as_tensor(as_hwc(obs.y)).permute(2, 0, 1)[None], start)
    x = start.to(device).requires_grad_(True)
    optimiser = torch.optim.Adam([x], lr=lr)
    losses = torch.empty(steps, device=device)
    gt = None
    if obs.gt is not None:
        gt = torch.as_tensor(as_hwc(obs.target.slice(as_hwc(obs.gt)))).permute(2, 0, 1)[None].to(device)
    psnrs = torch.full((steps,), float("nan"), device=device)

    bar = progress_bar(steps, name, enabled=ctx.progress)
    for step in range(steps):
        optimiser.zero_grad(set_to_none=True)
        loss = torch.mean((operator(x) - y) ** 2)
        if tv_weight:
            loss = loss + tv_weight * _tv_sum(x, eps)
        loss.backward()
        optimiser.step()
        losses[step] = loss.detach()
        if gt is not None and ((step + 1) % log_every == 0 or step + 1 == steps):
            with torch.no_grad():
                psnrs[step] = -10.0 * torch.log10(torch.mean((x.detach().clamp(0.0, 1.0) - gt) ** 2))
        bar.update(1)
    bar.close()

    with torch.no_grad():
        result = x.detach().clamp(0.0, 1.0)
    losses_np = losses.cpu().numpy().astype(np.float64)
    if not bool(torch.isfinite(x).all()) or not np.all(np.isfinite(losses_np)):
        raise DivergenceError(f"method {name!r}: the optimisation produced non-finite values")
    image = result[0].permute(1, 2, 0).cpu().numpy()
    curve = pd.DataFrame(
        {"step": np.arange(1, steps + 1), "loss": losses_np, "psnr": psnrs.cpu().numpy().astype(np.float64)}
    )
    info = {"steps": steps, "final_loss": float(losses_np[-1]) if steps else None, "device": str(device),
            **loss_divergence(losses_np, name)}
    return Restoration(_finish(image, obs, name), curve=curve, info=info)


#: Rules of the pixel-optimisation parameters of ``tv`` and ``no_prior`` (:func:`optimise_pixels`).
PIXEL_OPTIMISATION_RULES = {
    "steps": Rule(int, low=1), "lr": Rule(float, low=0, low_open=True, high=1), "tv_weight": Rule(float, low=0),
    "init": Rule(str, choices=("uniform", "observed")), "eps": Rule(float, low=0, low_open=True),
    "log_every": Rule(int, low=1), "weight_factor": Rule(float, low=0, low_open=True),
    "max_num_iter": Rule(int, low=1), "tol": Rule(float, low=0, low_open=True),
    "sigma": Rule(float, low=0, low_open=True),
}


@register
class TV(Method):
    """Total variation.

    Denoising: Chambolle's TV denoiser (scikit-image ``denoise_tv_chambolle``) with
    ``weight = weight_factor * sigma / 255``; colour channels are denoised jointly (vectorial TV,
    ``channel_axis=-1``), at most ``max_num_iter`` iterations, stopping tolerance ``tol`` (skimage's
    ``eps``). ``weight_factor`` 0.7 comes from a grid on held-out images (Kodak 4-9, synthetic
    sigma 25, clipped and quantised: 0.5 / 0.6 / 0.65 / 0.7 / 0.75 / 0.8 / 0.9 / 1.1 -> 26.86 / 27.41 /
    27.54 / 27.60 / 27.59 / 27.53 / 27.34 / 26.89 dB). On the DIP authors' 9 published sigma-25 noisy images
    it gives 28.65 dB.

    SR and inpainting: the paper's "TV prior": optimise the pixels with Adam on the data term through the task
    operator plus ``tv_weight`` · Σ sqrt(dx² + dy² + eps) (see :func:`optimise_pixels`). SR uses the paper's
    settings (lr 0.01, 2000 steps, U(0, 0.1) init, tv_weight 1e-7); on Set5 x4 (the paper's protocol: DIP's
    PIL-Lanczos LR of the centre 32-crop, Y-PSNR shaved 4/5 px, seed 0) it gives 29.73 dB, above the 28.86 dB
    recomputed from the authors' published TV-prior images (tv_weight 3e-8 / 3e-7 / 1e-6 on four of the
    images: -0.01 / -0.19 / -1.51 dB against 1e-7, so 1e-7 is near the optimum here). Because the data term
    is a mean and the TV a sum, the balance depends on the image size; the weights are not rescaled.

    Inpainting has no paper setting: the same optimiser and init, with ``tv_weight`` 1e-8 chosen on held-out
    512x512 gray crops of Kodak 4-6 with 50% Bernoulli masks (tv_weight 1e-9 / 1e-8 / 3e-8 / 1e-7 / 1e-6 /
    1e-5 -> 29.08 / 29.06 / 28.94 / 28.33 / 24.00 / 18.86 dB; starting from the observed pixels instead of
    U(0, 0.1) changed nothing at 1e-8; 5000 steps gave the same as 2000). Larger weights pull the known
    pixels away from their values. On the 11 images of Table 1 with the authors' masks it gives 30.45 dB
    (the paper: DIP 33.48, Papyan et al. 31.19; the masked input: 8.71). Hole inpainting and sparse-pixel
    restoration use the same setting (untuned there).

    Flash / no-flash and JPEG artefacts (every ``denoising`` task): the Chambolle denoiser of the degraded
    photo, at the task's ``sigma`` (flash) or an assumed ``sigma`` (``artefacts``, e.g. JPEG: method
    parameter, default 10; untuned).
    """

    name = "tv"
    seeded = ("upscaling", "masked")  # Chambolle is deterministic; the TV prior's random init is not
    problems = ("denoising", "upscaling", "masked")
    version = "1"
    defaults: dict[str, Any] = {}
    kind_defaults = {
        "denoising": {"weight_factor": 0.7, "max_num_iter": 200, "tol": 2e-4},
        "artefacts": {"sigma": 10.0},
        "upscaling": {"steps": 2000, "lr": 0.01, "tv_weight": 1e-7, "init": "uniform", "eps": 1e-8, "log_every": 100},
        "masked": {"steps": 2000, "lr": 0.01, "tv_weight": 1e-8, "init": "uniform", "eps": 1e-8, "log_every": 100},
    }
    smoke = {"steps": 5, "max_num_iter": 10, "log_every": 2}
    param_rules = PIXEL_OPTIMISATION_RULES
    description = "total variation (Chambolle denoiser; TV-regularised pixel optimisation for SR/inpainting)"

    def restore(self, obs: Observation, ctx: RunContext) -> Restoration:
        if "denoising" in self.task_kinds(self.task):
            return self._denoise(obs)
        p = self.params
        return optimise_pixels(
            obs, ctx, steps=int(p["steps"]), lr=float(p["lr"]), tv_weight=float(p["tv_weight"]),
            init=p["init"], eps=float(p["eps"]), log_every=int(p["log_every"]), name=self.name,
        )

    def _denoise(self, obs: Observation) -> Restoration:
        from skimage.restoration import denoise_tv_chambolle

        sigma = _sigma(obs, self.name, self.params)
        y = as_hwc(obs.y).astype(np.float64)
        colour = y.shape[2] == 3
        weight = float(self.params["weight_factor"]) * sigma / 255.0
        out = denoise_tv_chambolle(
            y if colour else y[..., 0],
            weight=weight,
            eps=float(self.params["tol"]),
            max_num_iter=int(self.params["max_num_iter"]),
            channel_axis=-1 if colour else None,
        )
        info = {"weight": weight, "skimage_version": _version("scikit-image")}
        return Restoration(_finish(out, obs, self.name), info=info)


@register
class NoPrior(TV):
    """The paper's "no prior" row: the TV-prior pixel optimisation without the TV term (tv_weight fixed 0).

    For inpainting the missing pixels get no gradient and keep their initial values. On Set5 x4 (protocol as
    for ``tv``, seed 0) it gives 26.18 dB (recomputed from the authors' published images: 26.56).
    """

    name = "no_prior"
    problems = ("upscaling", "masked")
    version = "1"
    kind_defaults = dict.fromkeys(problems, {"steps": 2000, "lr": 0.01, "init": "uniform", "log_every": 100})
    smoke = {"steps": 5, "log_every": 2}
    param_rules = PIXEL_OPTIMISATION_RULES
    description = "pixel optimisation of the data term alone (no prior)"

    def restore(self, obs: Observation, ctx: RunContext) -> Restoration:
        p = self.params
        return optimise_pixels(
            obs, ctx, steps=int(p["steps"]), lr=float(p["lr"]), tv_weight=0.0, init=p["init"],
            log_every=int(p["log_every"]), name=self.name,
        )
