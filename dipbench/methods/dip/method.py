"""Deep Image Prior (Ulyanov, Vedaldi, Lempitsky, CVPR 2018) as registered methods: ``dip`` and ``dip_es``.

The method resolves its ``"auto"`` parameters to the paper's settings for the task (:mod:`.settings`;
docs/protocol.md), builds the skip network (:mod:`.network`)
from a seed derived from the run identity, and runs the loop (:mod:`.loop`). K seeds of one image run as
one fused fit (:func:`fit_fused`, :mod:`.fused`).

Speed options:
  precision      "auto" (default) | "fp32" | "bf16" (:mod:`dipbench.methods.precision`): bf16 autocast of
                 the network with fp32 master weights, optimiser state and loss; "auto" = bf16 only where it
                 is native (CUDA >= 8.0, CPUs with AVX-512-BF16 or AMX) and was measured to keep the numbers
                 (benchmarks/README.md), fp32 elsewhere. The resolved precision is recorded in every result;
                 the workflow's ``precision: fp32`` (or ``--profile profiles/faithful``) forces fp32.
  channels_last  "auto" (on CUDA, and for bf16 on the CPU; for fp32 on the CPU it was measured not to
                 help) | true | false.
  compile        false (default) | true: torch.compile (inductor) the network | "reduce-overhead": the same
                 with CUDA graphs on CUDA (:mod:`.compiled`; on the 2-core EPYC it compiled for 70 s and ran
                 the 128 px step 15% slower, so it is off); a failed compile runs eagerly, recorded.
  conv_backend   "auto" (default) | "nnpack" | "torch" (:mod:`.nnpack`): the 3x3 convolutions of an fp32,
                 channels-first, eager fit on a CPU without AVX-512 through NNPACK's Winograd kernels (same
                 convolution, rounding ~1e-5 of the range), PyTorch's own elsewhere; recorded.
  cudnn.benchmark is switched on for CUDA devices.

The authors' environment (docs/protocol.md section 10, :mod:`.environment`): ``environment: authors``
resolves the ``"auto"`` switches to what the authors' code ran with (true fp32 without TF32, BatchNorm
weights U(0, 1), ``align_corners`` true, the notebooks' backtracking (:mod:`.backtracking`), their step
count and final input); ``current`` (default) to today's PyTorch and the paper's text. Every switch can be
set on its own, and the resolved values are recorded (``params_resolved``, and the TF32 flags the fit ran
with as ``precision_flags``).
"""

from __future__ import annotations

from typing import Any, Sequence

import torch

from ...errors import ConfigError, ImageError
from ...tasks import Observation, available_tasks
from .. import precision as prec
from ..base import Method, Restoration, RunContext
from ..params import Rule
from ..device import resolve_device
from ..registry import register
from .early_stopping import DEFAULTS as ES_DEFAULTS
from . import environment as env
from .architectures import ARCHITECTURES, layout, min_side, scale_count
from .early_stopping import es_settings
from .fused import fuse_networks
from .inputs import INPUT_KINDS
from . import nnpack
from .loop import DIPProblem, fit, fit_runs
from .network import BN_INITS, SkipNet
from .settings import paper_settings


#: Parameters that reshape the named network; "auto" keeps its shape.
NETWORK_SHAPE = ("channels", "skip_channels", "scales")


