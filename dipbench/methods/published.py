"""``published``: the DIP authors' published result images, returned as a method's output.

For an observation of the paper's protocol (SR x4/x8 on set5/set14, denoising sigma 25/50 on
dip_denoise9, 50% inpainting on inpaint11) it returns the project-page PNG of method ``source`` for the
same image, cut to the observation's target box. Evaluating these with the harness's metrics checks the
metrics against the paper's numbers, and puts the paper's baselines (LapSRN, SRResNet, CBM3D, Papyan et
al., ...) in every table without running them. The files come through the registry (dataset
``dip_paper_assets``), so ``$DIPBENCH_MIRROR`` / ``$DIPBENCH_DATA`` apply.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..datasets import registry as datasets
from ..errors import ConfigError, ImageError
from ..imaging.io import read_image
from ..tasks import Observation
from .base import Method, Restoration, RunContext
from .registry import register

ASSETS = "dip_paper_assets"

# the published methods available per task (and SR scale), as named in the asset files
SOURCES: dict[tuple[str, int | None], tuple[str, ...]] = {
    ("sr", 4): ("deep_prior", "bicubic", "LapSRN", "SRResNet-MSE", "glasner", "tv_prior", "no_prior"),
    ("sr", 8): ("deep_prior_003", "deep_prior_005", "bicubic", "LapSRN", "SelfExSR", "tv_prior", "no_prior"),
    ("denoise", None): ("deep_prior", "bm3d", "nlm", "noisy"),
    ("inpaint", None): ("deep_prior", "papyan", "voronoi", "masked"),
}
# at x8 the project page has two DIP variants (sigma_p 0.03 and 0.05); plain deep_prior means the latter,
# the setting of the paper's protocol for x8
SR_X8_DEEP_PRIOR = "deep_prior_005"
# SR outputs that cover only the centre crop to a multiple of 32 (black elsewhere)
BOXED_SR_SOURCES = ("deep_prior", "deep_prior_003", "deep_prior_005", "tv_prior", "no_prior")

SR_SETS = {"set5": "Set5", "set14": "Set14"}
# our image name -> the project page's file stem, where they differ (the page calls House "hill")
DENOISE_STEMS = {"house": "hill", "f16": "F16"}
INPAINT_STEMS = {"cameraman": "Cameraman256", "lena": "Lena512", "peppers": "peppers256"}


def published_asset(dataset: str, image: str, task: str, task_params: dict[str, Any], source: str) -> str:
    """The ``dip_paper_assets`` image name (path without ``.png``) of a published result.

    Raises :class:`ConfigError` when the project page has no image for that combination.
    """
    if task == "sr":
        scale = task_params.get("scale")
        if dataset not in SR_SETS or scale not in (4, 8):
            raise ConfigError(
                f"published: no SR results for dataset {dataset!r} at scale {scale!r} "
                "(the DIP page has set5 and set14 at x4 and x8)"
            )
        if source == "deep_prior" and scale == 8:
            source = SR_X8_DEEP_PRIOR
        _check_source(task, scale, source)
        name = f"SR/{SR_SETS[dataset]}/x{scale}/{image}_{source}"
    elif task == "denoise":
        sigma = task_params.get("sigma")
        if dataset != "dip_denoise9" or sigma not in (25, 50):
            raise ConfigError(
                f"published: no denoising results for dataset {dataset!r} at sigma {sigma!r} "
                "(the DIP page has dip_denoise9 at sigma 25 and 50)"
            )
        _check_source(task, None, source)
        name = f"Denoising/Color/{int(sigma)}/{DENOISE_STEMS.get(image, image)}_{source}"
    elif task == "inpaint":
        keep = task_params.get("keep")
        if dataset != "inpaint11" or keep != 0.5:
            raise ConfigError(
                f"published: no inpainting results for dataset {dataset!r} with keep {keep!r} "
                "(the DIP page has inpaint11 with keep 0.5)"
            )
        _check_source(task, None, source)
        name = f"Reconstruction/Gray/50p/{INPAINT_STEMS.get(image, image)}_{source}"
    else:
        raise ConfigError(f"published: no published results for task {task!r}")
    if datasets.get_dataset(ASSETS).file(name, "asset") is None:
        raise ConfigError(f"published: the DIP page has no {source!r} result for {dataset}/{image} ({name}.png)")
    return name


def _check_source(task: str, scale: int | None, source: str) -> None:
    known = SOURCES[(task, scale)]
    if source not in known:
        where = f"{task} x{scale}" if scale else task
        raise ConfigError(f"published: no source {source!r} for {where}; known: {', '.join(known)}")


@register
class Published(Method):
    """The DIP authors' published result of method ``source`` (see :data:`SOURCES`) for the same image."""

    name = "published"
    seeded = False
    tasks = ("denoise", "sr", "inpaint")
    defaults = {"source": "deep_prior"}
    version = "1"
    description = "the DIP authors' published result images (DIP and the paper's baselines)"

    def __init__(self, task: str, **params: Any):
        super().__init__(task, **params)
        known = sorted({s for (t, _), names in SOURCES.items() if t == task for s in names} | {"deep_prior"})
        if self.params["source"] not in known:
            raise ConfigError(
                f"published: no source {self.params['source']!r} for {task}; known: {', '.join(known)}"
            )

    def restore(self, obs: Observation, ctx: RunContext) -> Restoration:
        source = self.params["source"]
        if obs.task == "sr" and source in BOXED_SR_SOURCES and obs.task_params.get("crop_multiple") != 32:
            raise ConfigError(
                f"published: SR source {source!r} covers only the centre crop to a multiple of 32; "
                f"the observation has crop_multiple {obs.task_params.get('crop_multiple')!r}"
            )
        name = published_asset(obs.dataset, obs.image, obs.task, obs.task_params, source)
        row = datasets.registry_file(ASSETS, name, "asset")
        path = datasets.file_path(ASSETS, name, "asset")
        image = read_image(path, "to_rgb" if obs.channels == 3 else "to_gray")
        if obs.gt is not None and image.shape[:2] != obs.gt.shape[:2]:
            raise ImageError(
                f"published image {row.file} is {image.shape[1]}x{image.shape[0]} px but the observation's "
                f"ground truth is {obs.gt.shape[1]}x{obs.gt.shape[0]} px"
            )
        box = obs.target
        if box.top + box.height > image.shape[0] or box.left + box.width > image.shape[1]:
            raise ImageError(f"published image {row.file} is smaller than the target box {tuple(box)}")
        out = np.ascontiguousarray(box.slice(image), dtype=np.float32)
        return Restoration(out, info={"published_file": row.file, "published_sha256": row.sha256})
