"""Paper-style tables: average column, bold of the best, LaTeX escaping, reported vs reproduced."""

import pytest

from dipbench.report.reported import (
    paper_method_name,
    reported_value,
    task_params_from_slug,
)
from dipbench.report.records import records_frame
from dipbench.report.tables import (
    AVG,
    DELTA,
    REPORTED,
    metric_table,
    reported_vs_reproduced,
    to_latex,
    to_markdown,
)
from dipbench.report.latex import latex_escape
from dipbench.report.naming import Name, pair_stem, parse_table_stem, row_names, table_stem
from dipbench.report.table_files import write_report_tables

METHODS = {"dip": 30.0, "bm3d": 31.0, "my_nlm": 29.0}
IMAGES = {"house": 1.0, "lena": 0.0, "f_16": -1.0}


def make_df(methods=METHODS, images=IMAGES, seeds=(0, 1), experiment="denoise_s25", dataset="dip_denoise9"):
    rows = []
    for method, base in methods.items():
        for image, offset in images.items():
            for seed in seeds:
                rows.append({
                    "experiment": experiment, "task": "denoise", "task_slug": "denoise_clip1_quantize0_sigma25",
                    "dataset": dataset, "image": image, "method": method, "label": method, "seed": seed,
                    "psnr": base + offset + 0.2 * seed, "ssim": 0.8, "protocol": "dip_paper",
                })
    return records_frame(rows)


def test_average_column_and_bold():
    table = metric_table(make_df(), "denoise_s25", "dip_denoise9")
    values = table.values
    assert list(values.columns[:4]) == ["f_16", "house", "lena", AVG]  # images sorted by name
    # bm3d: per-image means 32.1, 31.1, 30.1 -> 31.1
    assert values.at["bm3d", AVG] == pytest.approx(31.1)
    assert values.at["dip", "house"] == pytest.approx(31.1)
    md = table.to_markdown()
    assert "| bm3d | **30.10** | **32.10** | **31.10** | **31.10** |" in md
    assert "| dip | 29.10 | 31.10 | 30.10 | 30.10 |" in md
    assert "mean over 2 seeds" in md


def test_ties_are_all_bold():
    df = make_df(methods={"a": 30.0, "b": 30.0, "c": 29.0}, seeds=(0,))
    table = metric_table(df, "denoise_s25", "dip_denoise9", reported=False)
    assert table.bold.loc[["a", "b"], AVG].all() and not table.bold.at["c", AVG]
    assert "\\textbf{30.00}" in table.to_latex()


def test_latex_escapes_and_booktabs():
    tex = to_latex(make_df(), "denoise_s25", "dip_denoise9")
    assert "\\toprule" in tex and "\\midrule" in tex and "\\bottomrule" in tex
    assert "my\\_nlm" in tex and "f\\_16" in tex
    assert "$\\Delta$" in tex
    assert latex_escape("a_b & 50% #1 {x} ~ ^") == "a\\_b \\& 50\\% \\#1 \\{x\\} \\textasciitilde{} \\textasciicircum{}"
    for line in tex.splitlines():
        if line.startswith("dip ") or line.startswith("bm3d "):
            assert line.endswith("\\\\")


def test_reported_columns_delta():
    df = make_df()
    table = metric_table(df, "denoise_s25", "dip_denoise9")
    assert REPORTED in table.values.columns and DELTA in table.values.columns
    assert table.values.at["dip", REPORTED] == 31.00  # "paper text", docs/protocol.md section 6
    assert table.values.at["dip", DELTA] == pytest.approx(30.1 - 31.00)
    assert table.values.at["bm3d", DELTA] == pytest.approx(31.1 - 31.42)
    assert "-0.90" in to_markdown(df, "denoise_s25", "dip_denoise9")


def test_reported_vs_reproduced():
    comparison = reported_vs_reproduced(make_df(), "denoise_s25")
    assert set(comparison["label"]) == {"dip", "bm3d"}  # my_nlm is not the paper's NLM
    dip = comparison.set_index("label").loc["dip"]
    assert dip["reported"] == 31.00 and dip["source"] == "paper text" and dip["recomputed"] == 31.29
    assert dip["reproduced"] == pytest.approx(30.1)
    assert dip["delta"] == pytest.approx(dip["reproduced"] - dip["reported"])
    assert dip["delta_recomputed"] == pytest.approx(30.1 - 31.29)


def test_exclude_images_recomputes_average():
    table = metric_table(make_df(), "denoise_s25", "dip_denoise9", exclude_images=["LENA", "lenna"])
    assert list(table.values.columns) == ["f_16", "house", AVG, "± std"]  # no reported columns: not comparable
    assert table.values.at["bm3d", AVG] == pytest.approx((32.1 + 30.1) / 2)
    assert any("left out: lena" in note for note in table.notes)


