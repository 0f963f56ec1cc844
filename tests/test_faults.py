"""Fault injection, as a hostile or careless user: every case ends in one line (exit 2 for a usage or
configuration mistake, 1 for a failure) or in the right result, never in a traceback or a silent error.

Categories (README "What we tried"): config values, command-line values, output paths, image sizes and
scales, image files, scoring, run identity, plugins, divergence. Downloads and the dataset registry are in
tests/test_datasets_faults.py and tests/test_download.py; shell quoting in tests/test_workflow_safety.py.
"""

import os
import shutil
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from dipbench.cli import main
from dipbench.errors import ConfigError, ImageError
from dipbench.imaging.io import read_image, write_png
from dipbench.methods import RunContext, get_method
from dipbench.metrics import score
from dipbench.pipeline.plan import load_config
from dipbench.tasks import make_task

TINY_DIP = ["--steps", "3", "--param", "channels=8", "--param", "scales=3", "--param", "input_depth=4",
            "--param", "precision=\"fp32\"", "--quiet"]


def _one_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("dipbench: error:") and "\n" not in err and "Traceback" not in err, err
    return err


@pytest.fixture
def clean_png(tmp_path, smooth_rgb):
    path = tmp_path / "clean.png"
    write_png(path, smooth_rgb)
    return path


def _config(methods=("dip",), params=None, **top):
    return {**top, "experiments": {"e": {"task": {"name": "denoise"}, "datasets": ["builtin"],
                                         "methods": list(methods), "params": params or {}}}}


# ------------------------------------------------------------------------------------------- config values
@pytest.mark.parametrize("params, words", [
    ({"dip": {"steps": "twenty"}}, "'steps' is 'twenty'; it must be an integer >= 1 or 'auto'"),
    ({"dip": {"lr": "abc"}}, "'lr' is 'abc'"),
    ({"dip": {"lr": 1e6}}, "'lr' is 1000000.0; it must be a finite number > 0 and <= 1"),
    ({"dip": {"lr": float("nan")}}, "'lr' is nan"),
    ({"dip": {"steps": 0}}, "'steps' is 0"),
    ({"dip": {"steps": 2.5}}, "'steps' is 2.5"),
    ({"dip": {"output": "best"}}, "one of ema, last"),
    ({"dip": {"precision": "fp16"}}, "'precision' is 'fp16'"),
    ({"dip": {"early_stopping": {"window": 0}}}, "window must be an integer >= 1"),
    ({"dip": {"align_corners": "yes"}}, "'align_corners' is 'yes'; it must be true or false"),
    ({"nlm": {"patch_size": -1}}, "'patch_size' is -1"),
    ({"tv": {"weight_factor": "strong"}}, "'weight_factor' is 'strong'"),
    ({"bm3d": {"profile": "fast"}}, "'profile' is 'fast'"),
])
def test_bad_method_parameters_are_refused_at_plan_time(params, words):
    with pytest.raises(ConfigError) as error:
        load_config(_config(methods=list(params), params=params))
    assert words in str(error.value) and "\n" not in str(error.value)


@pytest.mark.parametrize("top, words", [
    ({"device": "banana"}, "invalid config at device"),
    ({"device": "$(touch /tmp/x)cpu"}, "invalid config at device"),
    ({"device": "cuda:x"}, "invalid config at device"),
    ({"precision": "fp16"}, "invalid config at precision"),
    ({"threads": {"default": 0}}, "invalid config at threads"),
    ({"plugins": ["/nonexistent/plugin.py"]}, "plugin file not found"),
])
def test_bad_top_level_settings_are_refused(top, words):
    with pytest.raises(ConfigError, match=words.replace("(", r"\(")):
        load_config(_config(**top))


def test_a_named_gpu_that_is_not_here_is_one_line_when_the_job_starts(smooth_rgb):
    import torch

    if torch.cuda.device_count() > 7:
        pytest.skip("this machine has 8 GPUs")
    load_config(_config(device="cuda:7"))  # a valid name: the planning machine need not have the GPU
    obs = make_task("denoise").degrade(smooth_rgb, np.random.default_rng(0))
    with pytest.raises(ConfigError, match="cuda"):
        get_method("dip")("denoise", **get_method("dip").smoke).restore(obs, RunContext(device="cuda:7"))


# ------------------------------------------------------------------------------------------ CLI values
@pytest.mark.parametrize("extra, words", [
    (["--param", "lr=abc"], "'lr' is 'abc'"),
    (["--param", "lr"], "--param expects KEY=VALUE"),
    (["--param", "nope=1"], "unknown parameter"),
    (["--task", "sr", "--scale", "1"], "scale must be an integer >= 2"),
    (["--sigma", "-5"], "sigma must be a number > 0"),
])
def test_bad_cli_values_are_one_line_with_exit_2(tmp_path, clean_png, capsys, extra, words):
    args = ["restore", str(clean_png), "--simulate", "-o", str(tmp_path / "o.png"), *TINY_DIP]
    if "--task" not in extra:
        args += ["--task", "denoise"]
    assert main(args + extra) == 2
    assert words in _one_line(capsys)


