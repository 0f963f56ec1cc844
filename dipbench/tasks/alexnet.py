"""AlexNet as a fixed feature extractor for the natural pre-image task (:mod:`.inversion`).

The architecture is torchvision's ``torchvision.models.alexnet`` (the one-tower variant of Krizhevsky,
"One weird trick", 2014: 61,100,840 parameters), written out here with exactly torchvision's module layout
and ``state_dict`` keys: ``features.{0,3,6,8,10}`` convolutions, ``avgpool`` = AdaptiveAvgPool2d(6),
``classifier.{1,4,6}`` linear layers. A torchvision-format weights file (``alexnet-owt-7be5be79.pth``,
a plain ``state_dict``) therefore loads with ``load_state_dict(strict=True)``. It is written out, not
imported, so that dipbench does not depend on torchvision (a large package pinned to one torch version)
for twenty lines of architecture; the weights file itself cannot be downloaded by dipbench.

Layer names (:data:`LAYERS`) and the point each one takes, for an input (N, 3, H, W):
  conv1..conv5      the convolution's output, before its ReLU
  relu1..relu5      after the ReLU
  pool1, pool2, pool5  after the 3x3 / stride-2 max pooling
  fc6, fc7, fc8     the linear layer's output, before its ReLU (``classifier.1`` / ``.4`` / ``.6``):
                    fc6 is what the DIP authors' notebook matches (it truncates the network after the
                    ``fc6`` module, so its ReLU never runs); (N, 4096), (N, 4096), (N, 1000)
  relu6, relu7      after the ReLU of fc6 / fc7
The fully connected layers see ``avgpool``'s 6 x 6 output, so they work at any input size >= 63 px
(:data:`MIN_SIDE`), as in torchvision; at 227 x 227 px pool5 is already 6 x 6.

Input normalisation (:func:`layer_features`): RGB in [0, 1], minus the ImageNet mean (0.485, 0.456, 0.406),
divided by the ImageNet std (0.229, 0.224, 0.225), per channel, as torchvision's weights expect. (The DIP
authors used a Caffe AlexNet with BGR * 255 minus the mean pixel; the torchvision weights were trained on
the normalisation above.)

``weights: "random"`` (:func:`random_alexnet`) is a randomly initialised AlexNet, seeded deterministically:
a check that the machinery runs (tests, the offline demo), not the paper's experiment.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

import torch
from torch import nn

from ..errors import ConfigError

#: parameters of torchvision's AlexNet (1000 classes)
PARAMETER_COUNT = 61_100_840
#: the torchvision weights file the paper-like experiment uses (a plain state_dict)
TORCHVISION_FILE = "alexnet-owt-7be5be79.pth"
#: the smallest input side (px) for which pool5 is not empty
MIN_SIDE = 63
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
#: the seed of ``weights: "random"``
RANDOM_SEED = 0

#: layer name -> (part, index of the module whose output it is)
LAYERS: dict[str, tuple[str, int]] = {
    "conv1": ("features", 0), "relu1": ("features", 1), "pool1": ("features", 2),
    "conv2": ("features", 3), "relu2": ("features", 4), "pool2": ("features", 5),
    "conv3": ("features", 6), "relu3": ("features", 7),
    "conv4": ("features", 8), "relu4": ("features", 9),
    "conv5": ("features", 10), "relu5": ("features", 11), "pool5": ("features", 12),
    "fc6": ("classifier", 1), "relu6": ("classifier", 2),
    "fc7": ("classifier", 4), "relu7": ("classifier", 5),
    "fc8": ("classifier", 6),
}


class AlexNet(nn.Module):
    """torchvision's AlexNet, module for module (same ``state_dict`` keys and shapes)."""

    def __init__(self, num_classes: int = 1000, dropout: float = 0.5, device: Any = None):
        super().__init__()
        kw = {"device": device}
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2, **kw), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(64, 192, kernel_size=5, padding=2, **kw), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(192, 384, kernel_size=3, padding=1, **kw), nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, kernel_size=3, padding=1, **kw), nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, kernel_size=3, padding=1, **kw), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
        )
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout), nn.Linear(256 * 6 * 6, 4096, **kw), nn.ReLU(inplace=True),
            nn.Dropout(p=dropout), nn.Linear(4096, 4096, **kw), nn.ReLU(inplace=True),
            nn.Linear(4096, num_classes, **kw),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.avgpool(self.features(x))
        return self.classifier(torch.flatten(x, 1))


