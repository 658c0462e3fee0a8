"""Neural few-shot learning: task families, MAML / Reptile / transfer / prototypical backbones, recommendation.

Importing this package does not import torch. The torch-free names
(:class:`FewShotTask`, task families, the backbone registry and
:func:`recommend_backbone`) load eagerly; the others import torch on first
access (PEP 562) and raise :class:`metalearn.exceptions.OptionalDependencyError`
with an install hint when it is missing.
"""

from __future__ import annotations

import importlib
from typing import Any

from metalearn.neural._augment import AffineAugment, AugmentedFamily, random_affine
from metalearn.neural._episodes import Episode, TaskFamily, mean_ci95
from metalearn.neural._families import (
    OMNIGLOT_SPLITS,
    PoolFamily,
    SinusoidFamily,
    digits_family,
    get_family,
    omniglot_family,
)
from metalearn.neural._glyphs import render_glyph_classes
from metalearn.neural._images import OneShotRun, load_omniglot, load_runs, read_image
from metalearn.neural._recommend import BackboneRecommendation, recommend_backbone
from metalearn.neural._registry import (
    BackboneRecord,
    BackboneRegistry,
    RecipeResult,
    default_backbones_dir,
    load_backbone,
    load_registry,
    write_registry,
)
from metalearn.neural._task import FewShotTask
from metalearn.utils import import_optional

_LAZY = {
    "Backbone": "_models",
    "build_model": "_models",
    "conv4_architecture": "_models",
    "mlp_architecture": "_models",
    "MAML": "_maml",
    "FunctionalLearner": "_maml",
    "MetaTrainConfig": "_maml",
    "meta_train_maml": "_maml",
    "meta_train_reptile": "_reptile",
    "reptile_step": "_reptile",
    "ProtoNetConfig": "_protonet",
    "meta_train_protonet": "_protonet",
    "prototypical_loss": "_protonet",
    "PretrainConfig": "_transfer",
    "pretrain_classifier": "_transfer",
    "pretrain_regressor": "_transfer",
    "FewShotModel": "_adapt",
    "adapt": "_adapt",
    "score_recipe": "_adapt",
    "AdaptationTuning": "_tune",
    "tune_adaptation": "_tune",
    "save_checkpoint": "_registry",
}

__all__ = [
    "OMNIGLOT_SPLITS",
    "AffineAugment",
    "AugmentedFamily",
    "BackboneRecommendation",
    "BackboneRecord",
    "BackboneRegistry",
    "Episode",
    "FewShotTask",
    "OneShotRun",
    "PoolFamily",
    "RecipeResult",
    "SinusoidFamily",
    "TaskFamily",
    "default_backbones_dir",
    "digits_family",
    "get_family",
    "load_backbone",
    "load_omniglot",
    "load_registry",
    "load_runs",
    "mean_ci95",
    "omniglot_family",
    "random_affine",
    "read_image",
    "recommend_backbone",
    "render_glyph_classes",
    "write_registry",
    *sorted(_LAZY),
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import_optional("torch", extra="neural")
        return getattr(importlib.import_module(f"metalearn.neural.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'metalearn.neural' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
