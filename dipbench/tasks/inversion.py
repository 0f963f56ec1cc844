"""Natural pre-image (feature inversion, the DIP paper's fig. 9): an image whose AlexNet features match
those of a given image, under the DIP parameterisation.

The experiment (docs/protocol.md section 9; the authors' feature_inversion notebook): the image is
feature_inversion/building.jpg (dataset ``dip_repo``, images ``building`` and ``monkey``) at 227 x 227 px;
the network is the skip net "feature_inversion" (6 scales, 16..128 channels, 4-channel skips, kernels
7, 7, 5, 5, 3, 3, nearest upsampling, average-pool downsampling, zero padding) fed 32-channel noise,
sigma_p 0, Adam with lr 0.001 for 3100 steps, and the loss is the MSE between the AlexNet features of
the network output and those of the image (fc6 in the paper's figure). The paper reports no numbers.

Shapes and units. The observation ``y`` is the image itself, (H, W, 3) float32 RGB in [0, 1] (so the
``input`` method and the PNGs work as for any task); ``gt`` is the image too (the PSNR of the pre-image
against it is extra information, not the experiment's measure), and the target box is the whole image.
:meth:`NaturalPreImage.observed` is the image's features at ``layer``, a tensor of the layer's shape
(fc6: (1, 4096); conv5 at 227 px: (1, 256, 13, 13)), not an image; :meth:`NaturalPreImage.operator` maps
the network output (1, 3, H, W) in [0, 1] to the same features. DIP then fits
``mse(features(net(z)), features(image))``. AlexNet: :mod:`.alexnet` (torchvision's layout and weights,
ImageNet mean / std normalisation; fc6 = the first linear layer's output before its ReLU). RGB only; at
least 63 px per side.

Parameters:
  layer           AlexNet layer whose features are matched (:data:`LAYERS`; default "fc6").
  weights         path to torchvision's AlexNet weights (``alexnet-owt-7be5be79.pth``, a plain state_dict),
                  or "random": a randomly initialised AlexNet with a fixed seed, a check that the machinery
                  runs offline and not the paper's experiment (its caption says "random weights"). The
                  file cannot be downloaded by dipbench; unset, making an observation is an error.
  weights_sha256  the file's expected sha256 (hex); a different file is an error. Making an observation
                  records the file's sha256 here, so every run record names the weights it used, and every
                  later use of the observation (the DIP fit, on this or another machine) checks it.

The file is read lazily: constructing the task (the workflow does so when it plans, also offline with
``snakemake -n``) does not need it; making the observation and the fit do. Networks are cached per file
(path, size and modification time) and device, so the operator and the observation do not reload it.

The skip network pads its input to a multiple of 2^6 = 64 px and crops its output back, so the
pre-image has the image's size (227 px for building.jpg; the notebook made a 256 px output and cropped it).
"""

from __future__ import annotations

import copy
import os
import re
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError, ImageError
from ..imaging.geometry import Box
from ..imaging.io import as_hwc
from .base import Observation, Task, _slug_value, array_to_tensor
from .registry import register_task

#: the AlexNet layers a pre-image can match: the keys of :data:`dipbench.tasks.alexnet.LAYERS` (kept here
#: so that validating a task does not import torch; tests/test_inversion.py checks they agree)
LAYERS = ("conv1", "relu1", "pool1", "conv2", "relu2", "pool2", "conv3", "relu3", "conv4", "relu4",
          "conv5", "relu5", "pool5", "fc6", "relu6", "fc7", "relu7", "fc8")
#: the smallest image side AlexNet takes (pool5 must not be empty): :data:`dipbench.tasks.alexnet.MIN_SIDE`
MIN_SIDE = 63
WEIGHTS_FILE = "alexnet-owt-7be5be79.pth"
UNSET = (f"task inversion: `weights` is not set: download torchvision's AlexNet weights ({WEIGHTS_FILE}) and "
         "set `weights: /path/to/file` in the experiment's task (or `--weights FILE`), or `weights: random` "
         "for a machinery check with a random network")

#: (weights key) -> (AlexNet on the CPU, sha256 or None); (weights key, device) -> AlexNet on that device
_NETWORKS: "OrderedDict[tuple, tuple[Any, str | None]]" = OrderedDict()
_ON_DEVICE: dict[tuple, Any] = {}
_CACHE_SIZE = 2


