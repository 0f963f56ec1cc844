"""Every registered method runs on a tiny image for every task it declares (with its smoke parameters)."""

import numpy as np
import pytest

from dipbench.methods import RunContext, available_methods, get_method
from dipbench.methods.base import Method
from dipbench.tasks import make_task, task_names
from dipbench.tasks.base import PROBLEM_KINDS

# `published` returns the authors' images for benchmark datasets; tests/test_datasets.py covers it.
NEEDS_DATASET = {"published"}
RGB_ONLY_TASKS = {"inversion"}  # AlexNet takes RGB images of at least 63 px
SIDE = {"inversion": 64}
TASK_PARAMS = {"denoise": {"sigma": 25}, "sr": {"scale": 4}, "inpaint": {"keep": 0.5}, "inversion": {"weights": "random"}}

ANY_TASK_SMOKE = ("denoise", "sr", "inpaint")  # what a method that runs any task (DIP) is smoke-tested on


def smoke_tasks(cls):
    """The tasks a method is smoke-tested on: those it names, or for an ``any_task`` method :data:`ANY_TASK_SMOKE`."""
    return cls.tasks or (ANY_TASK_SMOKE if cls.any_task else ())


CASES = [(name, task) for name, cls in available_methods().items() if name not in NEEDS_DATASET
         for task in smoke_tasks(cls)]


@pytest.mark.parametrize("name, task", CASES)
@pytest.mark.parametrize("channels", [3, 1])
def test_method_runs_on_tiny_image(name, task, channels, smooth_rgb):
    if channels == 1 and task in RGB_ONLY_TASKS:
        pytest.skip(f"{task} takes RGB images only")
    side = SIDE.get(task, 32)
    image = smooth_rgb[:side, :side] if channels == 3 else smooth_rgb[:side, :side].mean(axis=2, keepdims=True)
    t = make_task(task, **TASK_PARAMS.get(task, {}))
    obs = t.degrade(t.prepare_gt(image), np.random.default_rng(0))
    cls = get_method(name)
    method = cls(task, **cls.resolve_params(task, {}, smoke=True))
    result = method.restore(obs, RunContext(seed=0))
    assert result.image.shape == obs.output_shape
    assert np.isfinite(result.image).all() and result.image.min() >= 0 and result.image.max() <= 1


def test_every_method_declares_what_the_registry_needs():
    for name, cls in available_methods().items():
        assert issubclass(cls, Method) and cls.name == name
        assert cls.tasks or cls.problems or cls.any_task
        assert set(cls.tasks) <= set(task_names()) and set(cls.problems) <= set(PROBLEM_KINDS)
        assert isinstance(cls.version, str) and cls.version
        for task in [t for t in task_names() if cls.supports(t)]:
            cls.resolve_params(task, {}, smoke=True)  # smoke keys must be known parameters


def test_methods_pick_tasks_by_problem_kind_not_by_name():
    """The baselines name no task: a plugin task of a known kind is run by every method of that kind,
    with the kind's defaults; an unknown kind is refused at registration."""
    from dipbench.errors import ConfigError
    from dipbench.tasks import Task, register_task
    from dipbench.tasks.registry import _TASKS

    for name in ("bicubic", "bm3d", "nlm", "tv", "no_prior", "input", "deep_decoder", "zs_n2n"):
        assert not get_method(name).tasks, name
    for name in ("dip", "dip_es", "dip_tv", "dip_sgld"):  # DIP runs any task by its forward operator
        assert get_method(name).any_task and not get_method(name).tasks, name
    assert get_method("dip").tasks_text() == "any task"

    @register_task
    class Hum(Task):  # a denoising task of unknown noise level: JPEG's kinds
        name = "hum_test"
        kinds = frozenset({"denoising", "artefacts"})

    @register_task
    class Holes(Task):
        name = "holes_test"
        kinds = frozenset({"masked"})

    try:
        assert {m for m, cls in available_methods().items() if cls.supports("hum_test")} >= {"bm3d", "tv", "input"}
        assert not get_method("nlm").supports("hum_test") and not get_method("bicubic").supports("hum_test")
        assert get_method("tv").resolve_params("hum_test", {})["sigma"] == 10.0  # the artefacts kind's default
        assert get_method("tv").resolve_params("hum_test", {}) == get_method("tv").resolve_params("jpeg", {})
        assert not get_method("tv").uses_seed("hum_test")  # Chambolle: deterministic
        assert get_method("tv").uses_seed("holes_test") and get_method("no_prior").supports("holes_test")
        assert get_method("tv").resolve_params("holes_test", {}) == get_method("tv").resolve_params("inpaint", {})
        assert "hum_test" in get_method("bm3d").tasks_text()
    finally:
        _TASKS.pop("hum_test", None)
        _TASKS.pop("holes_test", None)

    class Odd(Task):
        name = "odd_test"
        kinds = frozenset({"deblurring"})

    with pytest.raises(ConfigError, match="unknown problem kind.*deblurring"):
        register_task(Odd)

    class Up(Task):
        name = "up_test"
        kinds = frozenset({"upscaling"})  # but upscales is False

    with pytest.raises(ConfigError, match="'upscaling' exactly when upscales"):
        register_task(Up)
    assert "odd_test" not in task_names() and "up_test" not in task_names()
