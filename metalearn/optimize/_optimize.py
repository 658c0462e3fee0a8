"""The optimisation loop: ask, evaluate (in parallel when asked), tell, within a trial and time budget."""

from __future__ import annotations

import contextlib
import logging
import math
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from functools import partial

import numpy as np
import pandas as pd

from metalearn.data import Dataset, load_dataset
from metalearn.engine import (
    BayesianOptimizer,
    Observation,
    Optimizer,
    Prior,
    SearchExhaustedError,
    Trial,
    TrialResult,
    equivalence_key,
)
from metalearn.evaluation import DEFAULT_MAX_ROWS, get_metric
from metalearn.evaluation._cluster import connect
from metalearn.exceptions import InvalidParameterError
from metalearn.optimize._runner import (
    DEFAULT_TRIAL_TIME_LIMIT,
    DaskTrials,
    LocalTrials,
    TrialSettings,
    check_memory_limit,
    evaluate_trial,
)
from metalearn.optimize._warm import WarmStart, check_warm_start, resolve_warm_start
from metalearn.space import accepts_sample_weight, get_space
from metalearn.utils import check_positive

logger = logging.getLogger(__name__)

HISTORY_COLUMNS = ("number", "config", "config_id", "family", "score", "status", "duration", "origin", "error",
                   "score_sd")


@dataclass(frozen=True)
class OptimizationResult:
    """What :func:`optimize` found.

    Attributes
    ----------
    best_config : dict or None
        Configuration with the highest score (None when every trial failed).
    best_score : float
    history : pandas.DataFrame
        One row per trial: ``number, config, config_id, family, score, status,
        duration, origin, error, score_sd`` (origin is ``warm-start``,
        ``portfolio``, ``bo`` or ``random``; ``score_sd`` is the standard
        deviation of the fold scores).
    metric : str
        The metric's name (a scikit-learn scorer's, or a callable's ``__name__``).
    elapsed : float
        Wall-clock seconds of the whole search.
    warm_start : WarmStart
        What the search started from (with ``warm_start="auto"``: the
        recommendation, the transfer prior and the dataset's meta-features).
    """

    best_config: dict | None
    best_score: float
    history: pd.DataFrame
    metric: str
    elapsed: float
    warm_start: WarmStart = field(default_factory=WarmStart)


