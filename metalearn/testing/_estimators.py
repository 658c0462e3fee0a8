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


class ForkingClassifier(SleepingClassifier):
    """Starts a long-lived ``sleep`` child in ``fit``, writes its pid to ``pid_file``, then sleeps ``seconds``.

    Stands for estimators whose own workers would outlive a killed evaluation.
    """

    def __init__(self, seconds: float = 60.0, pid_file: str = "") -> None:
        super().__init__(seconds=seconds)
        self.pid_file = pid_file

    def fit(self, X, y):
        """Fork a grandchild that sleeps ten minutes, record its pid, then hang."""
        import subprocess

        child = subprocess.Popen(["sleep", "600"])
        with open(self.pid_file, "w") as fh:
            fh.write(str(child.pid))
        return super().fit(X, y)
