"""Cross-validated evaluation of one configuration, contained against crashes and hangs."""

from __future__ import annotations

import logging
import math
import sys
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import GroupKFold, KFold, StratifiedKFold

from metalearn.data._dataset import Dataset
from metalearn.evaluation._isolation import run_isolated
from metalearn.evaluation._metrics import aligned_proba, get_metric
from metalearn.exceptions import GroupsError, InvalidParameterError, TooFewSamplesPerClassError
from metalearn.space import fit_weighted, get_space

logger = logging.getLogger(__name__)

#: Rows kept for evaluation by default: larger datasets are subsampled (stratified for classification).
DEFAULT_MAX_ROWS = 20_000


@dataclass(frozen=True)
class EvaluationResult:
    """The outcome of evaluating one configuration on one dataset.

    Attributes
    ----------
    config : dict
    metric : str
        Name of the metric; scores are higher-is-better (losses negated).
    fold_scores : tuple of float
        One score per fold (empty unless ``status == "ok"``).
    mean_score : float
        Mean of ``fold_scores``; NaN when the evaluation did not finish.
    fit_time : float
        Seconds spent fitting, summed over folds.
    duration : float
        Wall-clock seconds of the whole evaluation, isolation overhead included.
    status : {"ok", "failed", "timeout"}
    error : str
        Error text when not ``ok``.
    n_rows : int
        Rows used (after subsampling).
    predictions : ndarray or None
        Out-of-fold predictions as float32 (class probabilities aligned with
        the dataset's classes for classification), when asked for with
        ``keep_predictions``; they come back from the isolated worker with the scores.
    """

    config: dict
    metric: str
    fold_scores: tuple[float, ...] = field(default_factory=tuple)
    mean_score: float = float("nan")
    fit_time: float = 0.0
    duration: float = 0.0
    status: str = "ok"
    error: str = ""
    n_rows: int = 0
    predictions: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        """Whether every fold finished."""
        return self.status == "ok"


def make_folds(dataset: Dataset, cv, random_state: int | None) -> list[tuple[np.ndarray, np.ndarray]]:
    """Train/test indices: shuffled (stratified for classification) K-fold, group K-fold, or ``cv``'s own.

    ``cv`` is a number of folds or a scikit-learn splitter (anything with
    ``split``); ``dataset.groups``, when set, are passed to the splitter,
    and with a number of folds they make it a shuffled ``GroupKFold``.
    Raises :class:`TooFewSamplesPerClassError` when a class has a single
    sample; classes smaller than ``cv`` are allowed (they miss some folds).
    """
    if is_splitter(cv):
        folds = list(cv.split(dataset.X, dataset.y, dataset.groups))
        if not folds:
            raise InvalidParameterError(f"the cv splitter {cv!r} produced no folds")
        return folds
    if isinstance(cv, bool) or not isinstance(cv, (int, np.integer)) or cv < 2:
        raise InvalidParameterError(f"cv must be an integer >= 2 or a splitter with split(X, y, groups), not {cv!r}")
    if cv > dataset.n_rows:
        raise InvalidParameterError(f"cv={cv} folds need at least {cv} rows; the dataset has {dataset.n_rows}")
    if dataset.task == "classification":
        small = {k: v for k, v in dataset.class_counts.items() if v < 2}
        if small:
            raise TooFewSamplesPerClassError(
                f"class(es) {list(small)[:5]} have only 1 sample; cross-validation needs at least 2 per "
                "class: drop or merge rare classes"
            )
    if dataset.groups is not None:
        n_groups = len(np.unique(dataset.groups))
        if n_groups < cv:
            raise GroupsError(f"cv={cv} folds need at least {cv} groups; groups has {n_groups}: pass fewer folds")
        splitter = GroupKFold(n_splits=cv, shuffle=True, random_state=random_state)
    elif dataset.task == "classification":
        splitter = StratifiedKFold(n_splits=cv, shuffle=True, random_state=random_state)
    else:
        splitter = KFold(n_splits=cv, shuffle=True, random_state=random_state)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "least populated class has fewer members than n_splits"
        return list(splitter.split(np.zeros(dataset.n_rows), dataset.y, dataset.groups))


def is_splitter(cv) -> bool:
    """Whether ``cv`` is a cross-validation splitter object (not a number of folds)."""
    return hasattr(cv, "split") and hasattr(cv, "get_n_splits")


def cross_validate(config: dict, dataset: Dataset, folds: list, metric_name,
                   random_state: int | None, n_threads: int = 1, estimator=None,
                   keep_predictions: bool = False) -> tuple[list[float], float, np.ndarray | None]:
    """Fit and score ``config`` (or ``estimator``) on each fold in this process.

    ``dataset.sample_weight``, when set, weights each fold's fit (the
    pipeline's model) and its score. Returns the fold scores, the total fit
    time and, with ``keep_predictions``, the out-of-fold predictions as
    float32 (else None).
    """
    metric = get_metric(metric_name, dataset.task)
    if estimator is None:
        estimator = get_space(dataset.task).to_pipeline(
            config, dataset, random_state=random_state, need_proba=metric.needs != "predict")
    pipeline = estimator
    classes = dataset.classes if dataset.task == "classification" else None
    weights = dataset.sample_weight
    scores, fit_time = [], 0.0
    oof = None
    if keep_predictions:
        oof = np.zeros((dataset.n_rows, len(classes)) if classes is not None else dataset.n_rows, dtype=np.float32)
    with warnings.catch_warnings(), _thread_controller().limit(limits=n_threads):
        warnings.simplefilter("ignore")
        for train, test in folds:
            model = clone(pipeline)
            t0 = time.perf_counter()
            fit_weighted(model, dataset.X.iloc[train], dataset.y[train], None if weights is None else weights[train],
                         family=config.get("family"))
            fit_time += time.perf_counter() - t0
            X_test = dataset.X.iloc[test]
            scores.append(metric.score(model, X_test, dataset.y[test], classes,
                                       sample_weight=None if weights is None else weights[test]))
            if oof is not None:
                oof[test] = _fold_predictions(model, X_test, classes)
    return scores, fit_time, oof


