"""Cross-validated, failure-isolated evaluation of pipeline configurations."""

from metalearn.evaluation._cluster import connect
from metalearn.evaluation._evaluate import DEFAULT_MAX_ROWS, EvaluationResult, cross_validate, evaluate, make_folds
from metalearn.evaluation._isolation import IsolatedOutcome, default_memory_limit_mb, run_isolated, warm_up
from metalearn.evaluation._metrics import DEFAULT_METRIC, METRICS, Metric, aligned_proba, get_metric

__all__ = [
    "DEFAULT_MAX_ROWS",
    "DEFAULT_METRIC",
    "EvaluationResult",
    "IsolatedOutcome",
    "METRICS",
    "Metric",
    "aligned_proba",
    "connect",
    "cross_validate",
    "default_memory_limit_mb",
    "evaluate",
    "get_metric",
    "make_folds",
    "run_isolated",
    "warm_up",
]