def optimize(dataset, *, target: str | None = None, task: str | None = None, optimizer: Optimizer | None = None,
             n_trials: int | None = 50, time_budget: float | None = None, metric=None, cv=5,
             n_jobs: int = 1, warm_start: str | list[dict] | None = "auto", kb=None, prior: Prior | None = None,
             observations: list[Observation] | None = None, random_state: int | None = None,
             verbose: int = 0, isolation: str = "process", max_rows: int | None = DEFAULT_MAX_ROWS,
             evaluate_fn: Callable[[dict], TrialResult] | None = None,
             reserve: Callable[[pd.DataFrame], float] | None = None, scheduler=None,
             memory_limit_mb: int | str | None = "auto",
             trial_time_limit: float | None = DEFAULT_TRIAL_TIME_LIMIT) -> OptimizationResult:
    """Search the pipeline space of ``dataset`` for the best configuration.

    Parameters
    ----------
    dataset : Dataset or anything :func:`metalearn.load_dataset` accepts
    target, task : str, optional
        As in :func:`metalearn.load_dataset` (when ``dataset`` is not a Dataset).
    optimizer : Optimizer, optional
        Defaults to :class:`BayesianOptimizer` with ``prior``.
    n_trials : int or None
        Stop after this many evaluations (None: only the time budget stops).
    time_budget : float or None
        Wall-clock seconds for the whole search, the warm start included
        (the trials keep at least a second); no new trial starts after it
        and a running one is cut at it (``isolation="process"``).
    metric, cv, max_rows, isolation
        Passed to :func:`metalearn.evaluate`: ``metric`` may be a
        scikit-learn scorer name or a scorer callable, ``cv`` a splitter
        (``dataset.groups`` and ``dataset.sample_weight`` are used by every
        evaluation; families whose model takes no ``sample_weight`` are
        then left out of the warm start and fail as trials).
    n_jobs : int
        Trials evaluated concurrently (batch ``ask(n_jobs)``); with a
        ``scheduler``, 1 means one trial per worker thread of the cluster.
    warm_start : {"auto", "defaults", "none"}, None or list of dict
        Where the search starts, as in the estimators: ``"auto"`` tries the
        knowledge base's top recommendations first and gives the default
        optimizer the KB's transfer prior (family defaults, with a warning,
        when the KB has nothing for this task); ``"defaults"`` each model
        family's default; ``"none"`` or None a cold start; a list, these
        configurations.
    kb : None, path, KnowledgeBase or Recommender
        The knowledge base of ``warm_start="auto"`` (None: the shipped one).
    prior : Prior, optional
        Transfer prior for the default optimizer (replaces the KB's).
    observations : list of Observation, optional
        Results already known on this dataset.
    verbose : int
        ``>0`` shows a progress bar on a terminal or in a Jupyter notebook.
        Every finished trial is also logged at INFO level (logger
        ``metalearn.optimize``).
    evaluate_fn : callable, optional
        ``config -> TrialResult`` replacing cross-validation (tests, table lookups).
    reserve : callable, optional
        ``history so far -> seconds`` to leave unused at the end of
        ``time_budget`` (e.g. to refit what was found); re-evaluated after
        every trial, and running trials are cut before it.
    scheduler : None, str or distributed.Client
        Evaluate the trials on a Dask cluster: a scheduler address
        (``"tcp://host:8786"``), a ``distributed.Client`` (left open) or
        ``"local:N"`` (a local cluster of N single-threaded worker processes,
        closed at the end). Needs ``metalearn[distributed]``; see
        ``docs/distributed.md``. With a fixed ``random_state`` and
        ``n_trials`` the result equals a local search with ``n_jobs`` equal
        to the cluster's worker threads.
    memory_limit_mb : "auto", int or None
        Address-space cap of each evaluation (``isolation="process"``);
        ``"auto"``: 80 % of the machine's memory shared among the concurrent
        evaluations (on a Dask worker: its memory limit per thread), at least
        4096 MB; None: no limit.
    trial_time_limit : float or None
        Seconds one evaluation may take (it is recorded as ``timeout`` after
        that); under ``time_budget`` the smaller of this and what is left.

    Returns
    -------
    OptimizationResult

    Examples
    --------
    >>> import metalearn
    >>> from metalearn.optimize import optimize
    >>> ds = metalearn.load_dataset("sklearn:wine")
    >>> res = optimize(ds, n_trials=4, cv=3, isolation="none", random_state=0)
    >>> len(res.history), res.best_score > 0.8
    (4, True)
    >>> list(res.history["origin"])  # the KB's top 3, then its adaptive portfolio
    ['warm-start', 'warm-start', 'warm-start', 'portfolio']
    """
    _check_options(n_trials, time_budget, n_jobs, reserve, warm_start, memory_limit_mb, trial_time_limit, isolation)
    dataset = dataset if isinstance(dataset, Dataset) else load_dataset(dataset, target=target, task=task)
    metric_obj = get_metric(metric, dataset.task)
    seed = 0 if random_state is None else int(random_state)
    began = time.perf_counter()
    with _runner(scheduler, dataset, max_rows, evaluate_fn, n_jobs, TrialSettings(
            cv, metric_obj, seed, isolation, memory_limit_mb, n_jobs)) as runner:
        start_from = _weighted_start(resolve_warm_start(warm_start, dataset, kb, seed), dataset)
        start = time.perf_counter()
        # the warm start (meta-features, KB lookup) is part of the budget; the search keeps at least a second
        budget = None if time_budget is None else max(time_budget - (start - began), min(time_budget, 1.0))
        if optimizer is None:
            space = get_space(dataset.task)
            optimizer = BayesianOptimizer(space, prior=start_from.prior if prior is None else prior,
                                          random_state=random_state, key=equivalence_key(space, dataset))
        if start_from.configs:
            optimizer.enqueue(start_from.configs)
        if observations:
            optimizer.observe(observations)
        rows = _loop(optimizer, runner, n_trials, budget, runner.slots, start, verbose, _Reserve(reserve),
                     trial_time_limit)
    history = pd.DataFrame(rows, columns=list(HISTORY_COLUMNS))
    ok = history.loc[history["status"] == "ok"]
    best = ok.loc[ok["score"].idxmax()] if len(ok) else None
    return OptimizationResult(
        best_config=None if best is None else dict(best["config"]),
        best_score=float("nan") if best is None else float(best["score"]),
        history=history, metric=metric_obj.name, elapsed=time.perf_counter() - began, warm_start=start_from,
    )