def _fold_predictions(model, X, classes: np.ndarray | None) -> np.ndarray:
    """What ensemble selection averages: class probabilities (one-hot predictions when a model has none), values."""
    if classes is None:
        return model.predict(X)
    if hasattr(model, "predict_proba") or hasattr(model, "decision_function"):
        return aligned_proba(model, X, classes)
    return (np.asarray(model.predict(X))[:, None] == classes[None, :]).astype(np.float32)


def _thread_controller():
    """The forkserver's pre-scanned thread-pool controller when running there, else a fresh one."""
    server = sys.modules.get("metalearn.evaluation._forkserver_init")
    if server is not None:
        return server.CONTROLLER
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def evaluate(
    config: dict,
    dataset: Dataset,
    *,
    cv=5,
    metric=None,
    time_limit: float | None = None,
    memory_limit_mb: int | None = None,
    random_state: int | None = 0,
    max_rows: int | None = DEFAULT_MAX_ROWS,
    isolation: str = "process",
    n_threads: int = 1,
    estimator=None,
    keep_predictions: bool = False,
) -> EvaluationResult:
    """Cross-validate one configuration; failures are results, never exceptions.

    Parameters
    ----------
    config : dict
        A configuration of ``get_space(dataset.task)``.
    dataset : Dataset
        As returned by :func:`metalearn.load_dataset`.
    cv : int or splitter
        Number of (stratified, shuffled) folds, or a scikit-learn splitter
        (see :func:`make_folds`; ``dataset.groups`` reach it).
    metric : str or callable, optional
        Classification: ``balanced_accuracy`` (default), ``accuracy``,
        ``roc_auc``, ``log_loss``; regression: ``r2`` (default), ``rmse``,
        ``mae``. Losses are negated so higher is always better. Also any
        scikit-learn scorer name or scorer callable (:func:`get_metric`).
    time_limit : float, optional
        Wall-clock seconds for all folds together; past it the result has
        status ``timeout``. Enforced only with ``isolation="process"``.
    memory_limit_mb : int, optional
        Address-space cap of the worker process (``isolation="process"``).
    random_state : int or None
        Seeds the folds, the subsample and the models.
    max_rows : int or None
        Larger datasets are subsampled to this many rows (stratified for
        classification) before cross-validation; None disables it.
    isolation : {"process", "none"}
        ``process`` runs the folds in a child process so that a crash, hang
        or memory blow-up of the pipeline cannot harm the caller; ``none``
        runs in this process (faster for tiny data, no protection).
    n_threads : int
        BLAS/OpenMP threads the pipeline may use.
    estimator : sklearn estimator, optional
        Evaluate this (unfitted) estimator instead of the pipeline of
        ``config``; ``config`` is then only recorded.

    Returns
    -------
    EvaluationResult

    Examples
    --------
    >>> import metalearn
    >>> from metalearn.space import get_space
    >>> ds = metalearn.load_dataset("sklearn:breast_cancer")
    >>> res = metalearn.evaluate(get_space(ds.task).default("linear"), ds, cv=3, isolation="none")
    >>> res.status, res.mean_score > 0.9
    ('ok', True)
    """
    if isolation not in ("process", "none"):
        raise InvalidParameterError(f"isolation must be 'process' or 'none', not {isolation!r}")
    metric_obj = get_metric(metric, dataset.task)
    if estimator is None:
        get_space(dataset.task).validate(config)
    data = dataset.subsample(max_rows, random_state) if max_rows else dataset
    folds = make_folds(data, cv, random_state)
    args = (config, data, folds, metric_obj, random_state, n_threads, estimator, keep_predictions)
    start = time.perf_counter()
    if isolation == "none":
        try:
            scores, fit_time, predictions = cross_validate(*args)
        except Exception as exc:  # noqa: BLE001 - a failing pipeline is a result, not a crash
            return EvaluationResult(config, metric_obj.name, status="failed", error=f"{type(exc).__name__}: {exc}",
                                    duration=time.perf_counter() - start, n_rows=data.n_rows)
        status, error = "ok", ""
    else:
        outcome = run_isolated(cross_validate, args, time_limit=time_limit, memory_limit_mb=memory_limit_mb)
        status, error = outcome.status, outcome.error
        scores, fit_time, predictions = outcome.value if outcome.status == "ok" else ([], 0.0, None)
    duration = time.perf_counter() - start
    if status == "ok" and not all(math.isfinite(s) for s in scores):
        finite = [s for s in scores if math.isfinite(s)]
        if not finite:
            status, error = "failed", "every fold produced a non-finite score"
    if status != "ok":
        logger.debug("config %s %s: %s", config.get("family"), status, error.splitlines()[0] if error else "")
        return EvaluationResult(config, metric_obj.name, status=status, error=error, duration=duration,
                                n_rows=data.n_rows)
    return EvaluationResult(
        config, metric_obj.name, fold_scores=tuple(float(s) for s in scores),
        mean_score=float(np.nanmean(scores)), fit_time=float(fit_time), duration=duration, n_rows=data.n_rows,
        predictions=predictions,
    )
