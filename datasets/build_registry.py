"""Regenerate the registry tables (NAME.tsv) of dipbench/datasets/data/index.yaml from a local mirror.

Usage::

    python datasets/build_registry.py MIRROR [--out DIR]

MIRROR is a folder laid out like the shared data mirror: ``MIRROR/<manifest>/MANIFEST.tsv`` with the
columns ``file sha256 bytes width height mode source_repo source_path url source_commit notes``.
Datasets with a ``skimage`` list are described from the installed scikit-image instead (sha256, size and
mode of ``skimage/data/<file>``, and scikit-image's pinned download URL where it has one).

Output columns: ``image role file sha256 bytes width height mode url notes``. ``file`` is relative to the
dataset's folder; a file at the top level has role ``gt``, one in a sub-folder has the sub-folder as its
role (e.g. ``noisy_s25/house.png`` -> image ``house``, role ``noisy_s25``); ``image`` is the lower-cased
stem. For ``dip_paper_assets`` the image is the path without ``.png`` and the role ``asset``. A dataset
with a ``files`` mapping (``file: [image, role]``) takes exactly those files of its manifest, named so.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import sys
from pathlib import Path

import yaml

REGISTRY = Path(__file__).resolve().parents[1] / "dipbench" / "datasets" / "data"
COLUMNS = ("image", "role", "file", "sha256", "bytes", "width", "height", "mode", "url", "notes")


def manifest_rows(mirror: Path, name: str, folder: str, files: dict[str, list[str]] | None = None) -> list[dict]:
    path = mirror / folder / "MANIFEST.tsv"
    with open(path, newline="", encoding="utf-8") as handle:
        records = list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    if files is not None:
        missing = sorted(set(files) - {rec["file"] for rec in records})
        if missing:
            raise SystemExit(f"{name}: files not in {path}: {missing}")
        records = [rec for rec in records if rec["file"] in files]
    rows = []
    for rec in records:
        file = rec["file"]
        if files is not None:
            image, role = files[file]
        elif name == "dip_paper_assets":
            image, role = file.removesuffix(".png"), "asset"
        else:
            parts = file.split("/")
            role = "gt" if len(parts) == 1 else "/".join(parts[:-1])
            image = Path(parts[-1]).stem.lower()
        rows.append(
            {
                "image": image,
                "role": role,
                "file": file,
                **{key: rec[key] for key in ("sha256", "bytes", "width", "height", "mode", "url", "notes")},
            }
        )
    return rows


def skimage_rows(files: list[str]) -> list[dict]:
    import skimage
    from PIL import Image

    data = Path(skimage.__file__).parent / "data"
    try:
        from skimage.data._registry import registry_urls  # private, used for provenance only
    except ImportError:  # pragma: no cover - depends on the scikit-image version
        registry_urls = {}
    rows = []
    for file in files:
        path = data / file
        with Image.open(path) as pil:
            width, height, mode = pil.width, pil.height, pil.mode
        rows.append(
            {
                "image": Path(file).stem.lower(),
                "role": "gt",
                "file": file,
                "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                "bytes": str(path.stat().st_size),
                "width": str(width),
                "height": str(height),
                "mode": mode,
                "url": registry_urls.get(f"data/{file}", ""),
                "notes": f"skimage/data/{file} as shipped with scikit-image {skimage.__version__}",
            }
        )
    return rows


def write_table(path: Path, rows: list[dict]) -> None:
    keys = {(row["image"], row["role"]) for row in rows}
    if len(keys) != len(rows):
        raise SystemExit(f"{path.name}: duplicate (image, role) pairs")
    for row in rows:
        for key in COLUMNS:
            if any(ch in row[key] for ch in "\t\n\r"):
                raise SystemExit(f"{path.name}: tab or newline in column {key} of {row['file']}")
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(
            handle, fieldnames=COLUMNS, delimiter="\t", lineterminator="\n", quoting=csv.QUOTE_NONE
        )
        writer.writeheader()
        writer.writerows(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mirror", type=Path, help="folder with <dataset>/MANIFEST.tsv files")
    parser.add_argument("--out", type=Path, default=REGISTRY, help="where to write NAME.tsv (default: the package registry)")
    args = parser.parse_args(argv)
    index = yaml.safe_load((REGISTRY / "index.yaml").read_text(encoding="utf-8"))["datasets"]
    for name, meta in index.items():
        if "skimage" in meta:
            rows = skimage_rows(meta["skimage"])
        else:
            rows = manifest_rows(args.mirror, name, meta["manifest"], meta.get("files"))
        write_table(args.out / f"{name}.tsv", rows)
        print(f"{name}: {len(rows)} files", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
