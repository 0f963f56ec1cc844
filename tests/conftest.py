"""Shared fixtures. Tests that need the shared dataset mirror (../shared beside the repo) skip without it."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "datasets"

# Two OpenMP threads on a busy 2-core machine spin-wait badly; tests run DIP on tiny images anyway.
torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _one_thread_after_each_test():
    """Put torch back on one thread after a test whose ``dipbench restore`` chose its own count."""
    omp = os.environ.get("OMP_NUM_THREADS")
    yield
    torch.set_num_threads(1)
    if omp is None:
        os.environ.pop("OMP_NUM_THREADS", None)
    else:
        os.environ["OMP_NUM_THREADS"] = omp


def needs_shared():
    return pytest.mark.skipif(not SHARED.is_dir(), reason=f"shared dataset mirror not found at {SHARED}")


@pytest.fixture
def shared() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"shared dataset mirror not found at {SHARED}")
    return SHARED


@pytest.fixture
def smooth_rgb() -> np.ndarray:
    """A 64x64 RGB test image with smooth structure and edges, values in [0, 1]."""
    y, x = np.mgrid[0:64, 0:64] / 63.0
    image = np.stack([0.5 + 0.4 * np.sin(3 * x), 0.5 + 0.4 * np.cos(2 * y), (x + y) / 2], axis=2)
    image[20:40, 20:40] = [0.9, 0.2, 0.1]
    return image.astype(np.float32)


@pytest.fixture
def gray_image(smooth_rgb) -> np.ndarray:
    return smooth_rgb.mean(axis=2, keepdims=True)
