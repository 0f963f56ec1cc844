"""The demo's check against the reference machine's numbers (dipbench.report.reference_check), on runs
built here."""

from pathlib import Path

import pandas as pd
import pytest
import yaml

from dipbench.errors import ConfigError
from dipbench.pipeline.plan import load_config
from dipbench.report.reference_check import check_reference, load_reference

REPO = Path(__file__).resolve().parents[1]

REFERENCE = {"machine": "a test machine", "protocol": "dip_paper",
             "tolerance_db": {"seeded": 1.0, "deterministic": 0.05},
             "rows": {"dn": {"DIP": 26.0, "CBM3D": 27.7}, "sr": {"DIP": 22.0}}}


def _runs(tmp_path, dip_dn=(26.6, 25.8), cbm3d=27.71, dip_sr=22.3):
    rows = []
    for image, psnr in zip(("a", "b"), dip_dn):
        for seed, jitter in ((0, -0.1), (1, 0.1)):  # two seeds: the image's mean is psnr
            rows.append(("dn", "DIP", image, seed, psnr + jitter, True))
        rows.append(("dn", "CBM3D", image, 0, cbm3d, False))
    rows.append(("sr", "DIP", "c", 0, dip_sr, True))
    frame = pd.DataFrame(rows, columns=["experiment", "display", "image", "seed", "psnr", "seeded"])
    frame = pd.concat([frame.assign(protocol="dip_paper"), frame.assign(protocol="basicsr", psnr=frame["psnr"] - 5)])
    (tmp_path / "tables").mkdir(exist_ok=True)
    frame.to_csv(tmp_path / "tables" / "runs.csv", index=False)
    path = tmp_path / "reference.yaml"
    path.write_text(yaml.safe_dump(REFERENCE))
    return path


def test_rows_within_tolerance_print_the_largest_gap_of_each_kind(tmp_path):
    line = check_reference(tmp_path, _runs(tmp_path))
    assert line.startswith(f"reference check ({tmp_path / 'reference.yaml'}; a test machine): all 3 rows within")
    assert ("DIP rows (seeded: DIP and its family) within 1 dB of the reference machine (largest gap 0.30 dB, sr DIP)"
            in line)  # dn DIP: mean of 26.6 and 25.8 = 26.2, 0.2 dB; sr DIP 0.3 dB
    assert "deterministic rows within 0.05 dB of the reference machine (largest gap 0.01 dB, dn CBM3D)" in line
    table = (tmp_path / "tables" / "reference_check.md").read_text()
    assert "26.2" in table and "+0.20" in table and "+0.01" in table and "NO" not in table


def test_rows_outside_tolerance_are_named(tmp_path):
    line = check_reference(tmp_path, _runs(tmp_path, cbm3d=27.9, dip_sr=19.0))
    assert "2 of 3 rows outside tolerance (dn CBM3D 27.90 vs 27.70 dB, sr DIP 19.00 vs 22.00 dB)" in line
    assert "NO" in (tmp_path / "tables" / "reference_check.md").read_text()


def test_rows_that_did_not_run_are_counted_apart(tmp_path):
    path = _runs(tmp_path)
    REFERENCE_PLUS = {**REFERENCE, "rows": {**REFERENCE["rows"], "jpeg": {"DIP": 17.5}}}
    path.write_text(yaml.safe_dump(REFERENCE_PLUS))
    line = check_reference(tmp_path, path)
    assert "all 3 rows within tolerance" in line and line.endswith("; 1 of its rows did not run")
    assert "not run" in (tmp_path / "tables" / "reference_check.md").read_text()


def test_a_malformed_reference_file_is_one_config_error(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({**REFERENCE, "tolerance_db": {"seeded": -1, "deterministic": 0}}))
    with pytest.raises(ConfigError, match="tolerance_db"):
        load_reference(path)


def test_the_demo_reference_names_the_demo_s_experiments_and_rows():
    plan = load_config(yaml.safe_load((REPO / "config/demo.yaml").read_text()))
    reference = load_reference(REPO / plan.config["reference_check"])
    assert reference["tolerance_db"] == {"seeded": 1.5, "deterministic": 0.05}
    for experiment, rows in reference["rows"].items():
        displays = {plan.method_entry(label)["display"] for label in plan.experiments[experiment]["methods"]}
        assert set(rows) <= displays, experiment