def _check_options(n_trials, time_budget, n_jobs, reserve, warm_start, memory_limit_mb, trial_time_limit,
                   isolation) -> None:
    if n_trials is None and time_budget is None:
        raise InvalidParameterError("give n_trials or time_budget (or both); otherwise the search never stops")
    check_positive("n_trials", n_trials, integer=True)
    check_positive("time_budget", time_budget)
    check_positive("n_jobs", n_jobs, integer=True)
    check_positive("trial_time_limit", trial_time_limit)
    check_memory_limit(memory_limit_mb)
    if isolation not in ("process", "none"):
        raise InvalidParameterError(f"isolation must be 'process' or 'none', not {isolation!r}")
    if reserve is not None and not callable(reserve):
        raise InvalidParameterError(f"reserve must be a callable (history -> seconds) or None, not {reserve!r}")
    check_warm_start(warm_start)


def _weighted_start(start_from: WarmStart, dataset) -> WarmStart:
    """``start_from`` without the configurations whose model cannot take ``dataset.sample_weight``."""
    if dataset.sample_weight is None or not start_from.configs:
        return start_from
    space = get_space(dataset.task)
    unweighted = {f for f in space.available_families
                  if not accepts_sample_weight(space.to_pipeline(space.default(f), dataset))}
    kept = [c for c in start_from.configs if c["family"] not in unweighted]
    if len(kept) < len(start_from.configs):
        logger.info("sample_weight: %d warm-start configuration(s) of %s skipped (their models take no "
                    "sample_weight)", len(start_from.configs) - len(kept), sorted(unweighted))
    return replace(start_from, configs=kept)


@contextlib.contextmanager
def _runner(scheduler, dataset, max_rows: int | None, evaluate_fn, n_jobs: int,
            settings: TrialSettings) -> Iterator[LocalTrials | DaskTrials]:
    """Where the trials run; the data is subsampled once here, not per trial (and scattered once)."""
    data = dataset.subsample(max_rows, settings.random_state) if max_rows and evaluate_fn is None else dataset
    with contextlib.ExitStack() as stack:
        if scheduler is None:
            runner = LocalTrials(_local_evaluator(evaluate_fn, data, settings), n_jobs)
        else:
            processes = settings.isolation == "process" and evaluate_fn is None
            cluster = stack.enter_context(connect(scheduler, processes=processes))
            runner = DaskTrials(cluster, data, replace(settings, n_concurrent=1), evaluate_fn,
                                slots=n_jobs if n_jobs > 1 else None)
        stack.callback(runner.close)
        yield runner


def _local_evaluator(evaluate_fn, data, settings: TrialSettings) -> Callable[..., TrialResult]:
    """``(config, time_limit) -> TrialResult`` in this process: ``evaluate_fn`` or cross-validation."""
    if evaluate_fn is None:
        return partial(evaluate_trial, data=data, settings=settings)
    return lambda config, time_limit: evaluate_fn(config)


class _Reserve:
    """Seconds to keep free at the end of the budget, recomputed from the history after every trial."""

    def __init__(self, fn: Callable[[pd.DataFrame], float] | None) -> None:
        self.fn, self.seconds = fn, 0.0

    def update(self, rows: list[tuple]) -> None:
        if self.fn is not None:
            seconds = float(self.fn(pd.DataFrame(rows, columns=list(HISTORY_COLUMNS))))
            if not math.isfinite(seconds):
                raise InvalidParameterError(f"reserve() must return a finite number of seconds, got {seconds!r}")
            self.seconds = max(seconds, 0.0)


