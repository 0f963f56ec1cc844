"""Paired comparisons against the reference, with the image as the unit: wins/ties/losses per image, the mean
difference with its 95% CI, the exact Wilcoxon p (or "n too small"), Holm's correction and the seed spread,
checked on constructed results with known values and against a hand computation from runs.csv."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from dipbench.report.comparison import per_image_table, versus_reference_table
from dipbench.report.stats import holm, paired, seed_spread, smallest_p, versus_reference
from dipbench.report.table_files import write_report_tables
from dipbench.report.tables import metric_table


def test_paired_summary_of_known_differences():
    result = paired(np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0]), tie=0.005)
    assert (result.images, result.wins, result.ties, result.losses) == (6, 6, 0, 0)
    assert result.mean_delta == pytest.approx(3.5)
    half = stats.t.ppf(0.975, 5) * math.sqrt(3.5) / math.sqrt(6)  # t(0.975, 5) * s / sqrt(n), s^2 = 3.5
    assert result.ci == pytest.approx((3.5 - half, 3.5 + half))
    assert result.p == pytest.approx(2 / 64) and result.testable  # exact: all six signs positive, two-sided


def test_the_exact_test_cannot_go_below_two_over_two_to_the_n():
    assert [smallest_p(n) for n in (0, 1, 3, 5, 6)] == [1.0, 1.0, 0.25, 0.0625, 0.03125]
    five = paired(np.array([1.0, 2.0, 3.0, 4.0, 5.0]), tie=0.005)
    assert not five.testable and math.isnan(five.p) and five.smallest_p == pytest.approx(0.0625)
    # ties among |differences| keep the exact bound (a normal approximation would print p = 0.11 here)
    tied = paired(np.array([0.7, 0.7, 0.7]), tie=0.005)
    assert math.isnan(tied.p) and tied.smallest_p == 0.25


def test_ties_losses_and_lower_is_better():
    result = paired(np.array([0.004, -1.0, 0.5, -0.2]), tie=0.005)
    assert (result.wins, result.ties, result.losses) == (1, 1, 2)
    faster = paired(np.array([-2.0, -1.0]), tie=0.05, higher_is_better=False)  # e.g. runtime: lower wins
    assert faster.wins == 2 and faster.losses == 0


def test_undefined_cases():
    assert math.isnan(paired(np.array([1.0]), tie=0.005).p)
    assert math.isnan(paired(np.zeros(8), tie=0.005).p)  # no non-zero difference: nothing to test
    assert paired(np.array([]), tie=0.005).images == 0


def test_holm_multiplies_the_kth_smallest_by_m_minus_k_plus_one_and_stays_monotone():
    adjusted = holm(pd.Series({"a": 0.01, "b": 0.04, "c": 0.03, "d": np.nan}))
    assert adjusted["a"] == pytest.approx(0.03)  # 3 x 0.01
    assert adjusted["c"] == pytest.approx(0.06)  # 2 x 0.03
    assert adjusted["b"] == pytest.approx(0.06)  # 1 x 0.04 = 0.04, raised to the previous 0.06
    assert math.isnan(adjusted["d"])  # untested rows are not part of the family


def _deterministic_runs(images=3, seeds=3):
    """Two deterministic methods (one run per image) and DIP with ``seeds`` seeds, as the workflow records
    them: the deterministic runs once, with seed 0."""
    rows = []
    for i in range(images):
        base = 25.0 + i
        for seed in range(seeds):
            rows.append({"image": f"im{i}", "seed": seed, "label": "dip", "method": "dip", "psnr": base + 0.1 * seed})
        rows.append({"image": f"im{i}", "seed": 0, "label": "bm3d", "method": "bm3d", "psnr": base + 1.0 + 0.01 * i})
        rows.append({"image": f"im{i}", "seed": 0, "label": "nlm", "method": "nlm", "psnr": base - 0.5})
    return pd.DataFrame(rows)


def test_three_images_of_deterministic_methods_are_three_pairs_and_no_p_below_a_quarter():
    table = versus_reference(_deterministic_runs(), "bm3d")
    assert set(table["images"]) == {3}  # not 9 (image, seed) pairs
    assert table["p"].isna().all() and (table["smallest_p"] == 0.25).all()
    assert not table["significant"].any()
    assert table.loc["dip", "seeds"] == 3 and table.loc["nlm", "seeds"] == 1
    assert math.isnan(table.loc["nlm", "seed_spread"])  # one run per image: no spread, never replicated


def test_seed_noise_larger_than_the_effect_is_averaged_per_image_before_pairing():
    rng = np.random.default_rng(0)
    rows = []
    for i in range(8):
        base = 24.0 + 2 * i
        for seed in range(4):
            rows.append({"image": f"im{i}", "seed": seed, "label": "ref", "psnr": base + rng.normal(0, 1.0)})
            rows.append({"image": f"im{i}", "seed": seed, "label": "new", "psnr": base + 0.3 + rng.normal(0, 1.0)})
    runs = pd.DataFrame(rows)
    table = versus_reference(runs, "ref")
    means = runs.groupby(["image", "label"])["psnr"].mean().unstack()
    deltas = means["new"] - means["ref"]
    assert table.loc["new", "images"] == 8
    assert table.loc["new", "mean_delta"] == pytest.approx(deltas.mean())
    assert table.loc["new", "p"] == pytest.approx(stats.wilcoxon(deltas.to_numpy(), method="exact").pvalue)
    assert table.loc["new", "wins"] + table.loc["new", "losses"] + table.loc["new", "ties"] == 8
    spread = runs[runs["label"] == "new"].groupby("image")["psnr"].std(ddof=1).mean()
    assert table.loc["new", "seed_spread"] == pytest.approx(spread)
    assert spread > 0.6 > abs(deltas.mean())  # the seed noise is larger than the effect it hides


def _results(images=("a", "b", "c"), seeds=(0, 1)):
    rows = []
    for n, image in enumerate(images):
        base = 30.0 - 2 * n
        for seed in seeds:
            for label, method, offset, runtime in (("DIP", "dip", 0.1 * seed, 60.0),
                                                  ("New", "new", 0.5 + 0.1 * seed, 30.0)):
                rows.append({"experiment": "e", "dataset": "d", "task": "denoise", "task_params": '{"sigma": 25.0}',
                             "protocol": "dip_paper", "image": image, "seed": seed, "label": label, "method": method,
                             "psnr": base + offset, "ssim": 0.5, "runtime_s": runtime, "steps_run": 1800})
        rows.append({"experiment": "e", "dataset": "d", "task": "denoise", "task_params": '{"sigma": 25.0}',
                     "protocol": "dip_paper", "image": image, "seed": 0, "label": "noisy", "method": "input",
                     "psnr": base - 10.0, "ssim": 0.3, "runtime_s": 0.1, "steps_run": None})
    return pd.DataFrame(rows)


def test_tables_carry_spread_reference_delta_effort_and_a_paper_caption():
    table = metric_table(_results(), "e", "d", reference="DIP", order=["noisy", "New", "DIP"])
    assert list(table.values.index) == ["New", "DIP", "noisy"]  # the config's order, the degraded input last
    assert "± std" in table.values.columns and table.values.at["DIP", "± std"] == pytest.approx(0.0707, abs=1e-4)
    assert math.isnan(table.values.at["noisy", "± std"])  # one run per image: no spread
    assert table.values.at["New", "Δ DIP"] == pytest.approx(0.5)
    assert table.values.at["New", "s/run"] == 30.0 and table.values.at["DIP", "steps"] == 1800
    assert table.caption == ("Denoising, σ = 25 (e) on d, 3 images, mean over 2 seeds (one run for the deterministic "
                             "rows); PSNR (dB), dip_paper protocol.")
    assert any(note.startswith("± std: the standard deviation over seeds") for note in table.notes)


def test_the_versus_table_says_n_is_too_small_and_marks_what_survives_holm(tmp_path):
    write_report_tables(_results(), tmp_path, references={"e": "DIP"}, orders={"e": ["DIP", "New", "noisy"]})
    md = (tmp_path / "tables/e_d.md").read_text()
    assert "versus DIP, paired by image" in md
    assert "| New | 3 | 3 | 0 | 0 | +0.50 | [+0.50, +0.50] | n too small (≥ 0.25) | – | 0.07 |" in md
    assert "| noisy | 3 | 0 | 0 | 3 | -10.05 | [-10.05, -10.05] | n too small (≥ 0.25) | – | – |" in md
    assert (tmp_path / "tables/e_d_vs_DIP.tex").is_file()

    eight = _results(images=tuple("abcdefgh"))
    table = versus_reference_table(eight, "e", "d", "DIP")
    assert table.cell("New", "p (Wilcoxon)") == "0.008"  # 2 / 2^8
    assert table.cell("New", "p (Holm)") == "0.016 *"  # two tested rows: 2 x 0.0078
    assert table.cell("noisy", "p (Holm)") == "0.016 *"


def test_hand_computation_from_runs_csv_agrees_with_the_printed_table(tmp_path):
    from dipbench.report.records import write_tables

    df = _results(images=tuple("abcdefg"), seeds=(0, 1, 2))
    rng = np.random.default_rng(1)
    df["psnr"] = df["psnr"] + rng.normal(0, 0.4, len(df))
    write_tables(df, tmp_path)
    runs = pd.read_csv(tmp_path / "tables/runs.csv")
    per_image = runs.groupby(["image", "label"])["psnr"].mean().unstack()
    deltas = per_image["New"] - per_image["DIP"]
    half = stats.t.ppf(0.975, len(deltas) - 1) * deltas.std(ddof=1) / math.sqrt(len(deltas))
    p = stats.wilcoxon(deltas.to_numpy(), method="exact").pvalue
    table = versus_reference_table(runs, "e", "d", "DIP")
    assert table.cell("New", "Images") == "7"
    assert table.cell("New", f"Mean Δ") == f"{deltas.mean():+.2f}"
    assert table.cell("New", "95% CI") == f"[{deltas.mean() - half:+.2f}, {deltas.mean() + half:+.2f}]"
    assert table.cell("New", "p (Wilcoxon)") == f"{p:.3f}"
    spread = runs[runs["label"] == "New"].groupby("image")["psnr"].std(ddof=1).mean()
    assert table.cell("New", "Seed spread") == f"{spread:.2f}"


def test_per_image_table_shows_mean_and_seed_std_per_cell():
    table = per_image_table(_results(), "e", "d", order=["DIP", "New", "noisy"])
    assert list(table.values.index) == ["DIP", "New", "noisy"]
    assert list(table.values.columns) == ["a", "b", "c", "Avg."]
    assert table.cell("DIP", "a") == "30.05 ± 0.07"  # seeds 30.0 and 30.1
    assert table.cell("noisy", "a") == "20.00"  # one run: no spread
    assert table.cell("New", "Avg.") == "28.55 ± 0.07"
    assert table.is_bold("New", "a") and not table.is_bold("DIP", "a")
    assert "\\pm" in table.to_latex()


def test_an_underfitted_reference_is_flagged_in_the_tables_and_the_index(tmp_path):
    df = _results()
    df.loc[df["label"] == "DIP", "psnr"] -= 15.0  # below the noisy input: e.g. DIP at 100 steps
    table = versus_reference_table(df, "e", "d", "DIP")
    assert table.notes[0].startswith("Warning: the reference DIP (13.05 dB) scores below the degraded input noisy")
    main = metric_table(df, "e", "d", reference="DIP")
    assert any(note.startswith("Warning: the reference DIP") for note in main.notes)
    write_report_tables(df, tmp_path, references={"e": "DIP"})
    index = (tmp_path / "tables/README.md").read_text()
    assert index.index("## Warnings") < index.index("## e on d")
    assert versus_reference_table(_results(), "e", "d", "DIP").notes[0].startswith("The unit is the image")


def test_seed_spread_is_the_mean_of_per_image_stds():
    runs = pd.DataFrame({"image": ["a", "a", "b", "b", "c"], "label": ["m"] * 5, "psnr": [1.0, 3.0, 2.0, 2.0, 9.0]})
    assert seed_spread(runs)["m"] == pytest.approx((math.sqrt(2) + 0.0) / 2)  # c has one run: not counted
