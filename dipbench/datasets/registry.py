"""The dataset registry: which images exist, where their files come from, and the verified local copy of
one registered file.

The registry is package data (it ships in the wheel): ``dipbench/datasets/data/index.yaml`` (one entry per
dataset) and ``data/<name>.tsv`` (one row per file: image, role, file, sha256, bytes, width, height, mode, url, notes).
Reading it never touches the network, so :func:`image_names` works offline (Snakemake builds its DAG from
it). Files are fetched on first use into the cache and checked against their sha256 every time they are
handed out (:func:`file_path`; where the cache and mirrors are: :mod:`.settings`; whole datasets at once:
:mod:`.bulk`).

Roles: ``gt`` is the ground truth; published inputs have their own role (``noisy_s25``: the DIP authors'
sigma=25 noisy images, ``masked_50p``: their 50%-masked images); ``asset`` marks the published result
images of ``dip_paper_assets``. Built-in datasets (kind ``builtin``) are read from scikit-image's data
folder and need no download.
"""
from __future__ import annotations

import csv
import functools
import os
import re
import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import ChecksumError, ConfigError, DownloadError
from ..imaging.io import read_image
from ..yamlio import load_yaml_file
from .download import DEADLINE, CacheWarning, FileEntry, check_options, fetch_file, sha256_of
from .settings import MirrorSpec, cache_dir, mirrors, offline

REGISTRY_DIR = Path(__file__).resolve().parent / "data"
KINDS = ("benchmark", "results", "builtin")
COLUMNS = ("image", "role", "file", "sha256", "bytes", "width", "height", "mode", "url", "notes")

ALLOWED_PATH = (
    "a relative path inside the dataset folder: names separated by '/', none of them empty, '.' or '..', "
    "no leading '/', no backslash, ':' or control character"
)
ALLOWED_NAME = "letters, digits, '_', '.' and '-', not starting with '.' or '-'"
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
_COUNT = re.compile(r"[0-9]+")


@dataclass(frozen=True)
class RegistryFile:
    """One registered file. ``file`` is relative to the dataset's folder (in a mirror and in the cache);
    ``bytes`` is its size, ``width``/``height`` its size in pixels, ``mode`` its PIL mode (RGB, RGBA or L)."""

    dataset: str
    image: str
    role: str
    file: str
    sha256: str
    bytes: int
    width: int
    height: int
    mode: str
    url: str
    notes: str
    mirror_folders: tuple[str, ...]

    @property
    def entry(self) -> FileEntry:
        """What :func:`dipbench.datasets.download.fetch_file` needs."""
        return FileEntry(
            name=f"{self.dataset}/{self.file}",
            sha256=self.sha256,
            size=self.bytes,
            url=self.url,
            mirror_paths=tuple(f"{folder}/{self.file}" for folder in self.mirror_folders),
        )


@dataclass(frozen=True)
class Dataset:
    """A registered dataset.

    images: image names in the dataset's fixed order (lower case; for ``dip_paper_assets`` the asset path
        without ``.png``).
    channels: 3 or 1, how :func:`load_gt` returns every image (gray files replicated to RGB, RGB files with
        equal channels reduced to one); None where the files are mixed and kept as stored.
    kind: ``benchmark``, ``results`` or ``builtin`` (see ``dipbench/datasets/data/index.yaml``).
    roles: the file roles present, ``gt`` first.
    caveats: image -> reason a report may want averages without it (the Lena image).
    """

    name: str
    images: list[str]
    channels: int | None
    description: str
    licence: str
    citation: str
    kind: str = "benchmark"
    roles: tuple[str, ...] = ("gt",)
    caveats: dict[str, str] = field(default_factory=dict)
    files: tuple[RegistryFile, ...] = field(default=(), repr=False)
    mirror_folders: tuple[str, ...] = ()

    def file(self, image: str, role: str = "gt") -> RegistryFile | None:
        """The registry row of (image, role), or None if there is none."""
        return next((f for f in self.files if f.image == image and f.role == role), None)

    @property
    def builtin(self) -> bool:
        return self.kind == "builtin"


# --------------------------------------------------------------------------------------------- registry


