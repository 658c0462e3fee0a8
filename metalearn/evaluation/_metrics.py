"""Metrics, all reported so that higher is better (losses are negated).

Besides metalearn's own metrics (:data:`METRICS`), a metric can be any
scikit-learn scorer name (``sklearn.metrics.get_scorer_names()``) or a
scorer callable ``scorer(estimator, X, y)`` such as ``make_scorer(...)``
returns (higher is better, as for scikit-learn scorers).
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field

import cloudpickle
import numpy as np
from sklearn import metrics as skm

from metalearn.exceptions import UnknownMetricError
from metalearn.utils import softmax_decision


class PortableScorer:
    """A scorer callable that pickles by value (lambdas and closures reach the evaluation processes too)."""

    def __init__(self, scorer: Callable) -> None:
        self.scorer = scorer
        self.takes_weight = _takes_sample_weight(scorer)

    def __call__(self, estimator, X, y, sample_weight=None) -> float:
        if sample_weight is not None and self.takes_weight:
            return float(self.scorer(estimator, X, y, sample_weight=sample_weight))
        return float(self.scorer(estimator, X, y))

    def __getstate__(self) -> dict:
        return {"blob": cloudpickle.dumps(self.scorer)}

    def __setstate__(self, state: dict) -> None:
        self.__init__(cloudpickle.loads(state["blob"]))


def _takes_sample_weight(scorer: Callable) -> bool:
    """Whether ``scorer`` can be called with ``sample_weight=`` (scikit-learn scorers always can)."""
    try:
        params = inspect.signature(scorer).parameters.values()
    except (TypeError, ValueError):  # builtins without a signature: call them without weights
        return False
    return any(p.name == "sample_weight" or p.kind is inspect.Parameter.VAR_KEYWORD for p in params)


@dataclass(frozen=True)
class Metric:
    """A scoring rule: name, task, what prediction it needs, and its sign.

    ``score`` always returns a value where higher is better; ``negated``
    says the natural quantity (log loss, RMSE) is minus the score.
    ``scorer`` is set for scikit-learn scorers and user callables, which
    then compute the score.
    """

    name: str
    task: str
    needs: str  # "predict", "proba" or "scores"
    negated: bool = False
    scorer: PortableScorer | None = field(default=None, compare=False, repr=False)

    @property
    def builtin(self) -> bool:
        """Whether this is one of metalearn's own metrics (those the knowledge base stores runs for)."""
        return self.scorer is None

    def score(self, estimator, X, y: np.ndarray, classes: np.ndarray | None = None,
              sample_weight: np.ndarray | None = None) -> float:
        """Score a fitted ``estimator`` on ``(X, y)``; ``classes`` lists every label of the dataset.

        ``sample_weight`` weights the rows (a user scorer gets it only when
        its signature accepts it).
        """
        if self.scorer is not None:
            return self.scorer(estimator, X, y, sample_weight=sample_weight)
        if self.needs == "predict":
            pred = estimator.predict(X)
            return float(_PREDICT_FUNCS[self.name](y, pred, sample_weight=sample_weight))
        proba = aligned_proba(estimator, X, classes)
        if self.name == "log_loss":
            proba = np.clip(proba, 1e-15, 1.0)
            proba = proba / proba.sum(axis=1, keepdims=True)
            return -float(skm.log_loss(y, proba, labels=classes, sample_weight=sample_weight))
        present = np.isin(classes, np.unique(y))
        if present.sum() < 2:
            return float("nan")
        sub = proba[:, present] / np.clip(proba[:, present].sum(axis=1, keepdims=True), 1e-15, None)
        if present.sum() == 2:
            return float(skm.roc_auc_score(y == classes[present][1], sub[:, 1], sample_weight=sample_weight))
        return float(skm.roc_auc_score(y, sub, multi_class="ovr", labels=classes[present],
                                       sample_weight=sample_weight))


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


def _rmse(y, pred, sample_weight=None) -> float:
    return -float(np.sqrt(np.average((np.asarray(y, dtype=float) - pred) ** 2, weights=sample_weight)))


def _mae(y, pred, sample_weight=None) -> float:
    return -float(np.average(np.abs(np.asarray(y, dtype=float) - pred), weights=sample_weight))


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


def get_metric(name, task: str) -> Metric:
    """The :class:`Metric` for ``name``, checked against ``task``.

    Parameters
    ----------
    name : None, str, callable or Metric
        None: the task's default; one of :data:`METRICS`; a scikit-learn
        scorer name (``"f1_macro"``, ``"neg_mean_absolute_error"``, ...); or
        a scorer callable ``scorer(estimator, X, y)`` (higher is better).
    task : {"classification", "regression"}

    Raises
    ------
    UnknownMetricError
        ``name`` is none of these.

    Examples
    --------
    >>> from metalearn.evaluation import get_metric
    >>> get_metric("neg_mean_absolute_error", "regression").name
    'neg_mean_absolute_error'
    >>> get_metric("f1_macro", "classification").needs
    'predict'
    """
    if isinstance(name, Metric):
        _check_task(name, task)
        return name
    if callable(name) and not isinstance(name, str):
        return _scorer_metric(_callable_name(name), name, task)
    name = name or DEFAULT_METRIC[task]
    if not isinstance(name, str):
        raise UnknownMetricError(f"metric must be a name or a scorer callable(estimator, X, y), not {name!r}")
    if name in METRICS:
        _check_task(METRICS[name], task)
        return METRICS[name]
    if name in skm.get_scorer_names():
        scorer = skm.get_scorer(name)
        kind = _scorer_task(scorer)
        if kind not in (None, task):
            ours = sorted(m for m, v in METRICS.items() if v.task == task)
            raise UnknownMetricError(f"metric {name!r} is a {kind} scorer, not for {task}; use one of {ours} or "
                                     f"another scikit-learn scorer name")
        return _scorer_metric(name, scorer, task)
    ours = sorted(m for m, v in METRICS.items() if v.task == task)
    close = difflib.get_close_matches(name, list(dict.fromkeys(ours + list(skm.get_scorer_names()))), n=3)
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    raise UnknownMetricError(f"unknown metric {name!r}{hint}; use one of {ours}, a scikit-learn scorer name "
                             "(sklearn.metrics.get_scorer_names()) or a callable(estimator, X, y)")


def _check_task(metric: Metric, task: str) -> None:
    if metric.task != task:
        options = sorted(m for m, v in METRICS.items() if v.task == task)
        raise UnknownMetricError(f"metric {metric.name!r} is for {metric.task}, not {task}; use one of {options}")


def _scorer_metric(name: str, scorer: Callable, task: str) -> Metric:
    """A :class:`Metric` computed by ``scorer``; classifiers get probabilities unless it only predicts."""
    response = getattr(scorer, "_response_method", None)
    needs = "predict" if task == "regression" or response == "predict" else "proba"
    return Metric(name, task, needs, scorer=PortableScorer(scorer))


def _scorer_task(scorer) -> str | None:
    """The task a scikit-learn scorer's metric belongs to, from where it is defined (None: either or unknown)."""
    module = getattr(getattr(scorer, "_score_func", None), "__module__", "") or ""
    if module.endswith("._regression"):
        return "regression"
    if module.endswith(("._classification", "._ranking")):
        return "classification"
    return None


def _callable_name(scorer: Callable) -> str:
    """A readable name for a scorer callable: its score function's or its own."""
    func = getattr(scorer, "_score_func", scorer)
    return str(getattr(func, "__name__", type(scorer).__name__))
