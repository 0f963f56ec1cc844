"""The HTML report's first page (dipbench.report.overview) and its pages' figures and protocol captions,
on a results folder built here."""

import base64
import json
import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from dipbench.report.overview import headline_table, write_overview  # noqa: E402
from dipbench.report.pages import write_pages  # noqa: E402


def _figure(path, width_in=8.0):
    fig, ax = plt.subplots(figsize=(width_in, 3), dpi=150)
    ax.plot([0, 1, 2], [1, 3, 2])
    fig.savefig(path)
    fig.savefig(path.with_suffix(".pdf"))
    plt.close(fig)


def _results(tmp_path, protocols=("dip_paper", "basicsr")):
    out = tmp_path / "out"
    (out / "tables").mkdir(parents=True)
    (out / "figures").mkdir()
    rows = [{"experiment": e, "dataset": "builtin", "image": "astronaut", "seed": 0, "label": "DIP", "method": "dip",
             "task": "denoise", "task_params": '{"sigma": 25}', "params": "{}", "protocol": p}
            for e in ("dn", "sr") for p in protocols]
    pd.DataFrame(rows).to_csv(out / "tables" / "runs.csv", index=False)
    (out / "tables" / "dn_builtin.html").write_text('<table class="dipbench"><caption>dn PSNR</caption></table>')
    (out / "tables" / "dn_builtin_reported.html").write_text('<table class="dipbench"><caption>dn reported</caption></table>')
    (out / "tables" / "sr_builtin.html").write_text('<table class="dipbench"><caption>sr PSNR</caption></table>')
    for protocol in protocols[1:]:
        (out / "protocols" / protocol / "tables").mkdir(parents=True)
    _figure(out / "figures" / "summary.png", width_in=14)
    _figure(out / "figures" / "dn_builtin_psnr.png")
    return out


def test_overview_leads_with_the_summary_then_the_headline_tables_then_the_experiments(tmp_path):
    out = _results(tmp_path)
    assert headline_table(out, "dn", "builtin").name == "dn_builtin_reported.html"  # reported vs reproduced first
    assert headline_table(out, "sr", "builtin").name == "sr_builtin.html"
    assert headline_table(out, "jpeg", "builtin") is None
    text = write_overview(out, out / "report_overview.html").read_text()
    order = [text.index(s) for s in ("<h2>Results</h2>", "data:image/", "dn reported", "sr PSNR", "<h3>Experiments")]
    assert order == sorted(order) and "dn PSNR" not in text
    assert "app.showCategory(&quot;dn&quot;)" in text and "endsWith(&quot;/all.all.0.summary.html&quot;)" in text
    thumbnail = re.search(r'src="data:image/\w+;base64,([^"]+)"', text).group(1)
    from io import BytesIO

    from PIL import Image

    with Image.open(BytesIO(base64.b64decode(thumbnail))) as image:
        assert image.width == 900  # a thumbnail: the summary PNG is 2100 px wide
    assert len(text) < 0.5 * (out / "figures" / "summary.png").stat().st_size * 4 / 3


def test_overview_without_results_says_so(tmp_path):
    (tmp_path / "tables").mkdir()
    (tmp_path / "figures").mkdir()
    assert "No results yet." in write_overview(tmp_path, tmp_path / "o.html").read_text()


def test_pages_state_the_tables_protocol_and_do_not_embed_the_pdf(tmp_path):
    out = _results(tmp_path)
    pages = {p.name: p.read_text() for p in write_pages(out, tmp_path / "pages")}
    table = pages["dn.builtin.1.PSNR-table.html"]
    assert "<b>Protocol:</b> dip_paper." in table  # the tables in tables/ are the first protocol's
    figure = pages["dn.builtin.5.psnr.html"]
    assert "application/pdf" not in figure and "figures/dn_builtin_psnr.pdf" in figure
    assert 'src="data:image/' in figure


def test_page_protocol_with_a_single_protocol(tmp_path):
    out = _results(tmp_path, protocols=("basicsr",))
    pages = {p.name: p.read_text() for p in write_pages(out, tmp_path / "pages")}
    assert "<b>Protocol:</b> basicsr." in pages["sr.builtin.1.PSNR-table.html"]


def test_overview_thumbnails_lead_with_their_figures_captions(tmp_path):
    out = _results(tmp_path)
    text = write_overview(out, out / "report_overview.html").read_text()
    # no captions.json: the summary family's own caption
    assert "Summary: mean PSNR (dB) of every method, one panel per experiment and dataset." in text
    _figure(out / "figures" / "noise_impedance_synth_f16.png")
    (out / "figures" / "captions.json").write_text(json.dumps({
        "summary.png": "Mean SSIM of every method, one panel each: more.",
        "noise_impedance_synth_f16.png": "Noise impedance on synth / f16 (fig. 2): DIP's loss."}))
    text = write_overview(out, out / "report_overview.html").read_text()
    assert "Summary: mean SSIM of every method, one panel each." in text
    assert "Noise impedance on synth / f16 (fig. 2)." in text
    assert "endsWith(&quot;/all.all.1.noise_impedance_synth_f16.html&quot;)" in text


def test_pages_find_every_table_and_figure_by_its_name(tmp_path):
    out = _results(tmp_path)
    for name in ("dn_builtin_vs_DIP", "dn_builtin_DIP_es", "dn_builtin_per_image", "dn_builtin_notes"):
        (out / "tables" / f"{name}.html").write_text(f'<table class="dipbench"><caption>{name}</caption></table>')
    for name in ("dn_builtin_DIP_curves", "dn_builtin_convergence", "dn_builtin_astronaut_grid"):
        _figure(out / "figures" / f"{name}.png")
    pages = {p.name for p in write_pages(out, tmp_path / "pages")}
    assert {"dn.builtin.0.reported-vs-reproduced.html", "dn.builtin.1.PSNR-table.html",
            "dn.builtin.1.versus-DIP.html", "dn.builtin.1.PSNR-per-image-mean-and-seed-spread.html",
            "dn.builtin.4.DIP-early-stopping.html", "dn.builtin.5.psnr.html", "dn.builtin.5.convergence.html",
            "dn.builtin.6.DIP_curves.html", "dn.builtin.7.astronaut_grid.html", "all.all.0.summary.html"} <= pages
    assert not any("notes" in page for page in pages)  # not a table the report step writes