@functools.lru_cache(maxsize=None)
def _registry() -> dict[str, Dataset]:
    index_path = REGISTRY_DIR / "index.yaml"
    try:
        index = load_yaml_file(index_path, "dataset registry")["datasets"]
    except (KeyError, TypeError) as exc:
        raise ConfigError(f"cannot read the dataset registry {index_path}: {exc}") from None
    if not isinstance(index, dict):
        raise ConfigError(f"{index_path}: 'datasets' must be a mapping of dataset name to settings")
    return {name: _load_dataset(name, meta or {}) for name, meta in index.items()}


def path_problem(value: object) -> str | None:
    """Why ``value`` is not a safe relative path inside a dataset folder (see :data:`ALLOWED_PATH`), or None
    when it is one. Absolute paths, ``..``, backslashes, drive letters and empty names are refused, so a
    registry row can never name a file outside ``<cache>/<dataset>/`` or ``<mirror>/<folder>/``."""
    if not isinstance(value, str) or not value:
        return "it is empty"
    if "\\" in value:
        return "it contains a backslash"
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        return "it contains a control character"
    if value.startswith("/"):
        return "it is an absolute path"
    if ":" in value:
        return "it contains ':' (a drive letter or URL)"
    parts = value.split("/")
    if "" in parts:
        return "it has an empty name ('//' or a trailing '/')"
    if any(part in (".", "..") for part in parts):
        return "it has a '.' or '..' component"
    if any(part != part.strip() for part in parts):
        return "a name starts or ends with white space"
    return None


def _row_file(name: str, path: Path, line: int, row: dict, folders: tuple[str, ...]) -> RegistryFile:
    """One validated registry row; anything invalid raises :class:`ConfigError` naming the row."""
    where = f"{path}: dataset {name!r}, row {line}"
    if None in row or any(row.get(column) is None for column in COLUMNS):
        count = len([v for k, v in row.items() if k is not None and v is not None]) + len(row.get(None) or ())
        raise ConfigError(f"{where}: {count} tab-separated fields, expected {len(COLUMNS)} ({' '.join(COLUMNS)})")
    where += f" (image {row['image']!r}, role {row['role']!r})"

    def bad(column: str, problem: str, allowed: str) -> ConfigError:
        return ConfigError(f"{where}: {column} {row[column]!r} is not allowed ({problem}); allowed: {allowed}")

    for column in ("image", "file"):
        problem = path_problem(row[column])
        if problem:
            raise bad(column, problem, ALLOWED_PATH)
    if not re.fullmatch(r"[A-Za-z0-9_]+", row["role"]):
        raise bad("role", "not a plain name", "letters, digits and '_'")
    if not _SHA256.fullmatch(row["sha256"]):
        raise bad("sha256", "not a sha256", "64 hexadecimal digits")
    for column in ("bytes", "width", "height"):
        if not _COUNT.fullmatch(row[column]):
            raise bad(column, "not a count", "a whole number >= 0")
    url = row["url"]
    if url and (not url.startswith("https://") or any(c.isspace() for c in url)):
        raise bad("url", "not an https URL", "empty, or an https:// URL without spaces")
    return RegistryFile(
        dataset=name,
        image=row["image"],
        role=row["role"],
        file=row["file"],
        sha256=row["sha256"].lower(),
        bytes=int(row["bytes"]),
        width=int(row["width"]),
        height=int(row["height"]),
        mode=row["mode"],
        url=url,
        notes=row["notes"],
        mirror_folders=folders,
    )


