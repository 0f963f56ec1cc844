"""The command line: one-line errors for bad input, restore and score on small files."""

import numpy as np
import pytest

from dipbench.cli import main
from dipbench.imaging.io import read_image, write_png

TINY_DIP = ["--steps", "4", "--param", "channels=8", "--param", "scales=3", "--param", "input_depth=4",
            "--param", "log_every=2", "--quiet"]


@pytest.fixture
def clean_png(tmp_path, smooth_rgb):
    path = tmp_path / "clean.png"
    write_png(path, smooth_rgb)
    return path


def _one_line_error(capsys):
    err = capsys.readouterr().err.strip()
    assert err.startswith("dipbench: error:") and "\n" not in err and "Traceback" not in err
    return err


def test_restore_simulated_denoise_writes_image_curve_and_psnr(tmp_path, clean_png, capsys):
    out = tmp_path / "out.png"
    assert main(["restore", str(clean_png), "--task", "denoise", "--simulate", "-o", str(out), *TINY_DIP]) == 0
    printed = capsys.readouterr().out
    assert "PSNR" in printed
    assert read_image(out).shape == (64, 64, 3)
    assert out.with_suffix(".curve.csv").is_file() and out.with_suffix(".curve.png").stat().st_size > 0


def test_restore_real_lr_image_upscales(tmp_path, smooth_rgb, capsys):
    lr = tmp_path / "lr.png"
    write_png(lr, smooth_rgb[::4, ::4])
    out = tmp_path / "sr.png"
    assert main(["restore", str(lr), "--task", "sr", "--scale", "4", "--method", "bicubic", "-o", str(out)]) == 0
    assert read_image(out).shape == (64, 64, 3)


def test_score_prints_psnr(tmp_path, clean_png, smooth_rgb, capsys):
    noisy = tmp_path / "noisy.png"
    write_png(noisy, np.clip(smooth_rgb + 0.1, 0, 1))
    assert main(["score", "--gt", str(clean_png), "--pred", str(noisy), "--task", "denoise"]) == 0
    assert "PSNR" in capsys.readouterr().out


def test_unreadable_image_is_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not a png")
    assert main(["restore", str(bad), "--task", "denoise", "-o", str(tmp_path / "o.png")]) == 1
    assert "cannot read image" in _one_line_error(capsys)


def test_mask_size_mismatch_is_one_line(tmp_path, clean_png, capsys):
    mask = tmp_path / "mask.png"
    write_png(mask, np.ones((10, 12, 1)))
    assert main(["restore", str(clean_png), "--task", "inpaint", "--mask", str(mask), "-o", str(tmp_path / "o.png")]) == 1
    assert "mask" in _one_line_error(capsys)


def test_unknown_method_is_one_line(tmp_path, clean_png, capsys):
    assert main(["restore", str(clean_png), "--task", "denoise", "--method", "dpi", "-o", str(tmp_path / "o.png")]) == 2
    assert "unknown method 'dpi'" in _one_line_error(capsys)


# ------------------------------------------------------------------------------ threads, help, methods
def _subparsers(parser, prefix=""):
    import argparse

    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield f"{prefix}{name}", sub
                yield from _subparsers(sub, f"{prefix}{name} ")


def test_free_cores_subtract_the_rounded_load_average():
    from dipbench.threads import free_cores

    assert [free_cores(load, 2) for load in (0.0, 0.4, 0.6, 1.4, 1.6, 9.0)] == [2, 2, 1, 1, 1, 1]
    assert free_cores(2.5, 8) == 5 and free_cores(0.2, 8) == 8


def test_restore_help_names_threads_and_every_default_in_plain_text():
    from dipbench.cli import build_parser

    parser = build_parser()
    subs = dict(_subparsers(parser))
    restore = [a for a in subs["restore"]._actions if a.dest != "help" and a.option_strings]
    assert "threads" in {a.dest for a in restore}
    for action in restore:
        assert action.help and ("default" in action.help or "required" in action.help), action.option_strings
    for name, sub in [("dipbench", parser), *subs.items()]:
        text = sub.format_help()
        assert "``" not in text and ":data:" not in text and ":class:" not in text, name


