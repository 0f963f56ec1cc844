"""Figures fit a paper: physical sizes and type sizes, grids in short rows showing each image once, missing
pixels marked, early stopping marked at the chosen step, a PDF beside every PNG, and the summary figure."""

import json

import numpy as np
import pandas as pd
import pytest
from matplotlib.lines import Line2D
from matplotlib.text import Text

from dipbench.imaging.io import write_png
from dipbench.report.build import write_figures
from dipbench.report.comparison_figures import (
    PAPER_COLOR,
    REFERENCE_COLOR,
    comparison_figure,
    comparison_plot,
    summary_figure,
)
from dipbench.report.curve_figures import curve_inputs, curve_provenance, learning_curves_figure
from dipbench.report.figure_style import COLUMN_WIDTH, MIN_FONT_PT, PAGE_WIDTH
from dipbench.report.visual_grid import MISSING_COLOR, grid_columns, visual_grid_figure, visual_panels
from dipbench.report.naming import (
    SUMMARY_FIGURE,
    Name,
    figure_page_name,
    figure_stem,
    impedance_figure_stem,
    is_impedance_stem,
    parse_figure_stem,
    parse_impedance_stem,
    seeds_text,
)
from dipbench.report.records import records_frame
from dipbench.tasks import make_task

SET5 = ["baby", "bird", "butterfly", "head", "woman"]


def frame(experiments=(("sr_x4", "sr", "set5", SET5),), methods=None, seeds=(0, 1)):
    """Records of every method x image x seed of each (experiment, task, dataset, images)."""
    methods = methods or {"dip": 30.0, "bicubic": 28.0, "tv": 27.0}
    rows = []
    for experiment, task, dataset, images in experiments:
        slug = {"sr": "sr_crop_multiple32_lr_kernellanczos_scale4", "denoise": "denoise_clip1_quantize0_sigma25",
                "inpaint": "inpaint_keep0.5"}[task]
        for label, base in methods.items():
            for i, image in enumerate(images):
                for seed in seeds:
                    rows.append({
                        "experiment": experiment, "task": task, "task_slug": slug, "dataset": dataset,
                        "image": image, "method": label, "label": label, "seed": seed,
                        "psnr": base + 0.3 * i + 0.2 * seed, "ssim": 0.8 + 0.01 * i, "protocol": "dip_paper",
                        "curve": "",
                    })
    return records_frame(rows)


def texts(fig):
    """Every visible, non-empty text artist of a drawn figure (tick labels included)."""
    fig.draw_without_rendering()
    return [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]


def assert_legible(fig, width):
    assert fig.get_size_inches()[0] == pytest.approx(width)
    sizes = [t.get_fontsize() for t in texts(fig)]
    assert sizes and min(sizes) >= MIN_FONT_PT


def legend_texts(fig):
    return [t.get_text() for legend in fig.legends for t in legend.get_texts()]


def curves(steps=300):
    step = np.arange(1, steps + 1)
    psnr = 20 + 8 * np.sin(step / 120)
    return {
        f"house, seed {s}": pd.DataFrame({"step": step, "loss": 0.01 * np.exp(-step / 90) + 1e-3, "psnr": psnr + s,
                                         "psnr_ema": psnr + s - 0.5})
        for s in (0, 1)
    }


# --------------------------------------------------------------------------------------------------------------
# sizes and fonts


def test_figures_have_paper_sizes_and_fonts_of_at_least_7pt(tmp_path):
    df = frame()
    assert_legible(comparison_figure(df, "sr_x4", "set5"), COLUMN_WIDTH)
    assert_legible(comparison_figure(df, "sr_x4", "set5", "ssim"), COLUMN_WIDTH)
    assert_legible(learning_curves_figure(curves(), "dip: denoise on builtin", es_steps={"house, seed 0": 100}),
                   COLUMN_WIDTH)
    two = frame((("sr_x4", "sr", "set5", SET5), ("dn", "denoise", "builtin", ["a", "b"])))
    assert_legible(summary_figure(two), PAGE_WIDTH)
    assert_legible(summary_figure(df), COLUMN_WIDTH)
    gt = np.random.default_rng(0).random((32, 48, 3)).astype(np.float32)
    assert_legible(visual_grid_figure([(f"m{k}\n30.00 dB", gt) for k in range(7)], title="grid"), PAGE_WIDTH)