def _load_dataset(name: str, meta: dict) -> Dataset:
    index_path = REGISTRY_DIR / "index.yaml"
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ConfigError(f"{index_path}: dataset name {name!r} is not allowed; allowed: {ALLOWED_NAME}")
    if not isinstance(meta, dict):
        raise ConfigError(f"{index_path}: dataset {name!r} is not a mapping of settings")
    path = REGISTRY_DIR / f"{name}.tsv"
    kind = meta.get("kind", "benchmark")
    channels = meta.get("channels")
    if kind not in KINDS or channels not in (1, 3, None):
        raise ConfigError(f"{index_path}: dataset {name!r} has kind {kind!r}, channels {channels!r}")
    folders = meta.get("mirror_folders") or [name]
    if not isinstance(folders, (list, tuple)):
        raise ConfigError(f"{index_path}: dataset {name!r}: mirror_folders must be a list, got {folders!r}")
    for folder in folders:
        problem = path_problem(folder)
        if problem:
            raise ConfigError(
                f"{index_path}: dataset {name!r}: mirror folder {folder!r} is not allowed ({problem}); "
                f"allowed: {ALLOWED_PATH.replace('dataset folder', 'mirror')}"
            )
    folders = tuple(folders)
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
            if tuple(reader.fieldnames or ()) != COLUMNS:
                raise ConfigError(f"{path}: expected the columns {' '.join(COLUMNS)}")
            files = tuple(_row_file(name, path, reader.line_num, row, folders) for row in reader)
    except OSError as exc:
        raise ConfigError(f"cannot read the registry table {path}: {exc.strerror or exc}") from None
    except (ValueError, csv.Error) as exc:  # e.g. bytes that are not UTF-8
        raise ConfigError(f"{path}: dataset {name!r}: malformed table ({exc})") from None
    if len({(f.image, f.role) for f in files}) != len(files):
        raise ConfigError(f"{path}: an (image, role) pair appears twice")
    images = list(dict.fromkeys(f.image for f in files))
    roles = tuple(dict.fromkeys(["gt"] * any(f.role == "gt" for f in files) + [f.role for f in files]))
    return Dataset(
        name=name,
        images=images,
        channels=channels,
        description=" ".join(str(meta.get("description", "")).split()),
        licence=" ".join(str(meta.get("licence", "")).split()),
        citation=" ".join(str(meta.get("citation", "")).split()),
        kind=kind,
        roles=roles,
        caveats=dict(meta.get("caveats") or {}),
        files=files,
        mirror_folders=folders,
    )


def list_datasets(kind: str | None = None) -> list[Dataset]:
    """Every registered dataset in registry order, or only those of ``kind`` (benchmark/results/builtin)."""
    if kind is not None and kind not in KINDS:
        raise ConfigError(f"unknown dataset kind {kind!r}; known: {', '.join(KINDS)}")
    return [ds for ds in _registry().values() if kind is None or ds.kind == kind]


def get_dataset(name: str) -> Dataset:
    """The dataset called ``name``; an unknown name raises :class:`ConfigError` listing the known ones."""
    try:
        return _registry()[name]
    except KeyError:
        raise ConfigError(f"unknown dataset {name!r}; known datasets: {', '.join(_registry())}") from None


def image_names(name: str) -> list[str]:
    """The dataset's image names in their fixed order. Reads only the registry: never downloads."""
    return list(get_dataset(name).images)


def input_roles() -> list[str]:
    """Every published-input role in the registry (``noisy_s25``, ``masked_50p``)."""
    roles = (role for ds in _registry().values() for role in ds.roles)
    return sorted({role for role in roles if role not in ("gt", "asset")})


def registry_file(name: str, image: str, role: str = "gt") -> RegistryFile:
    """The registry row of (dataset, image, role); :class:`ConfigError` if there is none."""
    dataset = get_dataset(name)
    row = dataset.file(image, role)
    if row is None:
        if image not in dataset.images:
            shown = ", ".join(dataset.images[:30]) + (", ..." if len(dataset.images) > 30 else "")
            raise ConfigError(f"dataset {name!r} has no image {image!r}; its images: {shown}")
        raise ConfigError(f"dataset {name!r} has no {role!r} file for image {image!r}")
    return row


def _skimage_path(row: RegistryFile) -> Path:
    """Where a built-in image is in scikit-image's data folder (not checked)."""
    import skimage

    return Path(skimage.__file__).parent / "data" / row.file


# --------------------------------------------------------------------------------------------- files


def local_path(name: str, image: str, role: str = "gt", cache: str | os.PathLike | None = None) -> Path:
    """Where the file of (dataset, image, role) is or will be: ``<cache>/<dataset>/<file>``, or the file
    in scikit-image's data folder for a built-in dataset. Nothing is fetched or checked."""
    row = registry_file(name, image, role)
    if get_dataset(name).builtin:
        return _skimage_path(row)
    return cache_dir(cache) / name / row.file