def test_missing_image_marked():
    df = make_df()
    df = df[~((df["label"] == "dip") & (df["image"] == "lena"))]
    md = metric_table(df, "denoise_s25", "dip_denoise9").to_markdown()
    assert "| dip | 29.10 | 31.10 | – | 30.10† |" in md and "average over 2 of 3 images" in md


def test_reported_lookup():
    assert reported_value("sr", "set5", {"scale": 4}, "dip") == (29.90, "Table 2")
    assert reported_value("sr", "Set14", {"scale": 4}, "published:SRResNet-MSE") == (28.53, "Table 2")
    assert reported_value("inpaint", "inpaint11", {"keep": 0.5}, "published:papyan") == (31.19, "Table 1")
    assert reported_value("denoise", "dip_denoise9", {"sigma": 25.0}, "published:bm3d") == (31.42, "paper text")
    assert reported_value("sr", "set5", {"scale": 4}, "tv") is None  # the paper's value is in the supplement
    assert reported_value("sr", "set5", {"scale": 4}, "tv", kind="any")[0] == 28.86
    assert reported_value("sr", "set5", {"scale": 2}, "dip") is None
    assert reported_value("sr", "set5", {"scale": 4}, "dip", protocol="basicsr") is None
    assert reported_value("denoise", "dip_denoise9", {"sigma": 25}, "dip_es") is None
    assert paper_method_name("dip_es", paper_method="DIP (EMA)") == "DIP (EMA)"
    assert task_params_from_slug("sr_crop_multiple32_lr_kernellanczos_scale4") == {"scale": 4.0}
    assert task_params_from_slug("inpaint_keep0.5") == {"keep": 0.5}


def test_write_report_tables(tmp_path):
    df = make_df()
    df = records_frame(df.to_dict("records") + make_df(experiment="other", dataset="set_x").to_dict("records"))
    paths = write_report_tables(df, tmp_path, exclude_images=["lena"])
    names = {p.name for p in paths}
    assert {"denoise_s25_dip_denoise9.md", "denoise_s25_dip_denoise9.tex", "denoise_s25_dip_denoise9_ssim.tex",
            "denoise_s25_dip_denoise9_excl.tex", "denoise_s25_dip_denoise9_reported.tex", "other_set_x.md",
            "README.md"} <= names
    index = (tmp_path / "tables" / "README.md").read_text()
    assert "## denoise_s25 on dip_denoise9" in index and "## other on set_x" in index
    for path in paths:
        assert path.stat().st_size > 0


@pytest.mark.parametrize("kind, part", [
    ("metric", "psnr"), ("metric", "ssim"), ("metric", "psnr_missing"), ("reported", ""), ("per_image", ""),
    ("excl", ""), ("versus", "DIP"), ("versus", "dip_es"), ("early_stopping", "dip_es"), ("early_stopping", "DIP-ES"),
])
def test_every_kind_of_table_name_parses_back_to_its_parts(kind, part):
    for experiment, dataset in (("dn", "set5"), ("denoise_s25", "dip_denoise9")):
        stem = table_stem(experiment, dataset, kind, part or None)
        assert stem.startswith(pair_stem(experiment, dataset))
        assert parse_table_stem(stem, experiment, dataset) == Name(kind, part)
        assert parse_table_stem(stem, experiment + "x", dataset) is None  # another pair's name
    assert table_stem("dn", "set5", "metric", "psnr") == "dn_set5"  # the headline metric's table: no ending


def test_a_table_name_parses_back_to_the_part_as_written():
    stem = table_stem("dn", "set5", "versus", "DIP + ES-WMV")
    assert stem == "dn_set5_vs_DIP-ES-WMV"
    assert parse_table_stem(stem, "dn", "set5") == Name("versus", "DIP-ES-WMV")
    assert parse_table_stem("provenance", "dn", "set5") is None


def test_every_table_file_written_parses_back_to_its_own_name(tmp_path):
    df = make_df()
    df.loc[df["method"] == "dip", "es_step"] = 100.0
    paths = write_report_tables(df, tmp_path, exclude_images=["lena"], references={"denoise_s25": "dip"})
    stems = {p.stem for p in paths if p.suffix == ".tex" and p.stem != "provenance"}
    assert {"denoise_s25_dip_denoise9_vs_dip", "denoise_s25_dip_denoise9_dip_es",
            "denoise_s25_dip_denoise9_per_image", "denoise_s25_dip_denoise9_excl"} <= stems
    for stem in stems:
        name = parse_table_stem(stem, "denoise_s25", "dip_denoise9")
        assert name is not None and table_stem("denoise_s25", "dip_denoise9", *name) == stem


def test_row_names_show_display_names_and_the_protocol_where_mixed():
    df = make_df(seeds=(0,))
    assert set(row_names(df, {"dip": "DIP"})) == {"DIP", "bm3d", "my_nlm"}
    mixed = records_frame(df.to_dict("records") + df.assign(protocol="basicsr").to_dict("records"))
    assert "DIP [basicsr]" in set(row_names(mixed, {"dip": "DIP"}))
    assert set(row_names(mixed, {"dip": "DIP"}, protocols=False)) == {"DIP", "bm3d", "my_nlm"}