def test_dot_plot_means_sit_right_of_the_points_with_metric_decimals():
    fig = comparison_figure(frame(), "sr_x4", "set5", "ssim")
    ax = fig.axes[0]
    means = [t for t in ax.texts if t.get_text() != "mean"]
    assert [t.get_text() for t in means] == ["0.8200"] * 3  # SSIM: 4 decimals (metric_facts)
    assert all(t.get_position()[0] > 1.0 for t in means)  # in axes x: a column right of the plot
    assert ax.get_xlabel().startswith("SSIM")


# --------------------------------------------------------------------------------------------------------------
# visual grids


@pytest.mark.parametrize("n, columns", [(1, 1), (2, 2), (4, 4), (5, 5), (6, 3), (7, 4), (8, 4), (9, 5), (11, 4)])
def test_grid_columns(n, columns):
    assert grid_columns(n) == columns


def image_rows(fig):
    """Panel count per row of a visual grid (image axes carry a title, their zooms do not)."""
    rows = {}
    for ax in fig.axes:
        if ax.get_title():
            y = round(ax.get_position().y0, 3)
            rows[y] = rows.get(y, 0) + 1
    return [rows[y] for y in sorted(rows, reverse=True)]


def test_grid_wraps_to_short_rows():
    gt = np.random.default_rng(0).random((32, 32, 3)).astype(np.float32)
    fig = visual_grid_figure([(f"m{k}", gt) for k in range(7)])
    assert image_rows(fig) == [4, 3]
    assert len(fig.axes) == 14  # image and zoomed crop per panel


def observation_records(tmp_path, task, **params):
    """An observation of a 32 px image, the `input` method's result (the input as a PNG) and a `dip` result."""
    rng = np.random.default_rng(0)
    gt = rng.random((32, 32, 3)).astype(np.float32)
    obs = make_task(task, **params).degrade(gt, rng)
    obs.save(tmp_path / "obs.npz")
    write_png(tmp_path / "input.png", obs.y)
    write_png(tmp_path / "dip.png", 0.1 + 0.8 * gt)
    base = {"experiment": "e", "task": task, "dataset": "ds", "image": "im", "seed": 0, "input_psnr": 20.2,
            "observation": "obs.npz"}
    df = records_frame([
        {**base, "method": "input", "label": "degraded input", "psnr": 20.19, "restored": "input.png"},
        {**base, "method": "dip", "label": "dip", "psnr": 31.5, "restored": "dip.png"},
    ])
    return df, obs


def test_grid_shows_the_input_once(tmp_path):
    df, _ = observation_records(tmp_path, "denoise", sigma=25.0)
    panels = visual_panels(df, tmp_path, "im")
    assert [p.title for p in panels] == ["ground truth", "degraded input\n20.19 dB", "dip\n31.50 dB"]
    assert panels.note == ""  # the input panel carries the input row's name: no subtitle needed
    images = [p.image for p in panels]
    for i in range(len(images)):
        for j in range(i + 1, len(images)):
            assert not np.allclose(images[i], images[j], atol=1 / 255)


def test_a_method_that_returns_its_input_is_named_in_the_note(tmp_path):
    df, obs = observation_records(tmp_path, "denoise", sigma=25.0)
    write_png(tmp_path / "copy.png", obs.y)
    extra = df.iloc[[0]].assign(method="copy", label="identity", restored="copy.png", psnr=20.19)
    panels = visual_panels(pd.concat([df, extra], ignore_index=True), tmp_path, "im")
    assert panels.note == "'identity' returns the input unchanged (shown as the input panel)"
    assert [p.title.split("\n")[0] for p in panels] == ["ground truth", "input = degraded input, identity", "dip"]


def test_inpainting_grid_marks_missing_pixels(tmp_path):
    df, obs = observation_records(tmp_path, "inpaint", keep=0.5)
    panels = visual_panels(df, tmp_path, "im")
    assert len(panels) == 3
    missing = obs.mask[..., 0] == 0
    assert np.array_equal(panels[1].missing, missing)
    fig = visual_grid_figure(panels, crop_box=(0, 0, 8, 16))
    assert "missing pixels" in legend_texts(fig)
    shown = next(ax for ax in fig.axes if ax.get_title().startswith("degraded input")).get_images()[0].get_array()
    r, c = np.argwhere(missing)[0]
    assert tuple(np.asarray(shown[r, c])[:3]) == MISSING_COLOR
    known = np.argwhere(~missing)[0]
    assert tuple(np.asarray(shown[known[0], known[1]])[:3]) != MISSING_COLOR


# --------------------------------------------------------------------------------------------------------------
# learning curves