@register
class DIP(Method):
    """Deep Image Prior with the paper's skip network.

    Parameters (``"auto"`` = the paper's value for the task, see :func:`paper_settings`):
      steps, lr, reg_noise_std (sigma_p of the per-step input perturbation, in input units),
      network (a named layout of :mod:`.architectures`: the experiment's), input ("noise" | "meshgrid" |
      "image": the experiment's z, :mod:`.inputs`), input_depth (channels of noise z, 32),
      input_scale (noise z ~ U(0, 1) * 0.1),
      ema (EMA weight of outputs, 0.99), output ("ema" | "last": which image is returned),
      final_input ("perturbed": net(z + last noise), as the notebooks; "clean": net(z)),
      pad_input (reflection padding of the image in px, 1 for the paper's 512 -> 514 inpainting),
      channels / skip_channels / scales (reshape the network: every scale's width, every skip's width,
      how many scales; "auto" keeps the named network's), log_every (oracle PSNR period),
      precision ("fp32" | "bf16" | "auto"), checkpointing (activation checkpointing for large images),
      channels_last ("auto" | true | false), compile (torch.compile the network),
      early_stopping (null, or {"window": W, "patience": P}: ES-WMV; the result is the output at the
      step it chose, see :mod:`.early_stopping`; ``steps`` is then the most steps run).

    The authors' environment (:mod:`.environment`; ``"auto"`` = the value of ``environment``):
      environment ("current" | "authors"), tf32 (false: true fp32 on CUDA; true; "auto": PyTorch's
      default), bn_init ("default": weights 1 | "uniform": U(0, 1), PyTorch <= 1.1), align_corners
      (bilinear upsampling as PyTorch < 0.4 when true), backtrack ("off" | "notebook": restore the last good
      weights and Adam moments when the PSNR against the observation drops by > 5 dB between checks, every
      ``log_every`` steps, :mod:`.backtracking`); ``steps`` also takes "paper" (the paper's text) or
      "notebook" (the authors' notebook: 3000 for denoising).
    """

    name = "dip"
    any_task = True  # it needs nothing of a task but its forward operator, so it runs every registered task
    version = "1"
    uses_gpu = True
    fuses_runs = True
    defaults = {
        "steps": "auto", "lr": "auto", "reg_noise_std": "auto", "output": "auto", "final_input": "auto",
        "pad_input": "auto", "network": "auto", "input": "auto", "input_depth": "auto", "input_scale": "auto",
        "ema": 0.99, "channels": "auto", "skip_channels": "auto", "scales": "auto", "log_every": 50,
        "environment": "current", "tf32": "auto", "bn_init": "auto", "align_corners": "auto", "backtrack": "auto",
        "precision": "auto", "checkpointing": False, "channels_last": "auto", "compile": False,
        "conv_backend": "auto", "early_stopping": None,
    }
    smoke = {"steps": 6, "channels": 8, "scales": 3, "log_every": 2, "input_depth": 4}
    param_rules = {
        "steps": Rule(int, low=1, literals=("auto", *env.STEP_CHOICES)),
        "lr": Rule(float, low=0, low_open=True, high=1, literals=("auto",)),
        "reg_noise_std": Rule(float, low=0, literals=("auto",)),
        "output": Rule(str, choices=("ema", "last"), literals=("auto",)),
        "final_input": Rule(str, choices=("perturbed", "clean"), literals=("auto",)),
        "pad_input": Rule(int, low=0, literals=("auto",)),
        "network": Rule(str, choices=tuple(ARCHITECTURES), literals=("auto",)),
        "input": Rule(str, choices=INPUT_KINDS, literals=("auto",)),
        "input_depth": Rule(int, low=1, literals=("auto",)),
        "input_scale": Rule(float, low=0, low_open=True, literals=("auto",)),
        "ema": Rule(float, low=0, high=1, high_open=True, literals=(None,)),
        "channels": Rule(int, low=1, literals=("auto",)),
        "skip_channels": Rule(int, low=0, literals=("auto",)),
        "scales": Rule(int, low=1, high=10, literals=("auto",)),
        "environment": Rule(str, choices=env.ENVIRONMENTS),
        "tf32": Rule(bool, literals=("auto",)),
        "bn_init": Rule(str, choices=BN_INITS, literals=("auto",)),
        "align_corners": Rule(bool, literals=("auto",)),
        "backtrack": Rule(str, choices=env.BACKTRACK_MODES, literals=("auto",)),
        "log_every": Rule(int, low=1),
        "precision": Rule(str, choices=prec.PRECISIONS),
        "channels_last": Rule(bool, literals=("auto",)),
        "compile": Rule(bool, literals=("reduce-overhead",)),
        "conv_backend": Rule(str, choices=nnpack.BACKENDS),
        "early_stopping": Rule(None),
    }

    @classmethod
    def resolve_params(cls, task: str, overrides: dict[str, Any], smoke: bool = False) -> dict[str, Any]:
        params = super().resolve_params(task, overrides, smoke)
        if "early_stopping" in params:  # its keys and values, checked before any job starts
            es_settings(params["early_stopping"])
        cls.check_padding(task, params.get("pad_input", 0))
        return params

    @classmethod
    def check_padding(cls, task: str, pad: Any) -> None:
        """DIP pads the image by ``pad_input`` px through the task's operator, which an upscaling task's
        (SR's downsampler) does not take: refused before any job starts ("auto" is checked once resolved)."""
        upscales = getattr(available_tasks().get(task), "upscales", False)
        if upscales and isinstance(pad, int) and not isinstance(pad, bool) and pad > 0:
            raise ConfigError(f"{cls.name}: pad_input is not supported for {task} (an upscaling task): "
                              f"its operator takes no padding; use pad_input: 0, got {pad}")

    def resolved_params(self, obs: Observation) -> dict[str, Any]:
        """Parameters with every "auto" replaced by the paper's value for ``obs``'s task."""
        paper = paper_settings(obs.task, obs.task_params)
        params = env.resolve(self.params, obs.task, paper)  # the environment's switches, named step counts
        params = {k: (paper[k] if v == "auto" and k in paper else v) for k, v in params.items()}
        device_resolved = ("channels_last", "precision", "tf32", "conv_backend")  # resolved per fit, by device
        unresolved = sorted(k for k, v in params.items()
                            if v == "auto" and k not in (*device_resolved, *NETWORK_SHAPE))
        if unresolved:
            raise ConfigError(f"{self.name}: the {obs.task} task has no DIP paper setting for "
                              f"{', '.join(unresolved)}; give them explicitly (or register the task's with "
                              "dipbench.methods.dip.settings.register_dip_settings)")
        if "early_stopping" in params:
            params["early_stopping"] = es_settings(params["early_stopping"])
        self.check_padding(obs.task, params.get("pad_input", 0))
        side = min(obs.target.height, obs.target.width) + 2 * int(params["pad_input"])
        needed = self.min_image_side(params)
        if side < needed:
            raise ImageError(
                f"{self.name}: the image is {obs.target.width}x{obs.target.height} px, too small for the "
                f"{params['network']!r} skip network with {scale_count(params['network'], params['scales'])} "
                f"scales: each side needs at least {needed} px "
                "(use a larger image, or fewer `scales`)")
        return params

    @staticmethod
    def min_image_side(params: dict[str, Any], task: dict[str, Any] | None = None) -> int:
        """The smallest side (px) the network takes (:func:`.architectures.min_side`: 33 px for the paper's
        5 scales, 129 for the large-hole network). ``task`` ({"name": ..., parameters}) resolves an
        ``"auto"`` network to the task's."""
        network = params["network"]
        if network == "auto":
            network = paper_settings(task["name"], {k: v for k, v in task.items() if k != "name"})["network"]
        return min_side(layout(network, params["scales"], params["channels"], params["skip_channels"]))

    def build_network(self, params: dict[str, Any], out_channels: int, groups: int = 1,
                      in_channels: int | None = None) -> SkipNet:
        """The resolved parameters' network; ``in_channels`` defaults to ``input_depth`` (noise input)."""
        spec = layout(params["network"], params["scales"], params["channels"], params["skip_channels"])
        switches = env.resolve({k: params[k] for k in ("bn_init", "align_corners", "environment") if k in params},
                               "", {})  # "auto" here too, for callers that pass unresolved parameters
        return SkipNet(
            in_channels=int(params["input_depth"]) if in_channels is None else in_channels,
            out_channels=out_channels, groups=groups, align_corners=bool(switches["align_corners"]),
            bn_init=switches["bn_init"], checkpointing=bool(params["checkpointing"]), **spec,
        )

    def seeded_network(self, params: dict[str, Any], out_channels: int, seed: int,
                       in_channels: int | None = None) -> SkipNet:
        """The network of a run with ``seed``, initialised from the global RNG seeded with it."""
        torch.manual_seed(seed)
        return self.build_network(params, out_channels, in_channels=in_channels)

    def restore(self, obs: Observation, ctx: RunContext) -> Restoration:
        params = self.resolved_params(obs)
        device = resolve_device(ctx.device)
        problem = DIPProblem.from_observation(obs, params, device)
        net = self.seeded_network(params, obs.channels, ctx.seed, problem.input_channels(params)).to(device)
        generator = torch.Generator(device=device).manual_seed(ctx.seed)
        with prec.tf32_mode(params["tf32"]) as flags:
            result = fit(net, problem, params, generator, device, progress=ctx.progress,
                         desc=f"dip {obs.task} {obs.image}".strip())
        result.info["params_resolved"] = self.params_record(params)
        result.info["precision_flags"] = flags
        return result

    def restore_many(self, obs: Observation, contexts: Sequence[RunContext]) -> list[Restoration]:
        """:meth:`fit_many` with the resolved ``tf32`` setting in force (for the DIP family too); each
        result records the TF32 flags it ran with (``precision_flags``)."""
        with prec.tf32_mode(self.resolved_params(obs)["tf32"]) as flags:
            results = self.fit_many(obs, contexts)
        for result in results:
            result.info.setdefault("precision_flags", flags)
        return results

    def fit_many(self, obs: Observation, contexts: Sequence[RunContext]) -> list[Restoration]:
        """K seeds of ``obs`` as one fused fit (:func:`fit_fused`): K :meth:`restore` calls up to
        rounding, in about the time of one where a GPU has room."""
        if len(contexts) == 1:
            return [self.restore(obs, contexts[0])]
        return fit_fused([obs] * len(contexts), self.params, seeds=[ctx.seed for ctx in contexts],
                         device=contexts[0].device, progress=contexts[0].progress, method=type(self))

    @staticmethod
    def params_record(params: dict[str, Any]) -> dict[str, Any]:
        return {k: params[k] for k in ("steps", "lr", "reg_noise_std", "output", "final_input", "pad_input",
                                       "network", "input", "input_depth", "input_scale", "environment",
                                       "tf32", "bn_init", "align_corners", "backtrack")}


