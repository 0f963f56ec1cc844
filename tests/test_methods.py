"""Every registered method runs on a tiny image for every task it declares (with its smoke parameters)."""

import numpy as np
import pytest

from dipbench.methods import RunContext, available_methods, get_method
from dipbench.methods.base import Method
from dipbench.tasks import make_task, task_names

# `published` returns the authors' images for benchmark datasets; tests/test_datasets.py covers it.
NEEDS_DATASET = {"published"}
RGB_ONLY_TASKS = {"inversion"}  # AlexNet takes RGB images of at least 63 px
SIDE = {"inversion": 64}
TASK_PARAMS = {"denoise": {"sigma": 25}, "sr": {"scale": 4}, "inpaint": {"keep": 0.5}, "inversion": {"weights": "random"}}

CASES = [(name, task) for name, cls in available_methods().items() if name not in NEEDS_DATASET for task in cls.tasks]


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
        assert cls.tasks and set(cls.tasks) <= set(task_names())
        assert isinstance(cls.version, str) and cls.version
        for task in cls.tasks:
            cls.resolve_params(task, {}, smoke=True)  # smoke keys must be known parameters
