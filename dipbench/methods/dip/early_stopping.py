"""ES-WMV: early stopping for Deep Image Prior without ground truth.

Wang, Li, Zhuang, Sun, "Early Stopping for Deep Image Prior", TMLR 2023. After each step t the detector
takes the windowed moving variance of the last W outputs,

    VAR(t) = 1/W * sum_{i=t-W+1..t} || x_i - mean(x_{t-W+1..t}) ||^2        (here: also / pixels),

remembers the output at every new minimum of VAR, and stops once P steps have passed without a new
minimum; the remembered output is the result.

This implementation costs O(pixels) per step: it keeps a ring buffer of the window and running sums of
the outputs and of their squared norms, adding the newest output and subtracting the one leaving the
window, instead of recomputing the variance over the window. The sums are kept in float64 (float32 where
the device has no float64) on outputs shifted by the first output, so the subtraction in
``sum_sq / W - ||sum / W||^2`` does not cancel catastrophically. Everything stays on the device: a new
minimum is recorded with ``torch.where``, so :meth:`update` never synchronises with the host; only
:meth:`check` (called at the logging steps) does.

It handles K runs at once (a fused network): every tensor has a leading run dimension, and each run
stops on its own.
"""

from __future__ import annotations

from typing import Any

import torch

from ...errors import ConfigError

DEFAULTS = {"window": 100, "patience": 1000, "stop": True}


def es_settings(value: Any) -> dict[str, Any] | None:
    """Validate the ``early_stopping`` parameter: None/False (off), True (defaults) or a dict.

    ``stop: false`` keeps optimising to the fixed step count after the detector has decided (the result is
    still the output it chose): for evaluating the detector against the whole curve.
    """
    if value is None or value is False:
        return None
    if value is True:
        value = {}
    if not isinstance(value, dict):
        raise ConfigError(f"early_stopping must be null or a mapping like {DEFAULTS}, got {value!r}")
    unknown = set(value) - set(DEFAULTS)
    if unknown:
        raise ConfigError(f"early_stopping: unknown key(s) {sorted(unknown)}; known: {sorted(DEFAULTS)}")
    settings = {**DEFAULTS, **value}
    for key in ("window", "patience"):
        number = settings[key]
        if not isinstance(number, int) or isinstance(number, bool) or number < 1:
            raise ConfigError(f"early_stopping: {key} must be an integer >= 1, got {number!r}")
    if not isinstance(settings["stop"], bool):
        raise ConfigError(f"early_stopping: stop must be true or false, got {settings['stop']!r}")
    return settings


class WindowedVariance:
    """ES-WMV state of ``runs`` runs whose outputs have ``numel`` elements each.

    Call :meth:`update` once per step with the outputs (runs, numel) and what to remember at a new
    minimum (runs, ...); call :meth:`check` at logging steps to stop runs whose patience ran out.
    """

    def __init__(self, runs: int, numel: int, window: int = 100, patience: int = 1000,
                 device: torch.device | str = "cpu"):
        device = torch.device(device)
        self.window, self.patience, self.runs, self.numel = int(window), int(patience), runs, numel
        self.acc_dtype = torch.float32 if device.type == "mps" else torch.float64
        self.ring = torch.zeros((self.window, runs, numel), device=device)
        self.sum = torch.zeros((runs, numel), dtype=self.acc_dtype, device=device)
        self.sum_sq = torch.zeros(runs, dtype=self.acc_dtype, device=device)
        self.shift: torch.Tensor | None = None
        self.seen = 0
        self.best_var = torch.full((runs,), float("inf"), dtype=self.acc_dtype, device=device)
        self.best_step = torch.zeros(runs, dtype=torch.long, device=device)
        self.best: torch.Tensor | None = None
        self.active = torch.ones(runs, dtype=torch.bool, device=device)
        #: step at which each run stopped (host side; 0 = still running)
        self.stop_step = [0] * runs
        self.last_var = torch.full((runs,), float("nan"), dtype=self.acc_dtype, device=device)

    @torch.no_grad()
    def update(self, step: int, outputs: torch.Tensor, keep: torch.Tensor) -> None:
        """Add the outputs of ``step`` (runs, numel); remember ``keep`` (runs, ...) at a new minimum."""
        x = outputs.detach().reshape(self.runs, self.numel).float()
        if self.shift is None:
            self.shift = x.clone()
        slot = self.seen % self.window
        new = (x - self.shift).to(self.acc_dtype)
        self.sum += new
        self.sum_sq += new.square().sum(dim=1)
        if self.seen >= self.window:  # the oldest output leaves the window
            old = self.ring[slot].to(self.acc_dtype)
            self.sum -= old
            self.sum_sq -= old.square().sum(dim=1)
        self.ring[slot] = new.to(self.ring.dtype)
        self.seen += 1
        if self.best is None:
            self.best = keep.detach().clone()
        if self.seen < self.window:
            return
        w = float(self.window)
        var = (self.sum_sq - self.sum.square().sum(dim=1) / w).clamp_min(0.0) / (w * self.numel)
        self.last_var = var
        better = self.active & (var < self.best_var)
        self.best_var = torch.where(better, var, self.best_var)
        self.best_step = torch.where(better, torch.full_like(self.best_step, step), self.best_step)
        shape = (self.runs,) + (1,) * (keep.dim() - 1)
        self.best = torch.where(better.view(shape), keep.detach(), self.best)

    def check(self, step: int) -> bool:
        """At a logging step: stop runs without a new minimum for ``patience`` steps. True if all stopped.

        One host synchronisation.
        """
        if self.seen < self.window:
            return False
        expired = (self.active & (step - self.best_step >= self.patience)).tolist()  # the one sync
        if any(expired):
            for run, stop in enumerate(expired):
                if stop:
                    self.stop_step[run] = step
            self.active &= ~torch.tensor(expired, device=self.active.device)
        return all(self.stop_step)

    @property
    def ready(self) -> bool:
        """True once a full window has been seen (a minimum exists)."""
        return self.seen >= self.window
