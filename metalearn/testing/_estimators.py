"""Misbehaving estimators for testing failure isolation (module-level so they pickle)."""

from __future__ import annotations

import os
import time

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin


class SleepingClassifier(ClassifierMixin, BaseEstimator):
    """Sleeps ``seconds`` in ``fit`` (a hanging pipeline)."""

    def __init__(self, seconds: float = 60.0) -> None:
        self.seconds = seconds

    def fit(self, X, y):
        """Sleep, then remember the classes."""
        time.sleep(self.seconds)
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        """Predict the first class."""
        return np.full(len(X), self.classes_[0])


class CrashingClassifier(SleepingClassifier):
    """Kills its own process in ``fit`` (like a segfault in native code)."""

    def fit(self, X, y):
        """Abort the process."""
        os.abort()


class RaisingClassifier(SleepingClassifier):
    """Raises an ordinary exception in ``fit``."""

    def fit(self, X, y):
        """Raise RuntimeError."""
        raise RuntimeError("this estimator always fails")


class MemoryHogClassifier(SleepingClassifier):
    """Allocates ``seconds`` gigabytes in ``fit`` (reusing the parameter name)."""

    def fit(self, X, y):
        """Allocate a huge array."""
        self.blob_ = np.ones(int(self.seconds * 1024**3 / 8))
        self.classes_ = np.unique(y)
        return self