@pytest.mark.parametrize("extra, words", [
    (["--sigma", "1e9"], "sigma must be a number > 0 and <= 255"),
    (["--scale", "4"], "--scale is not an option of task 'denoise' (it takes --sigma)"),
    (["--mask", "m.png"], "--mask is not an option of task 'denoise'"),
    (["--task", "sr"], "sr: give --scale"),
    (["--task", "sr", "--scale", "64"], "scale must be an integer >= 2 and <= 32"),
    (["--task", "inpaint", "--sigma", "25"], "--sigma is not an option of task 'inpaint'"),
])
def test_task_options_out_of_range_or_for_another_task_are_refused(tmp_path, clean_png, capsys, monkeypatch,
                                                                   extra, words):
    monkeypatch.setattr("dipbench.methods.dip.method.DIP.restore", lambda *a: pytest.fail("the fit ran"))
    args = ["restore", str(clean_png), "-o", str(tmp_path / "o.png"), *TINY_DIP, *extra]
    if "--task" not in extra:
        args += ["--task", "denoise"]
    assert main(args) == 2
    assert words in _one_line(capsys)


def test_a_negative_seed_is_refused_by_the_parser(tmp_path, clean_png, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["restore", str(clean_png), "--task", "denoise", "--seed", "-1", "-o", str(tmp_path / "o.png")])
    assert exit_.value.code == 2 and "whole number >= 0" in capsys.readouterr().err


@pytest.mark.parametrize("extra, words", [
    (["--task", "sr", "--scale", "0"], "--scale must be an integer >= 2, got 0"),
    (["--task", "sr"], "needs --scale"),
    (["--task", "denoise", "--scale", "4"], "--scale applies to upscaling tasks only"),
])
def test_score_scale_has_a_range(tmp_path, smooth_rgb, capsys, extra, words):
    write_png(tmp_path / "a.png", smooth_rgb)
    assert main(["score", "--gt", str(tmp_path / "a.png"), "--pred", str(tmp_path / "a.png"), *extra]) == 2
    assert words in _one_line(capsys)


def test_bad_device_is_refused_by_the_parser(tmp_path, clean_png, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["restore", str(clean_png), "--task", "denoise", "--device", "banana", "-o", str(tmp_path / "o.png")])
    assert exit_.value.code == 2
    assert "not a device name" in capsys.readouterr().err


