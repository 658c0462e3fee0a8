"""Ensemble selection (Caruana et al., 2004) over the best pipelines found by a search.

The out-of-fold predictions the search's trials already produced (kept by
``optimize(keep_predictions=k)``) are combined greedily, with replacement:
at each step the member whose addition most improves the metric of the
averaged prediction joins. Nothing is cross-validated again; the resulting
weights are applied to the members refitted on all data.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from metalearn.evaluation._metrics import aligned_proba
from metalearn.exceptions import InvalidParameterError
from metalearn.optimize._fallback import fallback_candidate, one_fit_seconds

logger = logging.getLogger(__name__)

#: Best pipelines the Caruana ensemble is built from.
ENSEMBLE_CANDIDATES = 5


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


def select_from_predictions(predictions: dict[int, np.ndarray], order: list[int], y: np.ndarray, metric, *,
                            classes: np.ndarray | None = None, size: int = 25,
                            sample_weight: np.ndarray | None = None) -> dict[int, float]:
    """Members and weights of a greedy ensemble of stored out-of-fold predictions.

    Parameters
    ----------
    predictions : dict
        Trial number -> out-of-fold predictions, all on the rows of ``y``
        (``OptimizationResult.predictions``).
    order : list of int
        The candidate trial numbers, best first.
    y : ndarray
    metric : Metric
    classes : ndarray or None
    size : int
        Greedy steps of :func:`ensemble_selection`.
    sample_weight : ndarray, optional
        Row weights of the metric (the fit's ``sample_weight``).

    Returns
    -------
    dict
        Trial number -> weight (> 0) of each member; empty when fewer than
        two members join or the blend scores no better than ``order[0]`` alone.

    Examples
    --------
    >>> import numpy as np
    >>> from metalearn.evaluation import get_metric
    >>> from metalearn.optimize._ensemble import select_from_predictions
    >>> y = np.array([0.0, 1.0, 2.0, 3.0])
    >>> select_from_predictions({4: y + 1, 7: y - 1, 9: y * 0}, [4, 7, 9], y, get_metric("r2", "regression"))
    {4: 0.52, 7: 0.48}
    """
    preds = [np.asarray(predictions[n], dtype=float) for n in order]
    weights = ensemble_selection(preds, y, metric, classes=classes, size=size, sample_weight=sample_weight)
    blended = sum(w * p for w, p in zip(weights, preds))
    alone = score_predictions(metric, preds[0], y, classes, sample_weight)
    if np.count_nonzero(weights) < 2 or not score_predictions(metric, blended, y, classes, sample_weight) > alone:
        return {}
    return {n: float(w) for n, w in zip(order, weights) if w > 0}


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


def refit_reserve(history: pd.DataFrame, *, total: float, cv: int, ensemble: bool, scale: float = 1.0) -> float:
    """Seconds the search leaves for the final refit (and ensemble), estimated from its trials so far.

    A refit on all rows costs about one CV fold's share of the best trial
    (``duration / (cv - 1)``); the Caruana ensemble is selected from the
    trials' stored out-of-fold predictions and only refits its members
    (the same share of their durations); it is planned for only when that
    fits in a quarter of the budget (the estimators skip it when it does
    not fit in what is left). Refits use all rows: ``scale`` is their number
    over the rows the trials were evaluated on. Before any full evaluation,
    the fit of the best screened candidate on its subsample is reserved (the
    fallback's choice). A margin of 5 % of the budget plus one second covers
    the rest.
    """
    ok = history.loc[history["status"] == "ok"].sort_values("score", ascending=False)
    folds = max(cv - 1, 1)
    if ok.empty:  # the fallback fits the best screened candidate on its subsample (when there is one)
        best = fallback_candidate(history.loc[history["status"] == "screened"])
        fit = 0.0 if best is None else one_fit_seconds(float(best["duration"]), cv)
        return fit + 0.05 * total + 1.0
    refit = float(ok["duration"].iloc[0]) / folds * scale
    top = ok["duration"].head(ENSEMBLE_CANDIDATES)
    blend = float(top.iloc[1:].sum()) / folds * scale if ensemble and len(top) >= 2 else 0.0
    return refit + (blend if blend <= 0.25 * total else 0.0) + 0.05 * total + 1.0