def file_path(
    name: str,
    image: str,
    role: str = "gt",
    *,
    mirror: MirrorSpec = None,
    cache: str | os.PathLike | None = None,
    retries: int = 3,
    backoff: float = 1.0,
    timeout: float = 30.0,
    deadline: float = DEADLINE,
    cancel: threading.Event | None = None,
) -> Path:
    """The verified local copy of (dataset, image, role), fetched first if missing or tampered.

    Built-in images are returned from scikit-image's data folder when that file has the registered sha256.
    When it has other bytes (a replaced file, another scikit-image build) it is never used: the registered
    bytes are taken from the cache or fetched like any other file, and if no source has them a
    :class:`ChecksumError` names the file and both hashes. A scikit-image without the file is treated the
    same way. Raises :class:`ConfigError` for an unknown dataset, image or role or invalid download
    settings, :class:`DownloadError`/:class:`ChecksumError` if no source has the file.
    """
    check_options(retries=retries, backoff=backoff, timeout=timeout, deadline=deadline)
    row = registry_file(name, image, role)
    dest = cache_dir(cache) / name / row.file
    options = dict(
        retries=retries, backoff=backoff, timeout=timeout, deadline=deadline, cancel=cancel, canonical=not offline()
    )
    if get_dataset(name).builtin:
        path = _skimage_path(row)
        status, actual = check_file(path, row)
        if status == "ok":
            return path
        if status == "missing":
            return fetch_file(row.entry, dest, mirrors(mirror), **options)
        try:
            found = fetch_file(row.entry, dest, mirrors(mirror), **options)
        except DownloadError as exc:
            raise ChecksumError(
                f"built-in image {name}/{row.file}: {path}: {actual}, expected sha256 {row.sha256}; "
                f"it is not used, and no other source has the registered file ({exc})"
            ) from None
        warnings.warn(
            f"built-in image {name}/{row.file}: {path}: {actual}, expected sha256 {row.sha256}; "
            f"using the verified copy {found}",
            CacheWarning,
            stacklevel=2,
        )
        return found
    return fetch_file(row.entry, dest, mirrors(mirror), **options)


def check_file(path: Path, row: RegistryFile) -> tuple[str, str]:
    """(``ok`` | ``missing`` | ``bad``, what was found) for the file at ``path``, checked against ``row``."""
    if not path.exists() and not path.is_symlink():
        return "missing", ""
    if not path.is_file():
        return "bad", "a folder, not a file" if path.is_dir() else "not a regular file"
    try:
        actual = sha256_of(path)
    except OSError as exc:
        return "bad", f"unreadable ({exc.strerror or exc})"
    return ("ok", "") if actual == row.sha256 else ("bad", f"sha256 {actual}")


def gt_path(name: str, image: str, *, mirror: MirrorSpec = None, cache: str | os.PathLike | None = None) -> Path:
    """The verified ground-truth file of ``image`` (fetched if needed)."""
    return file_path(name, image, "gt", mirror=mirror, cache=cache)


def _read_mode(name: str) -> str:
    channels = get_dataset(name).channels
    return {3: "to_rgb", 1: "to_gray"}.get(channels, "any")


def load_gt(name: str, image: str, *, mirror: MirrorSpec = None, cache: str | os.PathLike | None = None) -> np.ndarray:
    """The ground truth as (H, W, C) float32 in [0, 1], C = the dataset's ``channels``; native size
    (no modcrop or crop: tasks do that)."""
    return read_image(gt_path(name, image, mirror=mirror, cache=cache), _read_mode(name))


def input_path(
    name: str, image: str, role: str, *, mirror: MirrorSpec = None, cache: str | os.PathLike | None = None
) -> Path | None:
    """The verified published input of ``role`` (``noisy_s25``, ``masked_50p``) for ``image``, or None when
    the dataset has no such input. An unknown role or image raises :class:`ConfigError`."""
    known = input_roles()
    if role not in known:
        raise ConfigError(f"unknown input role {role!r}; known: {', '.join(known)}")
    dataset = get_dataset(name)
    if image not in dataset.images:
        registry_file(name, image)  # raises the ConfigError naming the images
    if dataset.file(image, role) is None:
        return None
    return file_path(name, image, role, mirror=mirror, cache=cache)


def load_input(
    name: str, image: str, role: str, *, mirror: MirrorSpec = None, cache: str | os.PathLike | None = None
) -> np.ndarray | None:
    """The published input as (H, W, C) float32 in [0, 1] (channels as :func:`load_gt`), or None."""
    path = input_path(name, image, role, mirror=mirror, cache=cache)
    return None if path is None else read_image(path, _read_mode(name))
