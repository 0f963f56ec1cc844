"""Paired comparisons against the reference: wins/ties/losses, mean difference with its 95% CI and the
Wilcoxon p-value, checked on constructed results with known values."""

import math

import numpy as np
import pandas as pd
import pytest

from dipbench.report.stats import paired, versus_reference


def test_paired_summary_of_known_differences():
    result = paired(np.array([1.0, 2.0, 3.0, 4.0, 5.0]), tie=0.005)
    assert (result.pairs, result.wins, result.ties, result.losses) == (5, 5, 0, 0)
    assert result.mean_delta == pytest.approx(3.0)
    half = 2.7764451051977987 * math.sqrt(2.5) / math.sqrt(5)  # t(0.975, 4) * s / sqrt(n)
    assert result.ci == pytest.approx((3.0 - half, 3.0 + half))
    assert result.p == pytest.approx(2 / 32)  # exact Wilcoxon: all five signs positive, two-sided


def test_ties_losses_and_lower_is_better():
    result = paired(np.array([0.004, -1.0, 0.5, -0.2]), tie=0.005)
    assert (result.wins, result.ties, result.losses) == (1, 1, 2)
    faster = paired(np.array([-2.0, -1.0]), tie=0.05, higher_is_better=False)  # e.g. runtime: lower wins
    assert faster.wins == 2 and faster.losses == 0


def test_undefined_cases():
    assert math.isnan(paired(np.array([1.0]), tie=0.005).p)
    assert math.isnan(paired(np.zeros(4), tie=0.005).p)
    assert paired(np.array([]), tie=0.005).pairs == 0


def test_versus_reference_pairs_images_and_seeds():
    rows = []
    for image, base in (("a", 30.0), ("b", 28.0), ("c", 25.0)):
        for seed in (0, 1):
            rows.append({"image": image, "seed": seed, "label": "dip", "psnr": base + 0.1 * seed})
            rows.append({"image": image, "seed": seed, "label": "new", "psnr": base + 0.1 * seed + 0.5})
            rows.append({"image": image, "seed": seed, "label": "same", "psnr": base + 0.1 * seed})
    table = versus_reference(pd.DataFrame(rows), "dip")
    assert list(table.index) == ["new", "same"]
    assert table.loc["new", "pairs"] == 6 and table.loc["new", "wins"] == 6
    assert table.loc["new", "mean_delta"] == pytest.approx(0.5)
    assert table.loc["new", "p"] == pytest.approx(2 / 64)
    assert table.loc["same", "ties"] == 6 and math.isnan(table.loc["same", "p"])
    with pytest.raises(ValueError, match="reference 'nope'"):
        versus_reference(pd.DataFrame(rows), "nope")


def _results():
    rows = []
    for image, base in (("a", 30.0), ("b", 28.0), ("c", 25.0)):
        for seed in (0, 1):
            for label, method, offset, runtime in (("DIP", "dip", 0.1 * seed, 60.0), ("New", "new", 0.5 + 0.1 * seed, 30.0),
                                                  ("noisy", "input", -10.0, 0.1)):
                rows.append({"experiment": "e", "dataset": "d", "task": "denoise",
                             "task_params": '{"sigma": 25.0}', "protocol": "dip_paper", "image": image, "seed": seed,
                             "label": label, "method": method, "psnr": base + offset, "ssim": 0.5,
                             "runtime_s": runtime, "steps_run": 1800 if method != "input" else None})
    return pd.DataFrame(rows)


def test_tables_carry_spread_reference_delta_effort_and_a_paper_caption():
    from dipbench.report.tables import metric_table

    table = metric_table(_results(), "e", "d", reference="DIP", order=["noisy", "New", "DIP"])
    assert list(table.values.index) == ["New", "DIP", "noisy"]  # the config's order, the degraded input last
    assert "± std" in table.values.columns and table.values.at["DIP", "± std"] == pytest.approx(0.0707, abs=1e-4)
    assert table.values.at["New", "Δ DIP"] == pytest.approx(0.5)
    assert table.values.at["New", "s/run"] == 30.0 and table.values.at["DIP", "steps"] == 1800
    assert table.caption == ("Denoising, σ = 25 (e) on d, 3 images, mean over 2 seeds; PSNR (dB), "
                             "dip_paper protocol.")


def test_versus_the_reference_table_in_the_report(tmp_path):
    from dipbench.report.tables import write_report_tables

    write_report_tables(_results(), tmp_path, references={"e": "DIP"}, orders={"e": ["DIP", "New", "noisy"]})
    md = (tmp_path / "tables/e_d.md").read_text()
    assert "versus DIP, paired over (image, seed)" in md
    assert "| New | 6 | 6 | 0 | 0 | +0.50 | [+0.50, +0.50] | 0.031 |" in md
    assert "| noisy | 6 | 0 | 0 | 6 | -10.05 | [-10.11, -9.99] | 0.031 |" in md
    assert (tmp_path / "tables/e_d_vs_DIP.tex").is_file()
