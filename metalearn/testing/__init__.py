"""Reusable test helpers: misbehaving estimators, optimizer and meta-feature suites."""

from metalearn.testing._estimators import (
    CrashingClassifier,
    MemoryHogClassifier,
    RaisingClassifier,
    SleepingClassifier,
)

__all__ = ["CrashingClassifier", "MemoryHogClassifier", "RaisingClassifier", "SleepingClassifier"]
