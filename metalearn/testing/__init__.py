"""Reusable test helpers: misbehaving estimators and the optimizer suite every optimizer passes.

The suite needs pytest; it is imported on first access so that
``import metalearn.testing`` works without it.
"""

from __future__ import annotations

import importlib
from typing import Any

from metalearn.testing._estimators import (
    CrashingClassifier,
    ForkingClassifier,
    MemoryHogClassifier,
    RaisingClassifier,
    SleepingClassifier,
)

_SUITE = ("OptimizerSuite", "run_optimizer", "synthetic_score")


def __getattr__(name: str) -> Any:
    if name in _SUITE:
        return getattr(importlib.import_module("metalearn.testing._optimizer_suite"), name)
    raise AttributeError(f"module 'metalearn.testing' has no attribute {name!r}")


__all__ = [
    "CrashingClassifier",
    "ForkingClassifier",
    "MemoryHogClassifier",
    "OptimizerSuite",
    "RaisingClassifier",
    "SleepingClassifier",
    "run_optimizer",
    "synthetic_score",
]