def test_cuda_on_a_machine_without_it_is_one_line(tmp_path, clean_png, capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    code = main(["restore", str(clean_png), "--task", "denoise", "--simulate", "--device", "cuda",
                 "-o", str(tmp_path / "o.png"), *TINY_DIP])
    assert code == 2 and "sees no CUDA device" in _one_line(capsys)


def test_debug_shows_the_traceback(tmp_path, clean_png):
    with pytest.raises(ConfigError):
        main(["--debug", "restore", str(clean_png), "--task", "denoise", "--method", "dpi",
              "-o", str(tmp_path / "o.png")])


# ---------------------------------------------------------------------------------------- output paths
def test_output_equal_to_the_input_is_refused_before_any_work(tmp_path, clean_png, capsys):
    before = clean_png.read_bytes()
    spelled = tmp_path / "." / "clean.png"
    assert main(["restore", str(spelled), "--task", "denoise", "--simulate", "-o", str(clean_png), *TINY_DIP]) == 2
    assert "is also an input" in _one_line(capsys)
    assert clean_png.read_bytes() == before


@pytest.mark.parametrize("name, words", [("out.jpg", "lossless"), ("missing/out.png", "does not exist")])
def test_bad_outputs_are_refused_before_the_fit(tmp_path, clean_png, capsys, monkeypatch, name, words):
    monkeypatch.setattr("dipbench.methods.dip.method.DIP.restore", lambda *a: pytest.fail("the fit ran"))
    assert main(["restore", str(clean_png), "--task", "denoise", "--simulate", "-o", str(tmp_path / name),
                 *TINY_DIP]) == 2
    assert words in _one_line(capsys)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_unwritable_output_folder_is_refused_before_the_fit(tmp_path, clean_png, capsys):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    assert main(["restore", str(clean_png), "--task", "denoise", "--simulate", "-o", str(locked / "o.png"),
                 *TINY_DIP]) == 2
    assert "permission denied" in _one_line(capsys)


def test_output_format_follows_the_extension(tmp_path, clean_png):
    out = tmp_path / "out.tif"
    assert main(["restore", str(clean_png), "--task", "denoise", "--simulate", "--method", "tv", "--quiet",
                 "-o", str(out)]) == 0
    with Image.open(out) as image:
        assert image.format == "TIFF"


@pytest.mark.parametrize("sidecar", [".curve.csv", ".curve.png", ".curve.pdf"])
def test_an_existing_sidecar_the_user_did_not_name_is_never_replaced(tmp_path, clean_png, capsys, monkeypatch, sidecar):
    mine = tmp_path / f"res{sidecar}"
    mine.write_bytes(b"the user's own file")
    monkeypatch.setattr("dipbench.methods.dip.method.DIP.restore", lambda *a: pytest.fail("the fit ran"))
    out = tmp_path / "res.png"
    assert main(["restore", str(clean_png), "--task", "denoise", "--simulate", "-o", str(out), *TINY_DIP]) == 2
    err = _one_line(capsys)
    assert f"{mine} exists" in err and "--overwrite" in err
    assert mine.read_bytes() == b"the user's own file" and not out.exists()


def test_overwrite_replaces_the_sidecars_and_help_says_so(tmp_path, clean_png, capsys):
    out = tmp_path / "res.png"
    (tmp_path / "res.curve.csv").write_text("old")
    args = ["restore", str(clean_png), "--task", "denoise", "--simulate", "-o", str(out), *TINY_DIP]
    assert main(args + ["--overwrite"]) == 0
    assert (tmp_path / "res.curve.csv").read_text().startswith("step,loss")
    assert main(args) == 2  # a second run without the flag: the curve files are now there
    with pytest.raises(SystemExit):
        main(["restore", "--help"])
    assert "--overwrite" in capsys.readouterr().out


# ------------------------------------------------------------------------------ image sizes and scales
@pytest.mark.parametrize("method", ["dip", "tv", "bicubic", "no_prior"])
def test_sr_at_scale_3_works_for_every_sr_method(smooth_rgb, method):
    task = make_task("sr", scale=3, crop_multiple=3)
    obs = task.degrade(task.prepare_gt(smooth_rgb[:63, :63]), np.random.default_rng(0))
    cls = get_method(method)
    params = cls.resolve_params("sr", {"precision": "fp32"} if method == "dip" else {}, smoke=True)
    result = cls("sr", **params).restore(obs, RunContext(seed=0))
    assert result.image.shape == obs.output_shape == (63, 63, 3)


def test_lanczos_operator_keeps_the_size_for_odd_factors():
    import torch

    from dipbench.imaging.operators import LanczosDownsampler

    for factor in (2, 3, 4, 5, 8):
        x = torch.rand(1, 3, 16 * factor, 8 * factor)
        assert LanczosDownsampler(factor)(x).shape == (1, 3, 16, 8)


def test_dip_on_a_tiny_image_is_refused_with_the_minimum_size(smooth_rgb):
    obs = make_task("denoise").degrade(smooth_rgb[:32, :32], np.random.default_rng(0))
    with pytest.raises(ImageError, match="at least 33 px"):
        get_method("dip")("denoise", steps=2).restore(obs, RunContext(seed=0))
    with pytest.raises(ConfigError, match="image_size 32 is too small for 'dip'"):
        cfg = _config()
        cfg["experiments"]["e"]["image_size"] = 32
        load_config(cfg)


def test_odd_sizes_come_back_at_their_size(smooth_rgb):
    obs = make_task("denoise").degrade(smooth_rgb[:45, :51], np.random.default_rng(0))
    result = get_method("dip")("denoise", steps=2, precision="fp32").restore(obs, RunContext(seed=0))
    assert result.image.shape == (45, 51, 3)


# ---------------------------------------------------------------------------------------------- images
def _png_declaring(width: int, height: int) -> bytes:
    """A 1-bit grayscale PNG whose header declares ``width`` x ``height`` pixels, its data a few zero bytes
    (the size check comes before any decoding)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 16))
            + chunk(b"IEND", b""))


def test_decompression_bomb_is_one_line(tmp_path):
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(_png_declaring(100000, 100000))  # 68 bytes on disk, 10^10 px declared
    with pytest.raises(ImageError, match="too large to decode safely"):
        read_image(bomb)


@pytest.mark.parametrize("content", [b"", b"not an image", b"\x89PNG\r\n\x1a\n" + b"\x00" * 20])
def test_unreadable_images_are_one_line(tmp_path, content, capsys):
    path = tmp_path / "bad.png"
    path.write_bytes(content)
    assert main(["restore", str(path), "--task", "denoise", "-o", str(tmp_path / "o.png")]) == 1
    assert "cannot read image" in _one_line(capsys)


def test_a_named_pipe_or_a_link_loop_as_the_input_is_one_line_at_once(tmp_path, capsys):
    os.mkfifo(tmp_path / "pipe.png")
    (tmp_path / "loop.png").symlink_to(tmp_path / "loop.png")
    for name, words in (("pipe.png", "not a regular file"), ("loop.png", "a loop of symbolic links")):
        assert main(["restore", str(tmp_path / name), "--task", "denoise", "--method", "input",
                     "-o", str(tmp_path / "o.png")]) == 1
        assert words in _one_line(capsys)


def test_an_exif_rotated_photo_is_restored_upright(tmp_path, capsys):
    pil = Image.fromarray(np.zeros((32, 48, 3), dtype=np.uint8))
    exif = pil.getexif()
    exif[0x0112] = 8
    pil.save(tmp_path / "photo.jpg", exif=exif)
    assert main(["restore", str(tmp_path / "photo.jpg"), "--task", "denoise", "--method", "input", "--quiet",
                 "-o", str(tmp_path / "o.png")]) == 0
    assert read_image(tmp_path / "o.png").shape == (48, 32, 3)
    assert "EXIF orientation 8" in capsys.readouterr().err


def test_a_folder_given_as_an_image_is_one_line(tmp_path, capsys):
    assert main(["restore", str(tmp_path), "--task", "denoise", "-o", str(tmp_path / "o.png")]) == 1
    _one_line(capsys)


# --------------------------------------------------------------------------------------------- scoring
def test_channel_mismatch_is_refused_unless_asked_to_convert(smooth_rgb, gray_image, tmp_path, capsys):
    with pytest.raises(ImageError, match="channel"):
        score(smooth_rgb, gray_image, "denoise")
    with pytest.raises(ImageError, match="channel"):
        score(gray_image, smooth_rgb, "denoise")
    assert np.isfinite(score(smooth_rgb, gray_image, "denoise", convert_channels=True)["psnr"])
    write_png(tmp_path / "rgb.png", smooth_rgb)
    write_png(tmp_path / "gray.png", gray_image)
    args = ["score", "--gt", str(tmp_path / "rgb.png"), "--pred", str(tmp_path / "gray.png"), "--task", "denoise"]
    assert main(args) == 1 and "--convert" in _one_line(capsys)
    assert main(args + ["--convert"]) == 0


@pytest.mark.parametrize("size", [1, 5])
def test_tiny_images_under_basicsr_are_one_line(size):
    image = np.full((size, size, 3), 0.5, dtype=np.float32)
    with pytest.raises(ImageError, match="too small for SSIM|no pixels"):
        score(image, image, "denoise", "basicsr")


# ---------------------------------------------------------------------------------------- run identity
def test_simulated_runs_depend_on_the_content_not_the_path_spelling(tmp_path, clean_png):
    copy = tmp_path / "sub" / "renamed.png"
    copy.parent.mkdir()
    shutil.copy(clean_png, copy)
    outs = []
    for i, path in enumerate([clean_png, tmp_path / "sub" / ".." / "clean.png", copy]):
        out = tmp_path / f"o{i}.png"
        assert main(["restore", str(path), "--task", "denoise", "--simulate", "-o", str(out), *TINY_DIP]) == 0
        outs.append(read_image(out))
    for other in outs[1:]:
        np.testing.assert_array_equal(outs[0], other)


# --------------------------------------------------------------------------------------------- plugins
@pytest.mark.parametrize("source, words", [
    ("raise RuntimeError('boom')\n", "RuntimeError: boom"),
    ("def broken(:\n", "SyntaxError at line 1"),
    ("import no_such_package_xyz\n", "ModuleNotFoundError"),
])
def test_a_broken_plugin_is_one_line_naming_the_file(tmp_path, source, words):
    plugin = tmp_path / f"plugin_{abs(hash(source))}.py"
    plugin.write_text(source)
    with pytest.raises(ConfigError) as error:
        load_config(_config(plugins=[str(plugin)]))
    message = str(error.value)
    assert str(plugin) in message and words in message and "\n" not in message


# ------------------------------------------------------------------------------------------ divergence
def test_a_diverging_fit_is_flagged_and_warned(smooth_rgb, tmp_path, clean_png, capsys):
    from dipbench.methods.divergence import DivergenceWarning

    obs = make_task("denoise").degrade(smooth_rgb[:48, :48], np.random.default_rng(0))
    dip = get_method("dip")("denoise", steps=30, lr=1.0, channels=16, scales=3, log_every=10, precision="fp32")
    with pytest.warns(DivergenceWarning, match="diverged"):
        result = dip.restore(obs, RunContext(seed=0))
    assert result.info["diverged"] is True and result.info["loss_ratio"] > 1
    calm = get_method("dip")("denoise", steps=30, channels=16, scales=3, log_every=10, precision="fp32")
    assert calm.restore(obs, RunContext(seed=0)).info["diverged"] is False
