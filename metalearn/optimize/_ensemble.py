"""Ensemble selection (Caruana et al., 2004) over the best pipelines found by a search.

Out-of-fold predictions of the top configurations are combined greedily,
with replacement: at each step the member whose addition most improves the
metric of the averaged prediction joins. The resulting weights are applied
to the members refitted on all data.
"""

from __future__ import annotations

import logging
import warnings

import numpy as np
from sklearn.base import BaseEstimator, clone

from metalearn.evaluation._metrics import aligned_proba
from metalearn.exceptions import InvalidParameterError
from metalearn.space import fit_weighted

logger = logging.getLogger(__name__)


class _Fixed(BaseEstimator):
    """Quacks like a fitted estimator whose predictions are already known (to reuse metric code and scorers)."""

    def __init__(self, values: np.ndarray, classes: np.ndarray | None) -> None:
        self.values, self.classes, self.classes_ = values, classes, classes

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()  # scikit-learn scorers ask a classifier for probabilities
        tags.estimator_type = "regressor" if self.classes_ is None else "classifier"
        return tags

    def predict(self, X) -> np.ndarray:
        return self.values if self.classes_ is None else self.classes_[np.argmax(self.values, axis=1)]

    def predict_proba(self, X) -> np.ndarray:
        return self.values


def score_predictions(metric, values: np.ndarray, y: np.ndarray, classes: np.ndarray | None,
                      sample_weight: np.ndarray | None = None) -> float:
    """Score averaged predictions (probabilities for classification) with a :class:`Metric`."""
    return float(metric.score(_Fixed(values, classes), None, y, classes, sample_weight=sample_weight))


def ensemble_selection(predictions: list[np.ndarray], y: np.ndarray, metric, *, classes: np.ndarray | None = None,
                       size: int = 25, sample_weight: np.ndarray | None = None) -> np.ndarray:
    """Weights of a greedy ensemble (with replacement) of ``predictions``.

    Parameters
    ----------
    predictions : list of ndarray
        Out-of-fold predictions per candidate (class probabilities aligned
        with ``classes`` for classification).
    y : ndarray
    metric : Metric
        From :func:`metalearn.evaluation.get_metric` (higher is better).
    size : int
        Greedy steps.
    sample_weight : ndarray, optional
        Row weights of the metric.

    Returns
    -------
    ndarray
        Non-negative weights summing to 1.

    Examples
    --------
    >>> import numpy as np
    >>> from metalearn.evaluation import get_metric
    >>> from metalearn.optimize import ensemble_selection
    >>> y = np.array([0.0, 1.0, 2.0, 3.0])
    >>> preds = [y + 1.0, y - 1.0, y * 0]
    >>> ensemble_selection(preds, y, get_metric("r2", "regression"), size=10).round(2).tolist()
    [0.5, 0.5, 0.0]
    """
    if not predictions:
        raise InvalidParameterError("ensemble selection needs at least one candidate")
    counts = np.zeros(len(predictions))
    total = np.zeros_like(predictions[0], dtype=float)
    for step in range(1, size + 1):
        scores = [score_predictions(metric, (total + p) / step, y, classes, sample_weight) for p in predictions]
        scores = np.where(np.isfinite(scores), scores, -np.inf)
        best = int(np.argmax(scores))
        counts[best] += 1
        total += predictions[best]
    return counts / counts.sum()


class EnsembleSelection:
    """A weighted average of fitted pipelines (the result of :func:`ensemble_selection`).

    Parameters
    ----------
    estimators : list of fitted estimators
    weights : array-like
    classes : ndarray or None
        Class labels for classification (columns of ``predict_proba``).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.dummy import DummyRegressor
    >>> from metalearn.optimize import EnsembleSelection
    >>> X, y = np.zeros((4, 1)), np.array([0.0, 1.0, 2.0, 3.0])
    >>> members = [DummyRegressor(strategy="constant", constant=c).fit(X, y) for c in (0.0, 2.0)]
    >>> EnsembleSelection(members, [0.5, 0.5]).predict(X).tolist()
    [1.0, 1.0, 1.0, 1.0]
    """

    def __init__(self, estimators: list, weights, classes: np.ndarray | None = None) -> None:
        self.estimators = list(estimators)
        self.weights = [float(w) for w in weights]
        self.classes = classes
        self.classes_ = classes

    def __repr__(self) -> str:
        return f"EnsembleSelection({len(self.estimators)} members, weights={[round(w, 3) for w in self.weights]})"

    def _members(self):
        return [(e, w) for e, w in zip(self.estimators, self.weights) if w > 0]

    def predict_proba(self, X) -> np.ndarray:
        """Weighted mean of the members' class probabilities."""
        return sum(w * aligned_proba(e, X, self.classes) for e, w in self._members())

    def predict(self, X) -> np.ndarray:
        """Class with the highest averaged probability, or the weighted mean prediction (regression)."""
        if self.classes is not None:
            return self.classes[np.argmax(self.predict_proba(X), axis=1)]
        return sum(w * np.asarray(e.predict(X), dtype=float) for e, w in self._members())


def out_of_fold(pipeline, dataset, folds: list, classes: np.ndarray | None) -> np.ndarray:
    """Out-of-fold predictions of an unfitted ``pipeline`` (probabilities for classification)."""
    n = dataset.n_rows
    out = np.zeros((n, len(classes))) if classes is not None else np.zeros(n)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for train, test in folds:
            weights = None if dataset.sample_weight is None else dataset.sample_weight[train]
            model = fit_weighted(clone(pipeline), dataset.X.iloc[train], dataset.y[train], weights)
            X_test = dataset.X.iloc[test]
            out[test] = aligned_proba(model, X_test, classes) if classes is not None else model.predict(X_test)
    return out