def test_restore_warns_once_when_threads_exceed_the_free_cores(tmp_path, smooth_rgb, capsys, monkeypatch):
    import os

    import torch

    lr = tmp_path / "lr.png"
    write_png(lr, smooth_rgb[::4, ::4])
    monkeypatch.setattr(os, "getloadavg", lambda: (64.0, 64.0, 64.0))  # every core busy: 1 free
    args = ["restore", str(lr), "--task", "sr", "--scale", "4", "--method", "bicubic"]
    assert main([*args, "--threads", "2", "-o", str(tmp_path / "a.png")]) == 0
    warnings = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert len(warnings) == 1 and "2 threads but only 1 of" in warnings[0] and "--threads 1" in warnings[0]
    assert torch.get_num_threads() == 2
    assert main([*args, "-o", str(tmp_path / "b.png")]) == 0  # the default follows the rule: no warning
    assert "warning" not in capsys.readouterr().err and torch.get_num_threads() == 1


def test_methods_is_an_aligned_table(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))  # its cache (dipbench.methods_table) goes here
    assert main(["methods"]) == 0
    lines = capsys.readouterr().out.splitlines()
    header = lines[0]
    assert header.split() == ["method", "version", "tasks", "description"]
    starts = [header.index(word) for word in ("version", "tasks", "description")]
    for line in lines[1:]:
        for start in starts:  # every column starts at the header's position (continuation lines too)
            assert line[start - 2:start] == "  " or len(line) <= start, line
    names = [line.split()[0] for line in lines[1:] if not line.startswith(" ")]
    assert {"dip", "tv", "input", "zs_n2n"} <= set(names) and "``" not in "\n".join(lines)


def test_methods_table_is_cached_until_the_code_or_plugins_change(tmp_path, monkeypatch):
    from dipbench import methods_table

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("DIPBENCH_PLUGINS", raising=False)
    monkeypatch.setattr(methods_table, "cache_key", lambda plugins: None if plugins else "key-1")
    rows = methods_table.method_rows()
    assert {"dip", "tv", "bicubic"} <= {row[0] for row in rows} and all(len(row) == 4 for row in rows)
    assert methods_table.cache_file().is_file()

    def no_import():
        raise AssertionError("listed again")

    real = methods_table.listed_rows
    monkeypatch.setattr(methods_table, "listed_rows", no_import)
    assert methods_table.method_rows() == rows  # from the cache: no method module imported
    monkeypatch.setattr(methods_table, "cache_key", lambda plugins: "key-2")  # a source file changed
    monkeypatch.setattr(methods_table, "listed_rows", lambda: real()[:1])
    assert methods_table.method_rows() == rows[:1]
    assert methods_table.method_rows(plugins=True) == rows[:1]  # plugins: listed afresh, never cached


def test_methods_cache_key_follows_the_sources(tmp_path, monkeypatch):
    from dipbench import methods_table

    monkeypatch.delenv("DIPBENCH_PLUGINS", raising=False)
    package = tmp_path / "pkg"
    (package / "methods").mkdir(parents=True)
    source = package / "methods" / "m.py"
    source.write_text("x = 1\n")
    monkeypatch.setattr(methods_table, "PACKAGE", package)
    first = methods_table.cache_key(False)
    assert first == methods_table.cache_key(False) and methods_table.cache_key(True) is None
    source.write_text("x = 22\n")
    assert methods_table.cache_key(False) != first
    monkeypatch.setenv("DIPBENCH_PLUGINS", "a.py")
    assert methods_table.cache_key(False) is None


def test_report_of_a_folder_without_a_workflow_plan_is_one_line(tmp_path, capsys):
    from dipbench.cli import main

    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("dipbench: error: ") and "has no workflow plan" in err and len(err.splitlines()) == 1
