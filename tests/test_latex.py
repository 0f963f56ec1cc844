"""The .tex tables compile in a two-column paper: no errors, no overfull lines, the float fits its width.

Builds realistic result frames (the 9 denoising images x 6 methods, Set14's 14 images, Kodak's 24, an
early-stopping label, reported values, excluded images, names with ``_ ± Δ % &``), writes them with
:func:`write_report_tables` and compiles one ``\\documentclass[twocolumn]{article}`` that ``\\input``s every
.tex file. Skips where pdflatex is not installed (``apt-get install texlive-latex-base
texlive-latex-recommended``).
"""

from __future__ import annotations

import functools
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from dipbench.report.records import records_frame
from dipbench.report.latex import COLUMN_WIDTH_PT, TEXT_WIDTH_PT, latex_layout
from dipbench.report.tables import early_stopping_table, metric_table
from dipbench.report.table_files import write_report_tables

from test_tables import make_df

DENOISE9 = ["house", "peppers", "lena", "baboon", "f16", "kodim01", "kodim02", "kodim03", "kodim12"]
SET14 = ["baboon", "barbara", "bridge", "coastguard", "comic", "face", "flowers", "foreman", "lenna", "man",
         "monarch", "pepper", "ppt3", "zebra"]
KODAK24 = [f"kodim{i:02d}" for i in range(1, 25)]
# labels as they come from configs: paper methods, underscores, and the characters LaTeX needs escaped
DENOISE_METHODS = {"dip": 30.1, "bm3d": 31.3, "my_nlm": 28.7, "dip_es": 29.9, "DIP (mean of 2 runs)": 30.6,
                   "DIP ± EMA & 50% Δ": 30.4}
SR_METHODS = {"dip": 27.1, "bicubic": 26.0, "SRResNet-MSE": 28.4, "tv": 26.6, "my_sr_net": 27.9,
              "DIP (EMA, 4000 steps)": 27.4}


def images(names):
    return {name: 0.37 * ((i * 7) % 5) - 0.8 for i, name in enumerate(names)}


def results_frame():
    rows = []
    denoise = make_df(methods=DENOISE_METHODS, images=images(DENOISE9), seeds=(0, 1, 2))
    for row in denoise.to_dict("records"):
        if row["label"] == "dip":
            row["precision"] = "bf16"
        if row["label"] == "dip_es":  # early-stopping fields: one table per ES label
            step = 400 + 37 * len(row["image"]) + 11 * row["seed"]
            row.update({
                "stop_step": step + 1000, "es_step": step, "oracle_peak_step": step - 60,
                "output_psnr": row["psnr"], "oracle_peak_psnr": row["psnr"] + 0.31, "es_gap_db": 0.31,
                "es_stopped": row["seed"] != 2, "params_resolved": json.dumps({"steps": 1800}),
            })
        rows.append(row)
    sr = make_df(methods=SR_METHODS, images=images(SET14), seeds=(0,), experiment="sr_x4", dataset="set14")
    for row in sr.to_dict("records"):
        rows.append({**row, "task": "sr", "task_slug": "sr_crop_multiple32_lr_kernellanczos_scale4"})
    kodak = make_df(methods={"dip": 31.0, "bm3d": 31.9, "my_nlm": 29.4}, images=images(KODAK24), seeds=(0,),
                    experiment="denoise_s50_kodak", dataset="kodak24")
    rows += kodak.to_dict("records")
    rows += make_df(experiment="tiny_exp", dataset="set_x").to_dict("records")  # 3 images x 3 methods
    # a label too long for any page: the last resort scales the tabular down (and needs graphicx)
    rows += make_df(methods={"dip": 30.0, "DIP " + "with a very long configuration label " * 3: 29.0},
                    images={"house": 0.0}, seeds=(0,), experiment="long_label", dataset="set_y").to_dict("records")
    for row in rows:
        row["ssim"] = round(0.4 + row["psnr"] / 80, 4)  # varies, so that not every cell is bold
    return records_frame(rows)


def test_layout_chooses_the_float_by_width():
    df = results_frame()
    small = latex_layout(metric_table(df, "tiny_exp", "set_x"))
    assert small.env == "table" and small.width_pt <= COLUMN_WIDTH_PT
    nine = latex_layout(metric_table(df, "denoise_s25", "dip_denoise9"))  # 9 images + Avg., Reported, Δ
    assert nine.env == "table*" and nine.width_pt <= TEXT_WIDTH_PT
    assert [column for block in nine.blocks for column in block] == list(metric_table(
        df, "denoise_s25", "dip_denoise9").values.columns)  # split or not, every column once, in order
    es = latex_layout(early_stopping_table(df, "denoise_s25", "dip_denoise9", "dip_es"))
    assert es.width_pt <= (COLUMN_WIDTH_PT if es.env == "table" else TEXT_WIDTH_PT)
    kodak = latex_layout(metric_table(df, "denoise_s50_kodak", "kodak24"))
    assert kodak.env == "table*" and len(kodak.blocks) >= 2  # 24 images do not fit one line of a page
    assert sum(len(b) for b in kodak.blocks) == 25 and kodak.blocks[-1][-1] == "Avg."
    assert all(size in ("normalsize", "small", "footnotesize") for size in (small.size, nine.size, kodak.size))