def test_early_stopping_marker_at_the_chosen_step_and_stop_line():
    data = curves()
    fig = learning_curves_figure(data, es_steps={"house, seed 0": 150}, stop_steps={"house, seed 0": 260})
    lines = {line.get_gid(): line for line in fig.findobj(Line2D) if line.get_gid()}
    marker = lines["es:house, seed 0"]
    assert list(marker.get_xdata()) == [150]
    frame0 = data["house, seed 0"]
    assert marker.get_ydata()[0] == pytest.approx(frame0.loc[frame0["step"] == 150, "psnr"].iloc[0])
    stops = [line for gid, line in lines.items() if gid.startswith("stop:")]
    assert stops and all(list(line.get_xdata()) == [260, 260] for line in stops)
    assert all(line.get_linestyle() == "--" for line in stops)
    assert {"chosen step (ES)", "stop step"} <= set(legend_texts(fig))


def test_curve_inputs_from_records_mark_es_step_not_stop_step(tmp_path):
    data = curves()
    for k, (name, curve) in enumerate(data.items()):
        curve.to_csv(tmp_path / f"c{k}.csv", index=False)
    rows = [{"experiment": "e", "task": "sr", "dataset": "set5", "image": "house", "method": "dip_es",
             "label": "DIP + ES", "seed": s, "psnr": 25.0, "protocol": "dip_paper", "curve": f"c{s}.csv",
             "es_step": 140 + s, "stop_step": 280, "param_output": "ema" if s else "last"} for s in (0, 1)]
    inputs = curve_inputs(records_frame(rows), tmp_path)
    assert inputs["es_steps"] == {"house, seed 0": 140.0, "house, seed 1": 141.0}
    assert inputs["stop_steps"] == {"house, seed 0": 280.0, "house, seed 1": 280.0}
    assert inputs["es_columns"] == {"house, seed 0": "psnr", "house, seed 1": "psnr_ema"}
    assert "not the table's protocol" in inputs["note"].lower()  # SR curves are not scored like the table
    fig = learning_curves_figure(**inputs)
    ema_marker = next(line for line in fig.findobj(Line2D) if line.get_gid() == "es:house, seed 1")
    frame1 = data["house, seed 1"]
    assert ema_marker.get_ydata()[0] == pytest.approx(frame1.loc[frame1["step"] == 141, "psnr_ema"].iloc[0])


def test_curve_provenance():
    label, note = curve_provenance("denoise", 3, ["dip_paper"])
    assert label == "oracle PSNR (dB),\nRGB over the restored box" and note == ""
    label, note = curve_provenance("inpaint", 1, ["basicsr"])
    assert "gray" in label and "basicsr" in note
    label, note = curve_provenance("sr", 3, ["dip_paper"])
    assert "Y channel" in note


# --------------------------------------------------------------------------------------------------------------
# files


