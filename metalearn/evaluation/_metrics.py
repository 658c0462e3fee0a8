"""Metrics, all reported so that higher is better (losses are negated)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn import metrics as skm

from metalearn.exceptions import InvalidParameterError
from metalearn.utils import softmax_decision


@dataclass(frozen=True)
class Metric:
    """A scoring rule: name, task, what prediction it needs, and its sign.

    ``score`` always returns a value where higher is better; ``negated``
    says the natural quantity (log loss, RMSE) is minus the score.
    """

    name: str
    task: str
    needs: str  # "predict", "proba" or "scores"
    negated: bool = False

    def score(self, estimator, X, y: np.ndarray, classes: np.ndarray | None = None) -> float:
        """Score a fitted ``estimator`` on ``(X, y)``; ``classes`` lists every label of the dataset."""
        if self.needs == "predict":
            pred = estimator.predict(X)
            return float(_PREDICT_FUNCS[self.name](y, pred))
        proba = aligned_proba(estimator, X, classes)
        if self.name == "log_loss":
            proba = np.clip(proba, 1e-15, 1.0)
            proba = proba / proba.sum(axis=1, keepdims=True)
            return -float(skm.log_loss(y, proba, labels=classes))
        present = np.isin(classes, np.unique(y))
        if present.sum() < 2:
            return float("nan")
        sub = proba[:, present] / np.clip(proba[:, present].sum(axis=1, keepdims=True), 1e-15, None)
        if present.sum() == 2:
            return float(skm.roc_auc_score(y == classes[present][1], sub[:, 1]))
        return float(skm.roc_auc_score(y, sub, multi_class="ovr", labels=classes[present]))


def aligned_proba(estimator, X, classes: np.ndarray) -> np.ndarray:
    """Class probabilities with one column per entry of ``classes``, even if a fold lacked some classes.

    Estimators without ``predict_proba`` get a softmax of their decision values.
    """
    if hasattr(estimator, "predict_proba"):
        raw = np.asarray(estimator.predict_proba(X), dtype=float)
    else:
        raw = softmax_decision(estimator.decision_function(X))
    out = np.zeros((raw.shape[0], len(classes)))
    out[:, np.searchsorted(classes, estimator.classes_)] = raw
    return out


def _rmse(y, pred) -> float:
    return -float(np.sqrt(np.mean((np.asarray(y, dtype=float) - pred) ** 2)))


def _mae(y, pred) -> float:
    return -float(np.mean(np.abs(np.asarray(y, dtype=float) - pred)))


_PREDICT_FUNCS = {
    "balanced_accuracy": skm.balanced_accuracy_score,
    "accuracy": skm.accuracy_score,
    "r2": skm.r2_score,
    "rmse": _rmse,
    "mae": _mae,
}

METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("balanced_accuracy", "classification", "predict"),
        Metric("accuracy", "classification", "predict"),
        Metric("roc_auc", "classification", "scores"),
        Metric("log_loss", "classification", "proba", negated=True),
        Metric("r2", "regression", "predict"),
        Metric("rmse", "regression", "predict", negated=True),
        Metric("mae", "regression", "predict", negated=True),
    )
}

DEFAULT_METRIC = {"classification": "balanced_accuracy", "regression": "r2"}


def get_metric(name: str | None, task: str) -> Metric:
    """The :class:`Metric` called ``name`` (the task's default when None), checked against ``task``."""
    name = name or DEFAULT_METRIC[task]
    if name not in METRICS:
        raise InvalidParameterError(f"unknown metric {name!r}; choose from {sorted(METRICS)}")
    metric = METRICS[name]
    if metric.task != task:
        options = sorted(m for m, v in METRICS.items() if v.task == task)
        raise InvalidParameterError(f"metric {name!r} is for {metric.task}, not {task}; use one of {options}")
    return metric