@register_task
class NaturalPreImage(Task):
    """Natural pre-image of an AlexNet layer (feature inversion with the deep image prior); see the module
    docstring for the experiment, shapes and parameters."""

    name = "inversion"
    title = "Natural pre-image"
    gallery = True
    defaults = {"layer": "fc6", "weights": None, "weights_sha256": None}
    kinds = frozenset({"inversion"})
    key_params = ("layer",)
    cli_options = {"layer": f"AlexNet layer to invert ({', '.join(LAYERS)})",
                   "weights": f"torchvision AlexNet weights file ({WEIGHTS_FILE}), or 'random'"}

    def validate(self) -> None:
        layer, weights, sha = self.params["layer"], self.params["weights"], self.params["weights_sha256"]
        if layer not in LAYERS:
            raise ConfigError(f"task inversion: `layer` must be one of {', '.join(LAYERS)}, got {layer!r}")
        if weights is not None and (not isinstance(weights, str) or not weights.strip()):
            raise ConfigError(f"task inversion: `weights` must be a file path or 'random', got {weights!r}")
        if sha is not None:
            if not isinstance(sha, str) or not re.fullmatch(r"[0-9a-fA-F]{64}", sha):
                raise ConfigError(f"task inversion: `weights_sha256` must be 64 hex digits, got {sha!r}")
            if weights == "random":
                raise ConfigError("task inversion: `weights_sha256` is for a weights file, but `weights` is 'random'")

    @property
    def random_weights(self) -> bool:
        return self.params["weights"] == "random"

    def describe(self) -> str:
        return f"Natural pre-image, AlexNet {self.params['layer']}" + (" (random weights)" if self.random_weights else "")

    @property
    def slug(self) -> str:
        """Layer and the weights file's name, not its folder (a path would make file names and run seeds
        depend on where the file lies) nor its sha256 (recorded once the observation is made)."""
        weights = self.params["weights"]
        stem = "unset" if weights is None else "random" if self.random_weights else Path(weights).stem
        return f"{self.name}_layer{self.params['layer']}_weights{_slug_value(stem)}"

    # ------------------------------------------------------------------------------------------ observation
    def degrade(self, gt, rng, **_):
        image = self._image(gt)
        return Observation(self.name, self._recorded_params(), image, Box(0, 0, *image.shape[:2]), gt=image.copy())

    def observe(self, y, **_):
        image = self._image(y)
        return Observation(self.name, self._recorded_params(), image, Box(0, 0, *image.shape[:2]))

    def _image(self, image: np.ndarray) -> np.ndarray:
        image = as_hwc(image)
        if image.shape[2] != 3:
            raise ImageError("task inversion: AlexNet takes RGB images; this image is gray (1 channel)")
        if min(image.shape[:2]) < MIN_SIDE:
            raise ImageError(f"task inversion: the image is {image.shape[1]}x{image.shape[0]} px; AlexNet "
                             f"needs at least {MIN_SIDE} px per side")
        return np.ascontiguousarray(image, dtype=np.float32)

    def _recorded_params(self) -> dict[str, Any]:
        """The parameters with the weights file's sha256 (loading the network checks the file)."""
        _, sha = self._network()
        return {**self.params, "weights_sha256": sha}

    # ------------------------------------------------------------------------------------------ torch side
    def observed(self, obs, device="cpu", pad=0):
        """The features of ``obs.y`` at ``layer`` (no gradient), e.g. (1, 4096) for fc6; ``pad`` does not
        change them (the operator crops the padding before AlexNet)."""
        import torch

        from .alexnet import layer_features

        net = self._network(device)[0]
        with torch.no_grad():
            return layer_features(net, array_to_tensor(obs.y, device), self.params["layer"]).float()

    def operator(self, obs, device="cpu", pad=0):
        """x (1, 3, H + 2 pad, W + 2 pad) in [0, 1] -> its features at ``layer`` (the padding cropped first)."""
        from .alexnet import layer_features

        net = self._network(device)[0]
        layer = self.params["layer"]
        height, width = obs.target.height, obs.target.width

        def features(x):
            if pad:
                x = x[..., pad : x.shape[-2] - pad, pad : x.shape[-1] - pad]
            if tuple(x.shape[-2:]) != (height, width):
                raise ImageError(f"task inversion: the network output is {x.shape[-1]}x{x.shape[-2]} px but "
                                 f"the image {width}x{height} px")
            return layer_features(net, x, layer)

        return features

    def _network(self, device: Any = None) -> tuple[Any, str | None]:
        """(AlexNet, sha256 of its file or None for random weights), loaded once per file and device;
        checks ``weights_sha256``. ``device`` None: the CPU copy."""
        from . import alexnet

        weights = self.params["weights"]
        if weights is None:
            raise ConfigError(UNSET)
        if self.random_weights:
            key: tuple = ("random", alexnet.RANDOM_SEED)
        else:
            path = os.path.expanduser(weights)
            try:
                stat = os.stat(path)
            except FileNotFoundError:
                raise ConfigError(f"task inversion: `weights`: no such file {weights}") from None
            except OSError as exc:
                raise ConfigError(f"task inversion: `weights`: cannot read {weights} ({exc.strerror})") from None
            key = (os.path.realpath(path), stat.st_size, stat.st_mtime_ns)
        if key not in _NETWORKS:
            loaded = (alexnet.random_alexnet(), None) if self.random_weights else \
                alexnet.load_alexnet(path, what="task inversion: `weights`")
            while len(_NETWORKS) >= _CACHE_SIZE:
                old, _ = _NETWORKS.popitem(last=False)
                for cached in [k for k in _ON_DEVICE if k[0] == old]:
                    del _ON_DEVICE[cached]
            _NETWORKS[key] = loaded
        net, sha = _NETWORKS[key]
        expected = self.params["weights_sha256"]
        if expected is not None and sha != expected.lower():
            raise ConfigError(f"task inversion: `weights` file {weights} has sha256 {sha}, not the "
                              f"`weights_sha256` {expected.lower()}: a different file")
        if device is not None and str(device) != "cpu":
            import torch

            place = (key, str(torch.device(device)))
            if place not in _ON_DEVICE:
                _ON_DEVICE[place] = copy.deepcopy(net).to(torch.device(device))
            net = _ON_DEVICE[place]
        return net, sha