def test_pdf_beside_every_png(tmp_path):
    paths = comparison_plot(frame(), "sr_x4", "set5", tmp_path / "cmp.png")
    assert paths == [tmp_path / "cmp.png", tmp_path / "cmp.pdf"]
    assert (tmp_path / "cmp.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "cmp.pdf").read_bytes()[:5] == b"%PDF-"


# --------------------------------------------------------------------------------------------------------------
# summary


def panel_of(fig, experiment):
    return next(ax for ax in fig.axes if experiment in ax.get_title(loc="left"))


def test_summary_figure_panels_reference_spread_and_paper():
    methods = {"bicubic": 28.0, "dip": 30.0, "tv": 27.0}
    df = frame((("sr_x4", "sr", "set5", SET5), ("dn", "denoise", "builtin", ["a", "b"])), methods)
    df = df[~((df["experiment"] == "dn") & (df["label"] == "dip"))]  # no dip there: the first label is the reference
    fig = summary_figure(df)
    assert len(fig.axes) == 2
    sr = panel_of(fig, "sr_x4")
    ticks = {t.get_text(): t for t in sr.get_yticklabels()}
    assert list(ticks) == ["dip", "bicubic", "tv"]  # best on top
    assert ticks["dip"].get_fontweight() == "bold" and ticks["dip"].get_color() == REFERENCE_COLOR
    assert ticks["bicubic"].get_fontweight() != "bold"
    # the mean printed right of the plot: mean over images (of the mean over seeds) of dip
    expected = np.mean([30.0 + 0.3 * i + 0.1 for i in range(5)])
    assert f"{expected:.2f}" in [t.get_text() for t in sr.texts]
    # the paper's values (Table 2: DIP 29.90, bicubic 28.43) as crosses
    crosses = sorted(float(line.get_xdata()[0]) for line in sr.get_lines()
                     if line.get_marker() == "X" and line.get_color() == PAPER_COLOR)
    assert crosses == [28.43, 29.9]
    # the spread over seeds: one error bar per method with two seeds
    assert len(sr.collections) >= 3
    dn = panel_of(fig, "dn")
    first = [t for t in dn.get_yticklabels() if t.get_fontweight() == "bold"]
    assert [t.get_text() for t in first] == ["bicubic"]
    assert "paper (reported)" in legend_texts(fig)


def test_summary_without_paper_values_on_part_of_a_dataset():
    fig = summary_figure(frame((("sr_x4", "sr", "set5", ["baby", "bird"]),)))
    assert not [line for line in fig.axes[0].get_lines() if line.get_marker() == "X"]
    assert "paper (reported)" not in legend_texts(fig)


def test_write_figures_writes_the_summary_first(tmp_path):
    df = frame((("dn", "denoise", "builtin", ["a", "b"]),), seeds=(0,))
    written = write_figures(df, tmp_path, grids=False)
    figures = tmp_path / "figures"
    assert written[:2] == [figures / "summary.png", figures / "summary.pdf"]
    assert all(p.with_suffix(".pdf") in written for p in written if p.suffix == ".png")
    index = (figures / "README.md").read_text()
    images = [line for line in index.splitlines() if line.startswith("![")]
    assert images[0].startswith("![summary") and images[0].endswith("(summary.png)")
    assert "([PDF](summary.pdf))" in index
    assert "(dn_builtin_psnr.png)" in index and "(dn_builtin_ssim.png)" in index
    captions = json.loads((figures / "captions.json").read_text())
    assert set(captions) == {p.name for p in written if p.suffix == ".png"}
    assert all(caption.endswith(".") for caption in captions.values())


def test_figures_drawn_by_two_processes_equal_one_process_byte_for_byte(tmp_path):
    df = frame((("dn", "denoise", "builtin", ["a", "b"]), ("sr_x4", "sr", "set5", ["baby", "bird"])), seeds=(0,))
    trees = {}
    for workers in (1, 2):
        written = write_figures(df, tmp_path / str(workers), grids=False, workers=workers)
        folder = tmp_path / str(workers) / "figures"
        trees[workers] = ([p.relative_to(folder) for p in written],
                          {p.name: p.read_bytes() for p in sorted(folder.iterdir())})
    assert len(trees[1][1]) > 6 and "README.md" in trees[1][1]
    assert trees[2] == trees[1]


def test_ordered_map_keeps_the_order_counts_each_item_and_raises_a_workers_error():
    from dipbench.report.parallel import can_fork, ordered_map

    finished = []
    assert ordered_map(abs, [-3, 1, -2], workers=2, done=lambda: finished.append(1)) == [3, 1, 2]
    assert len(finished) == 3
    assert ordered_map(abs, [], workers=4) == []
    if can_fork():
        with pytest.raises(TypeError):
            ordered_map(abs, [1, "x"], workers=2)


@pytest.mark.parametrize("kind, part", [
    ("metric", "psnr"), ("metric", "ssim"), ("metric", "psnr_missing"), ("convergence", ""),
    ("sweep", "DIP"), ("curves", "DIP"), ("curves", "dip_es"), ("curves", "psnr"), ("grid", "chelsea"),
    ("grid", "f_16"), ("gallery", "cave01"),
])
def test_every_kind_of_figure_name_parses_back_to_its_parts(kind, part):
    for experiment, dataset in (("dn", "builtin"), ("sr_x4", "dip_sr5")):
        stem = figure_stem(experiment, dataset, kind, part or None)
        assert parse_figure_stem(stem, experiment, dataset) == Name(kind, part)
        assert parse_figure_stem(stem, experiment, dataset + "x") is None  # another pair's name
    assert parse_figure_stem(SUMMARY_FIGURE, "dn", "builtin") is None
    curves = figure_stem("dn", "builtin", "curves", "DIP")
    assert figure_page_name("dn", "builtin", 6, curves) == "dn.builtin.6.DIP_curves.html"


def test_impedance_figure_names_parse_back_to_dataset_and_image():
    for dataset, image in (("synth", "f16"), ("dip_denoise9", "f_16"), ("builtin", "snail")):
        stem = impedance_figure_stem(dataset, image)
        assert is_impedance_stem(stem) and not is_impedance_stem(figure_stem("dn", dataset, "grid", image))
        assert parse_impedance_stem(stem, ["dip", dataset, "set5"]) == (dataset, image)
        assert parse_impedance_stem(stem, ["set5"]) is None


def test_every_figure_written_parses_back_and_captions_state_the_seeds(tmp_path):
    df = frame((("dn", "denoise", "builtin", ["a", "b"]),), seeds=(0, 1))
    df = df[(df["label"] == "dip") | (df["seed"] == 0)]  # the deterministic rows ran once
    written = write_figures(df, tmp_path, grids=False)
    stems = [p.stem for p in written if p.suffix == ".png" and p.stem != SUMMARY_FIGURE]
    assert stems and all(parse_figure_stem(stem, "dn", "builtin") is not None for stem in stems)
    captions = json.loads((tmp_path / "figures" / "captions.json").read_text())
    assert seeds_text([2, 1]) in captions["dn_builtin_psnr.png"]  # the tables' seeds phrase
    assert captions["summary.png"].startswith("Mean PSNR (dB) of every method")


def test_sweep_and_convergence_figures(tmp_path):
    import numpy as np
    import pandas as pd

    from dipbench.report.convergence import convergence_plot
    from dipbench.report.sweep_figures import sweep_plot

    rows = [{"experiment": "e", "dataset": "d", "label": f"DIP (lr={lr})", "image": image, "seed": seed,
             "psnr": 20 + 100 * lr + seed} for lr in (0.001, 0.01) for image in "ab" for seed in (0, 1)]
    written = sweep_plot(pd.DataFrame(rows), "e", "d", {f"DIP (lr={lr})": {"lr": lr} for lr in (0.001, 0.01)},
                         tmp_path / "sweep.png")
    assert [p.suffix for p in written] == [".png", ".pdf"]
    curves = {}
    for label, offset in (("DIP", 0.0), ("TV", -1.0)):
        for seed in (0, 1):
            curve = pd.DataFrame({"step": np.arange(1, 11), "loss": np.ones(10), "psnr": offset + np.arange(10.0) + seed,
                                  "time_s": np.arange(1, 11) * 0.5})
            curve.attrs.update(seed=seed)
            curves.setdefault(label, []).append(curve)
    written = convergence_plot(curves, tmp_path / "conv.png", "e on d", "DIP", 9.5)
    assert all(p.is_file() for p in written)


def _run(steps, every, final, seed, start=10.0):
    import numpy as np
    import pandas as pd

    step = np.arange(every, steps + 1, every)
    curve = pd.DataFrame({"step": step, "loss": 1.0 / step,
                          "psnr": final - (final - start) * np.exp(-step / (steps / 4)), "time_s": step * 0.1})
    curve.attrs.update(seed=seed)
    return curve


def test_convergence_mean_holds_stopped_runs_and_averages_images_then_seeds():
    from dipbench.report.convergence import mean_curve

    stopped, full = _run(300, 100, 20.0, 0), _run(600, 100, 30.0, 0)
    mean, spread = mean_curve([stopped, full])
    # after step 300 the stopped run holds its last value: the mean never drops to the remaining run's level
    held = float(stopped["psnr"].iloc[-1])
    assert mean.loc[600] == pytest.approx((held + full["psnr"].iloc[-1]) / 2)
    assert list(spread) == [0.0] * len(spread)  # one seed: no spread
    a0, a1 = _run(600, 100, 24.0, 0), _run(600, 100, 26.0, 1)
    mean, spread = mean_curve([a0, a1])
    assert mean.loc[600] == pytest.approx((a0["psnr"].iloc[-1] + a1["psnr"].iloc[-1]) / 2)
    assert spread.loc[600] == pytest.approx(abs(a0["psnr"].iloc[-1] - a1["psnr"].iloc[-1]) / 2 ** 0.5)


def test_convergence_figure_cuts_a_long_budget_and_labels_the_table_value(tmp_path):
    from dipbench.report.convergence import convergence_figure, convergence_plot

    curves = {"DIP": [_run(600, 25, 26.3, s) for s in (0, 1)],
              "DIP + ES-WMV": [_run(300, 25, 24.5, 0), _run(450, 25, 25.0, 1)],
              "ZS-N2N": [_run(2000, 100, 23.9, s) for s in (0, 1)]}
    fig = convergence_figure(curves, "denoise on builtin: convergence, mean over 2 images (a, b) and 2 seeds",
                             "DIP", 26.33)
    by_step = fig.axes[0]
    assert by_step.get_xlim()[1] == pytest.approx(612)
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "ZS-N2N (2000 steps, cut at 600)" in labels and "DIP: table Avg. 26.33 dB" in labels
    assert "DIP + ES-WMV" in labels and "step (cut at DIP's 600)" == by_step.get_xlabel()
    written = convergence_plot(curves, tmp_path / "conv.png", "denoise on builtin: convergence", "DIP", 26.33)
    assert written[0].stat().st_size > 10_000