@register
class DIPEarlyStopping(DIP):
    """DIP with ES-WMV early stopping on (window 100, patience 1000): no ground truth picks the step.

    ``steps`` ("auto": the paper's count) is the most steps run. As in ES-WMV, the detector watches the
    network's outputs and the result is the output at the step of the smallest windowed moving variance
    (``output: last``, also for denoising); the run stops once ``patience`` steps have passed without a
    new minimum. ``output: ema`` returns the EMA of outputs at that step instead: on the 9 denoising
    images at 64 px it scored about the same (+0.1 dB), but the EMA lags the outputs by ~100 steps, so
    it sits 2.6 dB below its own later peak against 1.1 dB for the outputs (benchmarks/README.md).
    """

    name = "dip_es"
    defaults = {**DIP.defaults, "early_stopping": dict(ES_DEFAULTS), "output": "last"}
    smoke = {**DIP.smoke, "early_stopping": {"window": 2, "patience": 2}}


def fit_fused(observations: Sequence[Observation], params: dict[str, Any] | None = None,
              seeds: Sequence[int] | None = None, device: str = "cpu", progress: bool = False,
              method: type[DIP] = DIP) -> list[Restoration]:
    """Run ``len(observations)`` DIP fits in one grouped network; one :class:`Restoration` per run.

    observations: same task and parameters, same size and channels (repeat one observation for K seeds).
    params: DIP parameter overrides (as in a config); seeds: one per run (default 0..K-1), each the
    ``RunContext.seed`` that a separate ``method(...).restore(obs, RunContext(seed=...))`` would get.
    Result k equals that separate run's result up to rounding (see the module docstring).
    """
    if not observations:
        raise ConfigError("fit_fused needs at least one observation")
    seeds = list(range(len(observations))) if seeds is None else list(seeds)
    if len(seeds) != len(observations):
        raise ConfigError(f"fit_fused: {len(seeds)} seeds for {len(observations)} observations")
    first = observations[0]
    for obs in observations[1:]:
        if (obs.task, obs.task_params, obs.y.shape, obs.output_shape) != (
                first.task, first.task_params, first.y.shape, first.output_shape):
            raise ConfigError("fit_fused: every observation needs the same task, parameters, size and channels")
    dev = resolve_device(device)
    instance = method(first.task, **(params or {}))
    resolved = instance.resolved_params(first)
    problems = [DIPProblem.from_observation(obs, resolved, dev) for obs in observations]
    in_channels = problems[0].input_channels(resolved)
    nets = [instance.seeded_network(resolved, first.channels, seed, in_channels) for seed in seeds]
    fused = fuse_networks(nets, instance.build_network(resolved, first.channels, groups=len(nets),
                                                       in_channels=in_channels)).to(dev)
    generators = [torch.Generator(device=dev).manual_seed(seed) for seed in seeds]
    with prec.tf32_mode(resolved["tf32"]) as flags:
        results = fit_runs(fused, problems, resolved, generators, dev, progress=progress,
                           desc=f"dip x{len(problems)} {first.task}")
    for result in results:
        result.info["params_resolved"] = instance.params_record(resolved)
        result.info["precision_flags"] = flags
    return results