def layer_features(net: AlexNet, images: torch.Tensor, layer: str) -> torch.Tensor:
    """The output of ``layer`` (:data:`LAYERS`) for ``images`` (N, 3, H, W), RGB in [0, 1], normalised
    with the ImageNet mean / std first. Dropout is skipped (the network is a fixed feature extractor)."""
    if layer not in LAYERS:
        raise ConfigError(f"unknown AlexNet layer {layer!r}; known: {', '.join(LAYERS)}")
    part, index = LAYERS[layer]
    mean = torch.tensor(IMAGENET_MEAN, dtype=images.dtype, device=images.device).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, dtype=images.dtype, device=images.device).view(1, 3, 1, 1)
    x = (images - mean) / std
    for i, module in enumerate(net.features):
        x = module(x)
        if part == "features" and i == index:
            return x
    x = torch.flatten(net.avgpool(x), 1)
    for i, module in enumerate(net.classifier):
        if not isinstance(module, nn.Dropout):
            x = module(x)
        if i == index:
            return x
    raise AssertionError(f"layer {layer!r} not reached")  # unreachable: LAYERS indexes existing modules


def _frozen(net: AlexNet) -> AlexNet:
    net.requires_grad_(False)
    return net.eval()


def random_alexnet(seed: int = RANDOM_SEED) -> AlexNet:
    """A randomly initialised AlexNet (PyTorch's default initialisation of torchvision's AlexNet: weights
    and biases U(-1/sqrt(fan_in), 1/sqrt(fan_in))) drawn from its own generator seeded with ``seed``, so
    the result does not depend on, nor change, the global RNG. Frozen, in eval mode."""
    net = AlexNet(device="meta").to_empty(device="cpu")
    generator = torch.Generator().manual_seed(int(seed))
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                bound = module.weight[0].numel() ** -0.5
                module.weight.uniform_(-bound, bound, generator=generator)
                module.bias.uniform_(-bound, bound, generator=generator)
    return _frozen(net)


def file_sha256(path: str | os.PathLike) -> str:
    """The sha256 of a file, hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__


def load_alexnet(path: str | os.PathLike, what: str = "AlexNet weights") -> tuple[AlexNet, str]:
    """The AlexNet of a torchvision-format weights file (a plain ``state_dict``) and the file's sha256,
    frozen and in eval mode on the CPU. A missing or unreadable file, or one that is not an AlexNet
    state_dict, is a one-line :class:`ConfigError` starting with ``what`` (the setting that names it)."""
    path = os.fspath(path)
    try:
        sha = file_sha256(path)
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise ConfigError(f"{what}: no such file {path}") from None
    except Exception as exc:  # OSError, unpickling errors, a truncated zip: all "not a weights file"
        raise ConfigError(f"{what}: {path} is not a readable PyTorch weights file ({_one_line(exc)})") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ConfigError(f"{what}: {path} is not a state_dict (a dict of tensors) but a {type(state).__name__}")
    net = AlexNet(device="meta").to_empty(device="cpu")
    expected = net.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    wrong = [f"{k} {tuple(state[k].shape)} (expected {tuple(v.shape)})"
             for k, v in expected.items() if k in state and state[k].shape != v.shape]
    if missing or unexpected or wrong:
        problems = [f"{label} {', '.join(keys[:3])}" + (f" and {len(keys) - 3} more" if len(keys) > 3 else "")
                    for label, keys in (("missing", missing), ("unexpected", unexpected), ("wrong shape", wrong))
                    if keys]
        raise ConfigError(f"{what}: {path} is not a torchvision AlexNet state_dict ({'; '.join(problems)})")
    net.load_state_dict(state, strict=True)
    return _frozen(net), sha
