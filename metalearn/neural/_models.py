"""Backbones: Conv-4 for images, a small MLP for 1-d regression, rebuilt from a plain architecture dict.

Every model has a ``features`` part and a linear ``head``; meta-learners and
adaptation address their parameters by name (``"head.weight"``, ...).

BatchNorm in Conv-4 is created with ``track_running_stats=False``: it always
normalises with the statistics of the batch it sees, in training and at test
time (the "transductive" batch statistics of the MAML reference code). So
models carry no buffers, ``torch.func.functional_call`` needs only the
parameter dict, and predictions on a set of queries depend on that set as a
whole (predict a query set in one call).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from metalearn.exceptions import InvalidParameterError

__all__ = ["Backbone", "build_model", "conv4_architecture", "count_parameters", "mlp_architecture"]

HEAD_PREFIX = "head."


def conv4_architecture(input_shape: tuple[int, ...], out_features: int, channels: int = 64) -> dict[str, Any]:
    """Architecture dict of a Conv-4 (4 x [conv3x3, batch-norm, ReLU, max-pool]) with a linear head.

    Examples
    --------
    >>> conv4_architecture((1, 28, 28), 5, channels=32)["name"]
    'conv4'
    """
    return {"name": "conv4", "input_shape": list(input_shape), "channels": int(channels), "out_features": out_features}


def mlp_architecture(in_features: int = 1, out_features: int = 1, hidden: tuple[int, ...] = (40, 40)) -> dict[str, Any]:
    """Architecture dict of an MLP with ReLU hidden layers (default: the 2x40 net of the MAML paper).

    Examples
    --------
    >>> mlp_architecture()["hidden"]
    [40, 40]
    """
    return {"name": "mlp", "input_shape": [in_features], "hidden": list(hidden), "out_features": out_features}


class Backbone(nn.Module):
    """``features`` followed by a linear ``head``; ``embed(x)`` returns the features."""

    def __init__(self, features: nn.Module, feature_dim: int, out_features: int) -> None:
        super().__init__()
        self.features = features
        self.feature_dim = feature_dim
        self.head = nn.Linear(feature_dim, out_features)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Feature vector of each input, shape ``(n, feature_dim)``."""
        return self.features(x).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Head output (logits or regression values)."""
        return self.head(self.embed(x))


def _conv4_features(input_shape: list[int], channels: int) -> tuple[nn.Module, int]:
    in_channels, size = int(input_shape[0]), int(input_shape[-1])
    layers: list[nn.Module] = []
    for i in range(4):
        layers += [
            nn.Conv2d(in_channels if i == 0 else channels, channels, 3, padding=1),
            nn.BatchNorm2d(channels, track_running_stats=False),
            nn.ReLU(),
        ]
        if size >= 2:
            layers.append(nn.MaxPool2d(2))
            size //= 2
    return nn.Sequential(*layers), channels * size * size


def _mlp_features(input_shape: list[int], hidden: list[int]) -> tuple[nn.Module, int]:
    layers: list[nn.Module] = []
    width = int(input_shape[0])
    for h in hidden:
        layers += [nn.Linear(width, h), nn.ReLU()]
        width = h
    return nn.Sequential(*layers), width


def build_model(architecture: dict[str, Any], seed: int | None = 0) -> Backbone:
    """Build a freshly initialised model from its architecture dict (``seed`` fixes the initial weights).

    Examples
    --------
    >>> model = build_model(mlp_architecture())
    >>> count_parameters(model)
    1761
    """
    name = architecture.get("name")
    if seed is not None:
        torch.manual_seed(seed)
    if name == "conv4":
        features, dim = _conv4_features(architecture["input_shape"], architecture["channels"])
    elif name == "mlp":
        features, dim = _mlp_features(architecture["input_shape"], architecture["hidden"])
    else:
        raise InvalidParameterError(f"unknown architecture {name!r}; expected 'conv4' or 'mlp'")
    return Backbone(features, dim, int(architecture["out_features"]))


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
