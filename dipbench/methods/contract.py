"""The output contract every method meets, checked in one place for built-ins and plugins alike.

:func:`run_method` is how the CLI's ``restore`` and the workflow's ``job restore`` (one seed, or several
seeds in one fused fit) get Restorations: it calls :meth:`Method.restore_many` and checks each result.

What is **refused** (:class:`~dipbench.errors.MethodError`, one line naming the method, the file that
defines it and what was wrong): a result that is not a :class:`Restoration` (None, a bare array, a
tuple), a wrong number of results, an image that is not a numpy array, an integer or boolean dtype
(uint8 0-255 included: a method returns floats in [0, 1]), a shape other than the observation's
``output_shape`` (h, w, C) -- a 2-D array included, also for a gray image --, NaN or infinite values, values
below ``-TOLERANCE`` or above ``1 + TOLERANCE``; a curve that is not a DataFrame, lacks the ``step`` or
``loss`` column, has non-numeric or non-finite steps, steps that do not increase, or an infinite loss;
``info`` that is not a dict of JSON values. A plugin's method that raises (anything but a
:class:`~dipbench.errors.DipbenchError`, which already is one line) or calls ``sys.exit`` is one line
naming the plugin file and the line of it that failed. A built-in method's own bug keeps its traceback.

What is **clipped**: values within ``TOLERANCE`` (half an 8-bit step) of [0, 1], to [0, 1] -- the 8-bit
file written is the same either way. What is **kept**: any floating dtype (returned as float32), the curve's
other columns (oracle ``psnr`` may be NaN or inf), NaN loss on steps that were not logged.
"""

from __future__ import annotations

import json
import traceback
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from ..errors import DipbenchError, MethodError
from .base import Method, Restoration, RunContext
from .registry import describe_class

#: How far outside [0, 1] a value may be and still be clipped: half an 8-bit step, so clipping never
#: changes the written 8-bit image.
TOLERANCE = 0.5 / 255


def run_method(method: Method, obs, contexts: Sequence[RunContext]) -> list[Restoration]:
    """``method.restore_many(obs, contexts)``, every result checked by :func:`check_restoration`."""
    cls = type(method)
    try:
        results = method.restore_many(obs, list(contexts))
    except (DipbenchError, KeyboardInterrupt):
        raise
    except (Exception, SystemExit) as exc:
        if not _is_plugin(cls):
            raise
        raise MethodError(f"method {cls.name!r} ({_failing_line(cls, exc)}) failed: {_describe(exc)}") from None
    if not isinstance(results, (list, tuple)) or len(results) != len(contexts):
        got = f"{len(results)} results" if isinstance(results, (list, tuple)) else _kind(results)
        raise MethodError(f"method {cls.name!r} ({describe_class(cls)}): restore_many returned {got}, "
                          f"expected a list of {len(contexts)} Restoration(s)")
    return [check_restoration(result, obs, cls) for result in results]


def check_restoration(result: Any, obs, cls: type[Method]) -> Restoration:
    """``result`` checked against the contract (module docstring): a Restoration whose image is
    contiguous float32 (h, w, C) in [0, 1]; :class:`MethodError` otherwise."""

    def refuse(what: str) -> MethodError:
        return MethodError(f"method {cls.name!r} ({describe_class(cls)}) {what}")

    if not isinstance(result, Restoration):
        hint = "; wrap it: Restoration(image)" if isinstance(result, np.ndarray) else ""
        raise refuse(f"returned {_kind(result)}, expected a Restoration(image, curve, info){hint}")
    image = result.image
    expected = tuple(obs.output_shape)
    if not isinstance(image, np.ndarray):
        raise refuse(f"returned an image of type {type(image).__name__}, expected a numpy array of shape {expected}")
    if not np.issubdtype(image.dtype, np.floating):
        raise refuse(f"returned an image of dtype {image.dtype}, expected floating values in [0, 1]")
    if image.shape != expected:
        what = "a 2-D array" if image.ndim == 2 else f"shape {image.shape}"
        raise refuse(f"returned {what}, expected shape {expected} (height, width, {expected[2]} channel(s))")
    bad = int(np.count_nonzero(~np.isfinite(image)))
    if bad:
        raise refuse(f"returned an image with {bad} NaN or infinite value(s)")
    low, high = float(image.min(initial=0.0)), float(image.max(initial=0.0))
    if low < -TOLERANCE or high > 1 + TOLERANCE:
        raise refuse(f"returned values from {low:.4g} to {high:.4g}, outside [0, 1] by more than {TOLERANCE:.2g}")
    image = np.ascontiguousarray(np.clip(image, 0.0, 1.0), dtype=np.float32)
    _check_curve(result.curve, refuse)
    _check_info(result.info, refuse)
    return Restoration(image, result.curve, result.info)


def _check_curve(curve: Any, refuse) -> None:
    if curve is None:
        return
    if not isinstance(curve, pd.DataFrame):
        raise refuse(f"returned a curve of type {type(curve).__name__}, expected a pandas DataFrame or None")
    missing = [column for column in ("step", "loss") if column not in curve.columns]
    if missing:
        raise refuse(f"returned a curve without the column(s) {missing} (it has {list(curve.columns)})")
    for column in ("step", "loss"):
        if not pd.api.types.is_numeric_dtype(curve[column]) or pd.api.types.is_bool_dtype(curve[column]):
            raise refuse(f"returned a curve whose {column!r} column is not numeric ({curve[column].dtype})")
    steps = curve["step"].to_numpy(dtype=np.float64)
    if not np.isfinite(steps).all():
        raise refuse("returned a curve with NaN or infinite steps")
    if (np.diff(steps) <= 0).any():
        raise refuse("returned a curve whose steps do not increase")
    if np.isinf(curve["loss"].to_numpy(dtype=np.float64)).any():
        raise refuse("returned a curve with an infinite loss")


def _check_info(info: Any, refuse) -> None:
    from ..atomic import _json_default

    if not isinstance(info, dict) or not all(isinstance(key, str) for key in info):
        raise refuse(f"returned info of type {type(info).__name__}, expected a dict with string keys")
    try:
        json.dumps(info, default=_json_default)
    except (TypeError, ValueError) as exc:
        raise refuse(f"returned info that is not JSON: {exc}") from None


def _is_plugin(cls: type) -> bool:
    return cls.__module__.split(".")[0] != "dipbench"


def _failing_line(cls: type, exc: BaseException) -> str:
    """``plugin FILE line N`` for the last traceback frame in the file that defines ``cls`` (the plugin's
    own line that called into whatever raised), else where the class is defined."""
    where = describe_class(cls)
    if not where.startswith("plugin "):
        return where
    source = where[len("plugin "):].rsplit(" line ", 1)[0]
    frames = [frame for frame in traceback.extract_tb(exc.__traceback__)
              if Path(frame.filename).resolve() == Path(source).resolve()]
    return f"plugin {source} line {frames[-1].lineno}" if frames else where


def _describe(exc: BaseException) -> str:
    if isinstance(exc, SystemExit):
        return f"it called sys.exit({exc.code!r}); a method returns a Restoration or raises an error"
    return f"{type(exc).__name__}: {exc}".replace("\n", " ")


def _kind(value: Any) -> str:
    if value is None:
        return "None"
    if isinstance(value, np.ndarray):
        return f"a bare numpy array of shape {value.shape}"
    return f"a {type(value).__name__}"