def test_tex_files_are_floats_with_caption_label_and_packages(tmp_path):
    paths = write_report_tables(results_frame(), tmp_path, exclude_images=["lena", "lenna"])
    tex = {p.name: p.read_text() for p in paths if p.suffix == ".tex"}
    assert {"denoise_s25_dip_denoise9_dip_es_es.tex", "denoise_s25_dip_denoise9_excl.tex",
            "denoise_s25_dip_denoise9_reported.tex", "sr_x4_set14.tex", "sr_x4_set14_reported.tex"} <= set(tex)
    for name, text in tex.items():
        assert "\\documentclass" not in text and "\\begin{document}" not in text
        assert re.search(r"^% Written by dipbench\. Needs in the preamble: \\usepackage\{booktabs\}", text, re.M)
        assert re.search(r"\\begin\{table\*?\}", text) and re.search(r"\\end\{table\*?\}\s*$", text)
        assert f"\\label{{tab:{name[:-4]}}}" in text and "\\caption{" in text
    assert "\\begin{table}[" in tex["tiny_exp_set_x.tex"]
    assert "\\usepackage{graphicx}" not in tex["tiny_exp_set_x.tex"]
    assert "\\usepackage{graphicx}" in tex["long_label_set_y.tex"] and "\\resizebox{" in tex["long_label_set_y.tex"]
    es = tex["denoise_s25_dip_denoise9_dip_es_es.tex"]
    assert "\\caption{denoise\\_s25 on dip\\_denoise9: early stopping of dip\\_es (ES-WMV).}" in es
    assert "\\multicolumn" not in es and "\\begin{minipage}{\\linewidth}\\footnotesize\\raggedright" in es
    assert "DIP $\\pm$ EMA \\& 50\\% $\\Delta$" in tex["denoise_s25_dip_denoise9.tex"]


def _preamble_packages(texts):
    packages = {"booktabs"}
    for text in texts:
        match = re.search(r"^% Written by dipbench\. Needs in the preamble: (.*)\.$", text, re.M)
        packages |= set(re.findall(r"\\usepackage\{([^}]+)\}", match.group(1)))
    return sorted(packages)


@functools.lru_cache(maxsize=None)
def _latex_missing() -> str:
    """Why the compile test cannot run here, or "" when pdflatex and booktabs are installed."""
    install = "apt-get install texlive-latex-base texlive-latex-recommended"
    if shutil.which("pdflatex") is None:
        return f"pdflatex is not installed ({install})"
    if shutil.which("kpsewhich"):
        found = subprocess.run(["kpsewhich", "booktabs.sty"], capture_output=True, text=True).stdout.strip()
        if not found:
            return f"the LaTeX package booktabs is not installed ({install})"
    return ""


@pytest.mark.skipif(bool(_latex_missing()), reason=_latex_missing() or "-")
@pytest.mark.parametrize("paper", ["a4paper", "letterpaper"])
def test_tables_compile_in_a_two_column_paper_without_overfull_lines(tmp_path, paper):
    references = {experiment: "dip" for experiment in set(results_frame()["experiment"])}  # the versus tables too
    paths = write_report_tables(results_frame(), tmp_path, exclude_images=["lena", "lenna"], references=references)
    tex_files = sorted(p for p in paths if p.suffix == ".tex")
    assert any(p.name.endswith("_vs_dip.tex") for p in tex_files) and any("_per_image" in p.name for p in tex_files)
    assert len(tex_files) >= 12
    packages = _preamble_packages(p.read_text() for p in tex_files)
    body = []
    for i, path in enumerate(tex_files):
        stem = path.stem
        body.append(f"\\input{{tables/{path.name}}}")
        body.append(f"Table~\\ref{{tab:{stem}}} shows {stem.replace('_', ' ')}. " + "Some running text. " * 12)
        if i % 3 == 2:
            body.append("\\clearpage")
    document = (
        f"\\documentclass[twocolumn,{paper}]{{article}}\n"
        + "".join(f"\\usepackage{{{p}}}\n" for p in packages)
        + "\\begin{document}\n" + "\n\n".join(body) + "\n\\end{document}\n"
    )
    (tmp_path / "paper.tex").write_text(document)
    result = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "paper.tex"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    log = (tmp_path / "paper.log").read_text(errors="replace")
    errors = [line for line in log.splitlines() if line.startswith("!")]
    assert result.returncode == 0 and not errors, "\n".join(errors) or log[-3000:]
    overfull = [line for line in log.splitlines() if "Overfull \\hbox" in line]
    assert not overfull, "\n".join(overfull)
    assert "Float too large" not in log
    assert (tmp_path / "paper.pdf").stat().st_size > 0
