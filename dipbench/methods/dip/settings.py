"""DIP's per-experiment settings: what its ``"auto"`` parameters become for a task and its parameters.

The paper (docs/protocol.md sections 3 and 9) fixes, per experiment, the network (a named layout of
:mod:`.architectures`), the input kind and depth (:mod:`.inputs`), the step count, Adam's learning rate, the
input perturbation sigma_p (``reg_noise_std``, in input units), which image is returned (``output``: the EMA
of outputs or the last one), the final forward pass's input (``final_input``) and the reflection padding of
the image (``pad_input``, px). Those settings belong to DIP, not to the tasks: a task knows its physics and
nothing of DIP. They live here, keyed by task name; an entry is a dict, or a function of the task's
validated parameters (defaults filled in) returning one.

A plugin task registers its own with :func:`register_dip_settings` in its module (this module imports
neither torch nor the DIP network, so registering costs nothing)::

    from dipbench.methods.dip.settings import register_dip_settings

    register_dip_settings("darken", {"steps": 1800, "lr": 0.01, "reg_noise_std": 1 / 30, "output": "ema",
                                     "final_input": "perturbed", "pad_input": 0})

A task without an entry gets :data:`PAPER_DEFAULTS` only; DIP then asks for the rest explicitly.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Union

from ...errors import ConfigError

#: What every experiment of the paper shares unless its entry says otherwise (section 2).
PAPER_DEFAULTS: dict[str, Any] = {"network": "default", "input": "noise", "input_depth": 32, "input_scale": 0.1}

#: The keys an entry may set (each one a DIP parameter).
SETTING_KEYS = ("network", "input", "input_depth", "input_scale", "steps", "lr", "reg_noise_std", "output",
                "final_input", "pad_input")

Settings = Union[Mapping[str, Any], Callable[[Mapping[str, Any]], Mapping[str, Any]]]

_REGISTRY: dict[str, Settings] = {}


def register_dip_settings(task: str, settings: Settings) -> None:
    """DIP's settings for ``task``: a dict, or a function of the task's parameters returning one.

    Registering the same task again replaces its entry (a reloaded plugin module). Unknown keys are a
    :class:`ConfigError` (a typo would otherwise leave a parameter at ``"auto"``)."""
    if isinstance(settings, Mapping):
        _check_keys(task, settings)
    elif not callable(settings):
        raise TypeError(f"DIP settings for {task!r} must be a dict or a function of the task parameters")
    _REGISTRY[task] = settings


def has_dip_settings(task: str) -> bool:
    """Whether ``task`` has an entry (built-in or registered)."""
    return task in _REGISTRY


def paper_settings(task: str, task_params: Mapping[str, Any]) -> dict[str, Any]:
    """The paper's settings for ``task`` with ``task_params`` (validated, defaults filled in, by the task
    registry): :data:`PAPER_DEFAULTS` overridden by the task's entry."""
    from ...tasks import make_task

    params = make_task(task, **dict(task_params)).params
    entry = _REGISTRY.get(task, {})
    settings = dict(entry(params) if callable(entry) else entry)
    _check_keys(task, settings)
    return {**PAPER_DEFAULTS, **settings}


def _check_keys(task: str, settings: Mapping[str, Any]) -> None:
    unknown = sorted(set(settings) - set(SETTING_KEYS))
    if unknown:
        raise ConfigError(f"DIP settings for task {task!r}: unknown key(s) {unknown}; known: {list(SETTING_KEYS)}")


# ---------------------------------------------------------------------------------------- the paper's entries
#: Returned image and final input of the quantitative experiments (section 3).
_LAST_CLEAN = {"output": "last", "final_input": "clean", "pad_input": 0}

#: Super-resolution by scale: steps and sigma_p (section 3); scales other than 4 and 8 take the nearer one.
SR_BY_SCALE = {4: {"steps": 2000, "reg_noise_std": 0.03}, 8: {"steps": 4000, "reg_noise_std": 0.05}}

#: The authors' notebook settings per hole kind (section 9): network, input, steps.
HOLES_BY_KIND = {
    "text": {"network": "text_inpainting", "input": "noise", "input_depth": 32, "reg_noise_std": 0.03,
             "steps": 6001},
    "region": {"network": "region_inpainting", "input": "meshgrid", "reg_noise_std": 0.03, "steps": 5001},
    "large_hole": {"network": "large_holes", "input": "noise", "input_depth": 1, "reg_noise_std": 0.0,
                   "steps": 3001},
}


def _denoise(params: Mapping[str, Any]) -> dict[str, Any]:
    # sigma_p 1/30, or 1/20 for the paper's sigma = 50 experiments
    return {"steps": 1800, "lr": 0.01, "output": "ema", "final_input": "perturbed", "pad_input": 0,
            "reg_noise_std": 1.0 / 20.0 if float(params["sigma"]) >= 50 else 1.0 / 30.0}


def _sr(params: Mapping[str, Any]) -> dict[str, Any]:
    scale = int(params["scale"])
    by_scale = SR_BY_SCALE.get(scale, SR_BY_SCALE[8] if scale > 4 else SR_BY_SCALE[4])
    return {"lr": 0.01, "output": "last", "final_input": "perturbed", "pad_input": 0, **by_scale}


register_dip_settings("denoise", _denoise)
register_dip_settings("sr", _sr)
# 512 px images are padded to 514 so that the skip network's 5 scales fit
register_dip_settings("inpaint", {"steps": 11000, "lr": 0.001, "reg_noise_std": 0.03, "output": "last",
                                  "final_input": "clean", "pad_input": 1})
register_dip_settings("inpaint_holes",
                      lambda params: {"lr": 0.01, **_LAST_CLEAN, **HOLES_BY_KIND[params["kind"]]})
register_dip_settings("sparse", {"network": "sparse_pixels", "input": "noise", "input_depth": 32,
                                 "reg_noise_std": 0.0, "lr": 0.01, "steps": 1000, **_LAST_CLEAN})
register_dip_settings("jpeg", {"network": "jpeg", "input": "noise", "input_depth": 3, "reg_noise_std": 1.0 / 30.0,
                               "lr": 0.01, "steps": 2400, "output": "last", "final_input": "perturbed",
                               "pad_input": 0})
register_dip_settings("flash", {"network": "flash", "input": "image", "reg_noise_std": 0.0, "lr": 0.1, "steps": 601,
                                **_LAST_CLEAN})
# the denoising settings without input perturbation (section 9)
register_dip_settings("impedance", {"steps": 1800, "lr": 0.01, "reg_noise_std": 0.0, **_LAST_CLEAN})
register_dip_settings("inversion", {"network": "feature_inversion", "input": "noise", "input_depth": 32,
                                    "reg_noise_std": 0.0, "lr": 0.001, "steps": 3100, **_LAST_CLEAN})
