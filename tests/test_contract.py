"""The output contract (dipbench.methods.contract): what a method returns is checked in one place, on the
CLI's restore, in a workflow job and in a fused multi-seed job, for built-ins and plugins alike. Every
refusal is one line naming the method, its file and what was wrong; nothing is written or scored."""

import numpy as np
import pytest

from dipbench.cli import main
from dipbench.errors import MethodError
from dipbench.imaging.io import read_image, write_png
from dipbench.methods import Restoration, RunContext, get_method
from dipbench.methods.contract import TOLERANCE, check_restoration, run_method
from dipbench.pipeline.jobs import restore_seeds
from dipbench.tasks import Observation, make_task

PLUGIN = '''
import sys

import numpy as np
import pandas as pd

from dipbench.methods import Method, Restoration, register


@register
class Returns(Method):
    name = "{name}"
    tasks = ("denoise",)
    seeded = False
    fuses_runs = {fuses}

    def restore(self, obs, ctx):
        y = obs.y
        return {expr}
'''

BAD = {
    "2d_for_rgb": ("Restoration(y[..., 0])", "returned a 2-D array, expected shape (40, 40, 3)"),
    "wrong_shape": ("Restoration(y[:-1])", "returned shape (39, 40, 3), expected shape (40, 40, 3)"),
    "uint8": ("Restoration((y * 255).astype(np.uint8))", "dtype uint8, expected floating values"),
    "int64": ("Restoration((y * 255).astype(np.int64))", "dtype int64"),
    "nan": ("Restoration(np.where(y > 0.5, np.nan, y))", "NaN or infinite value(s)"),
    "inf": ("Restoration(np.full_like(y, np.inf))", "4800 NaN or infinite value(s)"),
    "five_times": ("Restoration(y * 5)", "outside [0, 1]"),
    "negative": ("Restoration(y - 0.5)", "outside [0, 1]"),
    "none": ("None", "returned None, expected a Restoration"),
    "bare_array": ("y", "returned a bare numpy array of shape (40, 40, 3)"),
    "tuple": ("(y, None)", "returned a tuple"),
    "list_image": ("Restoration(y.tolist())", "image of type list"),
    "curve_columns": ("Restoration(y, curve=pd.DataFrame({'loss': [1.0]}))", "without the column(s) ['step']"),
    "curve_nan_step": ("Restoration(y, curve=pd.DataFrame({'step': [1, np.nan], 'loss': [1.0, 2.0]}))",
                       "NaN or infinite steps"),
    "curve_backwards": ("Restoration(y, curve=pd.DataFrame({'step': [2, 1], 'loss': [1.0, 2.0]}))",
                        "steps do not increase"),
    "curve_text": ("Restoration(y, curve=pd.DataFrame({'step': ['a'], 'loss': [1.0]}))", "'step' column is not numeric"),
    "curve_inf_loss": ("Restoration(y, curve=pd.DataFrame({'step': [1], 'loss': [np.inf]}))", "infinite loss"),
    "curve_list": ("Restoration(y, curve=[1, 2])", "curve of type list"),
    "info_object": ("Restoration(y, info={'x': object()})", "info that is not JSON"),
    "info_list": ("Restoration(y, info=[1])", "info of type list"),
    "raises": ("1 / 0", "ZeroDivisionError: division by zero"),
    "exits": ("sys.exit(0)", "called sys.exit(0)"),
}


def _plugin(tmp_path, key, expr, fuses=False, prefix="ret"):
    name = f"{prefix}_{key}"
    path = tmp_path / f"{name}.py"
    path.write_text(PLUGIN.format(name=name, expr=expr, fuses=fuses))
    return name, path


@pytest.fixture
def noisy_png(tmp_path):
    image = np.random.default_rng(0).random((40, 40, 3)).astype(np.float32)
    write_png(tmp_path / "noisy.png", image)
    return tmp_path / "noisy.png"


@pytest.fixture
def obs_npz(tmp_path, smooth_rgb):
    obs = make_task("denoise").degrade(smooth_rgb[:40, :40], np.random.default_rng(0))
    obs.dataset, obs.image = "mine", "pic"
    obs.save(tmp_path / "obs.npz")
    return tmp_path / "obs.npz"