def test_paper_method_of_workflow_records():
    from dipbench.report.reported import paper_method_of, reported_for_record

    base = {"task": "denoise", "dataset": "dip_denoise9", "protocol": "dip_paper",
            "task_params": '{"clip": true, "quantize": false, "sigma": 25}'}
    # labels are config labels or display names; the record's method and params decide
    assert paper_method_of({**base, "label": "CBM3D (published)", "method": "published",
                            "params": '{"source": "bm3d"}'}) == "CBM3D"
    assert paper_method_of({**base, "label": "x", "method": "published", "param_source": "papyan"}) == "Papyan et al."
    assert paper_method_of({**base, "label": "LapSRN", "method": "published", "params": '{"source": "LapSRN"}'}) is None
    assert paper_method_of({**base, "label": "DIP (mean of 2 runs)", "method": "ensemble:dip"}) == "DIP"
    assert paper_method_of({**base, "label": "DIP", "method": "dip", "params": '{"output": "ema"}'}) == "DIP (EMA)"
    assert paper_method_of({**base, "label": "degraded input", "method": "input"}) is None
    assert paper_method_of({**base, "label": "dip_es", "method": "dip_es"}) is None
    entry = reported_for_record({**base, "label": "DIP", "method": "dip", "params": '{"output": "last"}'})
    assert (entry.paper, entry.source) == (29.22, "paper text")
    sr = {"task": "sr", "dataset": "set5", "protocol": "dip_paper", "method": "bicubic", "label": "b"}
    assert reported_for_record({**sr, "task_params": '{"scale": 4, "lr_kernel": "bicubic"}'}).paper == 28.43
    assert reported_for_record({**sr, "task_params": '{"scale": 4, "lr_kernel": "lanczos"}'}) is None
    assert reported_for_record({**sr, "protocol": "basicsr", "task_params": '{"scale": 4}'}) is None


def test_incomplete_average_not_bold():
    df = make_df()
    df = df[~((df["label"] == "bm3d") & (df["image"] == "f_16"))]  # bm3d's partial average would be highest
    table = metric_table(df, "denoise_s25", "dip_denoise9")
    assert not table.bold.at["bm3d", AVG] and table.bold.at["dip", AVG]


def test_subset_of_a_registered_dataset_gets_no_reported_value():
    df = make_df(methods={"dip": 26.0}, images={"butterfly": 0.0}, experiment="sr_x4", dataset="set5")
    df["task"], df["task_slug"] = "sr", "sr_crop_multiple32_lr_kernellanczos_scale4"
    table = metric_table(df, "sr_x4", "set5").to_markdown()
    assert "Reported" not in table and "1 of the set5 images" in table
    assert reported_vs_reproduced(df, "sr_x4", "set5").empty


def test_early_stopping_table_shows_the_choice_the_peak_and_the_gap(tmp_path):
    import json

    from dipbench.report.tables import early_stopping_table

    rows = []
    for image, (stop, chosen, peak_step, out, peak, fired) in {
        "house": (1470, 464, 389, 26.87, 26.91, True), "f16": (1800, 900, 333, 25.0, 25.68, False),
    }.items():
        for protocol in ("dip_paper", "basicsr"):  # one run, two metric protocols: counted once
            rows.append({
                "experiment": "dn", "task": "denoise", "dataset": "dip_denoise9", "image": image, "method": "dip_es",
                "label": "dip_es", "seed": 0, "psnr": out, "protocol": protocol, "stop_step": stop, "es_step": chosen,
                "oracle_peak_step": peak_step, "output_psnr": out, "oracle_peak_psnr": peak,
                "es_gap_db": peak - out, "es_stopped": fired, "params_resolved": json.dumps({"steps": 1800}),
            })
    rows.append({**rows[0], "label": "dip", "method": "dip", "es_step": None})
    df = records_frame(rows)
    assert early_stopping_table(df, "dn", "dip_denoise9", "dip") is None
    table = early_stopping_table(df, "dn", "dip_denoise9", "dip_es")
    assert table.cell("house", "Chosen step") == "464" and table.cell("house", "Gap") == "0.04"
    assert table.cell(AVG, "Gap") == f"{(0.04 + 0.68) / 2:.2f}" and table.cell(AVG, "Stop step") == "1635"
    assert "stopped 1 of 2 runs before the step budget of 1800 steps" in table.to_markdown()
    written = write_report_tables(df, tmp_path)
    assert tmp_path / "tables/dn_dip_denoise9_dip_es_es.tex" in written
    assert "early stopping of dip_es" in (tmp_path / "tables/dn_dip_denoise9.md").read_text()