def _loop(optimizer: Optimizer, runner: LocalTrials | DaskTrials, n_trials: int | None,
          time_budget: float | None, n_jobs: int, start: float, verbose: int,
          reserve: _Reserve | None = None, trial_time_limit: float | None = None) -> list[tuple]:
    """Ask/evaluate/tell until a budget is spent or the optimizer runs dry; one history row per trial.

    A batch of ``n_jobs`` trials is asked, evaluated by ``runner`` and told
    in trial order once all of it is back.
    """
    reserve = reserve or _Reserve(None)
    bar = _progress(n_trials, time_budget, verbose)
    rows: list[tuple] = []
    try:
        while n_trials is None or len(rows) < n_trials:
            if time_budget is not None and time.perf_counter() - start >= time_budget - reserve.seconds:
                break
            batch = n_jobs if n_trials is None else min(n_jobs, n_trials - len(rows))
            try:
                trials = optimizer.ask(batch)
            except SearchExhaustedError:
                logger.info("search space exhausted after %d trials", len(rows))
                break
            limit = trial_time_limit
            if time_budget is not None:  # a running trial is cut where the budget (less the reserve) ends
                left = max(time_budget - reserve.seconds - (time.perf_counter() - start), 1.0)
                limit = left if limit is None else min(limit, left)
            results = runner.run(trials, limit)
            for trial, result in zip(trials, results):
                optimizer.tell(trial, result)
                rows.append(_row(trial, result))
                _log_trial(rows[-1], n_trials)
            reserve.update(rows)
            if bar is not None:
                bar.update(len(trials))
                done = [r[4] for r in rows if r[5] == "ok"]
                if done:
                    bar.set_postfix(best=f"{max(done):.4f}")
    finally:
        if bar is not None:
            bar.close()
    return rows


def _row(trial: Trial, result: TrialResult) -> tuple:
    score = result.score if result.ok else float("nan")
    status = result.status if result.status != "ok" or math.isfinite(score) else "failed"
    folds = [s for s in result.fold_scores if math.isfinite(s)]
    spread = float(np.std(folds)) if result.ok and folds else float("nan")
    return (trial.number, trial.config, trial.config_id, trial.config.get("family"), score, status,
            result.duration, trial.origin, result.error, spread)


def _log_trial(row: tuple, n_trials: int | None) -> None:
    """One INFO line per finished trial: number, origin, family, score (or why it did not finish), time."""
    number, _, _, family, score, status, duration, origin, error, spread = row
    of = "" if n_trials is None else f"/{n_trials}"
    if status == "ok":
        logger.info("trial %d%s [%s] %s: score %.4f +/- %.4f in %.1f s", number + 1, of, origin, family, score,
                    spread, duration)
    else:
        logger.info("trial %d%s [%s] %s: %s in %.1f s (%s)", number + 1, of, origin, family, status, duration,
                    (error or "").strip().splitlines()[-1][:200] if error else "no error text")


def _progress(n_trials: int | None, time_budget: float | None, verbose: int):
    """A tqdm bar when ``verbose`` and stderr is a terminal or this runs in a Jupyter kernel, else None."""
    if not verbose or not (sys.stderr.isatty() or _in_notebook()):
        return None
    from tqdm.auto import tqdm

    desc = "metalearn" if time_budget is None else f"metalearn ({time_budget:g} s)"
    return tqdm(total=n_trials, desc=desc, unit="trial", leave=False)


def _in_notebook() -> bool:
    """Whether this runs in a Jupyter (IPython) kernel, where ``tqdm.auto`` draws a notebook widget."""
    shell = sys.modules.get("IPython")
    get = getattr(shell, "get_ipython", None)
    return get is not None and getattr(get(), "kernel", None) is not None