@pytest.mark.parametrize("key", sorted(BAD))
def test_a_bad_result_on_the_command_line_is_one_line_and_nothing_is_written(tmp_path, noisy_png, capsys, key):
    expr, words = BAD[key]
    name, plugin = _plugin(tmp_path, key, expr)
    out = tmp_path / "out.png"
    assert main(["restore", str(noisy_png), "--task", "denoise", "--method", name, "--plugin", str(plugin),
                 "-o", str(out), "--quiet"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"dipbench: error: method {name!r} (plugin {plugin} line ") and "\n" not in err, err
    assert words in err and "Traceback" not in err, err
    assert not out.exists()


def test_the_failing_line_is_the_plugins_own(tmp_path, noisy_png, capsys):
    name, plugin = _plugin(tmp_path, "raises_here", "1 / 0", prefix="line")
    line = 1 + next(i for i, text in enumerate(plugin.read_text().splitlines()) if "1 / 0" in text)
    main(["restore", str(noisy_png), "--task", "denoise", "--method", name, "--plugin", str(plugin),
          "-o", str(tmp_path / "o.png")])
    assert f"(plugin {plugin} line {line}) failed: ZeroDivisionError" in capsys.readouterr().err


@pytest.mark.parametrize("key", ["nan", "five_times", "2d_for_rgb", "none", "raises", "exits"])
def test_a_bad_result_in_a_workflow_job_writes_no_record(tmp_path, obs_npz, capsys, key):
    expr, words = BAD[key]
    name, plugin = _plugin(tmp_path, key, expr, prefix="job")
    out = tmp_path / "run"
    code = main(["job", "restore", "--plugin", str(plugin), "--obs", str(obs_npz), "--method", name, "--seed", "0",
                 "--out-dir", str(out), "--quiet"])
    err = capsys.readouterr().err.strip()
    assert code == 1 and words in err and str(plugin) in err and "\n" not in err, err
    assert not (out / "run.json").exists() and not (out / "restored.png").exists()


def test_a_fused_job_checks_every_run(tmp_path, obs_npz):
    from dipbench.plugins import load_plugins

    for key, many, words in [("one", "[Restoration(obs.y)]", "restore_many returned 1 results, expected a list of 2"),
                             ("nan", "[Restoration(obs.y), Restoration(obs.y * np.nan)]", "NaN or infinite")]:
        name, plugin = _plugin(tmp_path, key, "Restoration(y)", fuses=True, prefix="fused")
        plugin.write_text(plugin.read_text().replace(
            "    def restore(self, obs, ctx):",
            f"    def restore_many(self, obs, contexts):\n        return {many}\n\n    def restore(self, obs, ctx):"))
        load_plugins([str(plugin)])
        with pytest.raises(MethodError, match=words):
            restore_seeds(obs_npz, name, {}, [0, 1], [tmp_path / key / "a", tmp_path / key / "b"])
        assert not (tmp_path / key / "a" / "run.json").exists()


def test_a_fused_builtin_fit_goes_through_the_contract(obs_npz, monkeypatch):
    from dipbench.methods import contract

    seen = []
    original = contract.check_restoration
    monkeypatch.setattr(contract, "check_restoration", lambda *a: seen.append(a[2]) or original(*a))
    obs = Observation.load(obs_npz)
    dip = get_method("dip")("denoise", **{**get_method("dip").smoke, "precision": "fp32"})
    results = run_method(dip, obs, [RunContext(seed=1), RunContext(seed=2)])
    assert len(results) == 2 and seen == [type(dip)] * 2
    assert all(r.image.dtype == np.float32 and r.image.shape == obs.output_shape for r in results)


def test_a_tiny_overshoot_is_clipped_and_more_is_refused(smooth_rgb):
    obs = make_task("denoise").degrade(smooth_rgb, np.random.default_rng(0))
    cls = get_method("input")

    image = obs.y.astype(np.float64)
    image[0, 0] = [1 + 0.9 * TOLERANCE, -0.9 * TOLERANCE, 0.5]
    checked = check_restoration(Restoration(image), obs, cls)
    assert checked.image.dtype == np.float32 and checked.image.flags.c_contiguous
    assert checked.image[0, 0].tolist() == [1.0, 0.0, 0.5]
    image[0, 0, 0] = 1 + 1.1 * TOLERANCE
    with pytest.raises(MethodError, match=r"method 'input' \(dipbench.methods.classic.Input\) returned values"):
        check_restoration(Restoration(image), obs, cls)


def test_the_cli_writes_the_clipped_image(tmp_path, noisy_png):
    name, plugin = _plugin(tmp_path, "overshoot", "Restoration(np.full_like(y, 1 + 0.9 * 0.5 / 255))", prefix="clip")
    out = tmp_path / "o.png"
    assert main(["restore", str(noisy_png), "--task", "denoise", "--method", name, "--plugin", str(plugin),
                 "-o", str(out)]) == 0
    assert (read_image(out) == 1.0).all()
