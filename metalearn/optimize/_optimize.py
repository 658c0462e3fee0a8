"""The optimisation loop: ask, evaluate (in parallel when asked), tell, within a trial and time budget."""

from __future__ import annotations

import contextlib
import logging
import math
import sys
import threading
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
from metalearn.evaluation._isolation import warm_up
from metalearn.exceptions import InvalidParameterError
from metalearn.optimize._halving import SCREENING, Bracket, Halving, rung_rows
from metalearn.optimize._runner import (
    DEFAULT_TRIAL_TIME_LIMIT,
    DaskTrials,
    LocalTrials,
    TrialSettings,
    check_memory_limit,
    evaluate_trial,
)
from metalearn.optimize._warm import WarmStart, check_warm_start, resolve_warm_start
from metalearn.optimize._window import Window
from metalearn.space import accepts_sample_weight, get_space
from metalearn.utils import check_positive

logger = logging.getLogger(__name__)

HISTORY_COLUMNS = ("number", "config", "config_id", "family", "score", "status", "duration", "origin", "error",
                   "score_sd", "n_rows")


@dataclass(frozen=True)
class OptimizationResult:
    """What :func:`optimize` found.

    Attributes
    ----------
    best_config : dict or None
        Configuration with the highest score (None when every trial failed).
    best_score : float
    history : pandas.DataFrame
        One row per evaluation: ``number, config, config_id, family, score,
        status, duration, origin, error, score_sd, n_rows`` (origin is
        ``warm-start``, ``portfolio``, ``bo`` or ``random``; ``score_sd`` is
        the standard deviation of the fold scores; ``n_rows``: the rows it
        cross-validated on). Under successive halving a trial has a row per
        rung: ``screened`` on a subsample, ``ok`` on all rows.
    metric : str
        The metric's name (a scikit-learn scorer's, or a callable's ``__name__``).
    elapsed : float
        Wall-clock seconds of the whole search.
    warm_start : WarmStart
        What the search started from (with ``warm_start="auto"``: the
        recommendation, the transfer prior and the dataset's meta-features).
    predictions : dict
        Trial number -> out-of-fold predictions (float32) of the best
        ``keep_predictions`` trials; all on the same rows and folds.
    target : ndarray or None
        The target of the rows those predictions are on (None when none were kept).
    target_weight : ndarray or None
        The ``sample_weight`` of those rows (None without weights or predictions).
    """

    best_config: dict | None
    best_score: float
    history: pd.DataFrame
    metric: str
    elapsed: float
    warm_start: WarmStart = field(default_factory=WarmStart)
    predictions: dict = field(default_factory=dict, repr=False)
    target: np.ndarray | None = field(default=None, repr=False)
    target_weight: np.ndarray | None = field(default=None, repr=False)


def optimize(dataset, *, target: str | None = None, task: str | None = None, optimizer: Optimizer | None = None,
             n_trials: int | None = 50, time_budget: float | None = None, metric=None, cv=5,
             n_jobs: int = 1, warm_start: str | list[dict] | None = "auto", kb=None, prior: Prior | None = None,
             observations: list[Observation] | None = None, random_state: int | None = None,
             verbose: int = 0, isolation: str = "process", max_rows: int | None = DEFAULT_MAX_ROWS,
             evaluate_fn: Callable[[dict], TrialResult] | None = None,
             reserve: Callable[[pd.DataFrame], float] | None = None, scheduler=None,
             memory_limit_mb: int | str | None = "auto",
             trial_time_limit: float | None = DEFAULT_TRIAL_TIME_LIMIT,
             keep_predictions: int = 0, screening: str = "auto") -> OptimizationResult:
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
        Trials evaluated concurrently (a free slot asks for the next trial;
        results are told in trial order, see ``docs/distributed.md``); with
        a ``scheduler``, 1 means one trial per worker thread of the cluster.
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
    keep_predictions : int
        Keep the out-of-fold predictions of this many best trials
        (``result.predictions``, float32, as they come back from the
        evaluation workers), e.g. for ensemble selection without
        cross-validating again; 0 keeps none.
    screening : {"auto", "always", "never"}
        Successive halving (see :mod:`metalearn.optimize._halving`): under
        ``"auto"`` candidates are screened on growing subsamples (1/9, 1/3,
        all of the rows; the best third goes on) when a full cross-validation
        would take a large share of ``time_budget``; ``history`` then has
        ``screened`` rows with the rows they used (``n_rows``), and only
        full evaluations (``ok``) compete. Off with ``evaluate_fn``.

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
    if screening not in SCREENING:
        raise InvalidParameterError(f"screening must be one of {list(SCREENING)}, not {screening!r}")
    if isinstance(keep_predictions, bool) or not isinstance(keep_predictions, int) or keep_predictions < 0:
        raise InvalidParameterError(f"keep_predictions must be a number of trials >= 0, not {keep_predictions!r}")
    dataset = dataset if isinstance(dataset, Dataset) else load_dataset(dataset, target=target, task=task)
    metric_obj = get_metric(metric, dataset.task)
    seed = 0 if random_state is None else int(random_state)
    began = time.perf_counter()
    # the data is subsampled once here, not per trial (and scattered once)
    data = dataset.subsample(max_rows, seed) if max_rows and evaluate_fn is None else dataset
    kept = _KeptPredictions(keep_predictions)
    starting = None
    if isolation == "process" and scheduler is None and evaluate_fn is None:
        # the evaluation forkserver starts (imports, first fits) while the warm start computes meta-features
        starting = threading.Thread(target=warm_up, name="metalearn-forkserver-start", daemon=True)
        starting.start()
    with _runner(scheduler, data, evaluate_fn, n_jobs, TrialSettings(
            cv, metric_obj, seed, isolation, memory_limit_mb, n_jobs, keep_predictions > 0), starting) as runner:
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
        halving = Halving(rung_rows(data.n_rows) if evaluate_fn is None else [data.n_rows], budget, screening)
        rows = _loop(optimizer, runner, n_trials, budget, runner.slots, start, verbose, _Reserve(reserve),
                     trial_time_limit, kept, halving, data.n_rows)
    history = pd.DataFrame(rows, columns=list(HISTORY_COLUMNS))
    ok = history.loc[history["status"] == "ok"]
    best = ok.loc[ok["score"].idxmax()] if len(ok) else None
    return OptimizationResult(
        best_config=None if best is None else dict(best["config"]),
        best_score=float("nan") if best is None else float(best["score"]),
        history=history, metric=metric_obj.name, elapsed=time.perf_counter() - began, warm_start=start_from,
        predictions=kept.predictions, target=data.y if kept.predictions else None,
        target_weight=data.sample_weight if kept.predictions else None,
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
def _runner(scheduler, data, evaluate_fn, n_jobs: int, settings: TrialSettings,
            starting: threading.Thread | None = None) -> Iterator[LocalTrials | DaskTrials]:
    """Where the trials run on ``data`` (already subsampled); ``starting``: the forkserver's start, if under way."""
    with contextlib.ExitStack() as stack:
        if scheduler is None:
            runner = LocalTrials(_local_evaluator(evaluate_fn, data, settings, starting), n_jobs)
        else:
            processes = settings.isolation == "process" and evaluate_fn is None
            cluster = stack.enter_context(connect(scheduler, processes=processes))
            runner = DaskTrials(cluster, data, replace(settings, n_concurrent=1), evaluate_fn,
                                slots=n_jobs if n_jobs > 1 else None)
        stack.callback(runner.close)
        yield runner


def _local_evaluator(evaluate_fn, data, settings: TrialSettings,
                     starting: threading.Thread | None = None) -> Callable[..., TrialResult]:
    """``(config, time_limit, rows) -> TrialResult`` in this process: ``evaluate_fn`` or cross-validation."""
    if evaluate_fn is None:
        run = partial(evaluate_trial, data=data, settings=settings)
        return run if starting is None else partial(_once_started, starting, run)
    return lambda config, time_limit, rows=None: evaluate_fn(config)


def _once_started(starting: threading.Thread, run: Callable[..., TrialResult], config: dict,
                  time_limit: float | None, rows: int | None = None) -> TrialResult:
    """``run`` once the forkserver has started; a timeout when it is not up within ``time_limit``.

    Starting a process from a forkserver that is still starting blocks
    until it is up, which no time limit can cut: on a busy core that took
    longer than a 10 s budget.
    """
    if not starting.is_alive():
        return run(config, time_limit=time_limit, rows=rows)
    began = time.perf_counter()
    starting.join(time_limit)
    waited = time.perf_counter() - began
    if starting.is_alive():
        return TrialResult(float("nan"), status="timeout", duration=waited,
                           error=f"the evaluation processes had not started within the time limit of {time_limit:g} s")
    return run(config, time_limit=None if time_limit is None else max(time_limit - waited, 0.0), rows=rows)


class _KeptPredictions:
    """The out-of-fold predictions of the ``size`` best trials so far (memory stays bounded)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.predictions: dict[int, np.ndarray] = {}
        self._scores: dict[int, float] = {}

    def add(self, number: int, result: TrialResult) -> None:
        """Keep ``result``'s predictions when it is among the best ``size`` finished trials."""
        if not self.size or result.predictions is None or not result.ok:
            return
        self.predictions[number] = result.predictions
        self._scores[number] = result.score
        if len(self.predictions) > self.size:
            worst = min(self._scores, key=lambda n: (self._scores[n], -n))
            del self.predictions[worst], self._scores[worst]


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


class _Clock:
    """The search's budget: whether it is spent, and how long the next evaluation may run."""

    def __init__(self, start: float, time_budget: float | None, reserve: _Reserve,
                 trial_time_limit: float | None) -> None:
        self.start, self.time_budget = start, time_budget
        self.reserve, self.trial_time_limit = reserve, trial_time_limit

    def spent(self) -> bool:
        """No new evaluation may start (the budget less the reserve is used up)."""
        return self.time_budget is not None and \
            time.perf_counter() - self.start >= self.time_budget - self.reserve.seconds

    def left(self) -> float | None:
        """Seconds until the budget (less the reserve) ends; None without a budget."""
        if self.time_budget is None:
            return None
        return self.time_budget - self.reserve.seconds - (time.perf_counter() - self.start)

    def limit(self) -> float | None:
        """Seconds an evaluation starting now may take: it is cut where the budget (less the reserve) ends."""
        limit = self.trial_time_limit
        if self.time_budget is not None:
            left = max(self.left(), 1.0)
            limit = left if limit is None else min(limit, left)
        return limit


def _loop(optimizer: Optimizer, runner: LocalTrials | DaskTrials, n_trials: int | None,
          time_budget: float | None, n_jobs: int, start: float, verbose: int,
          reserve: _Reserve | None = None, trial_time_limit: float | None = None,
          kept: _KeptPredictions | None = None, halving: Halving | None = None,
          full_rows: int = 0) -> list[tuple]:
    """Ask/evaluate/tell until a budget is spent or the optimizer runs dry; one history row per evaluation.

    With one slot, a trial is asked, evaluated and told at a time; with more,
    a :class:`Window` keeps the slots busy and tells results in trial order.
    While ``halving`` is active a batch is a bracket of successive halving
    (:class:`Bracket`), and each trial is told its last (highest-rung) result.
    """
    halving = halving or Halving([full_rows], mode="never")
    clock = _Clock(start, time_budget, reserve or _Reserve(None), trial_time_limit)
    log = _Record(optimizer, n_trials, kept or _KeptPredictions(0), clock.reserve, halving,
                  _progress(n_trials, time_budget, verbose))
    try:
        while n_trials is None or log.told < n_trials:
            if clock.spent():
                break
            if not halving.active and runner.slots > 1:
                window = Window(optimizer, runner, log.tell_one, log.arrived)
                window.run(lambda pending: (not clock.spent() and not halving.active
                                            and (n_trials is None or log.told + pending < n_trials)), clock.limit)
                if window.exhausted or not halving.active:
                    break
                continue
            width = halving.width if halving.active else n_jobs
            try:
                trials = optimizer.ask(width if n_trials is None else min(width, n_trials - log.told))
            except SearchExhaustedError:
                logger.info("search space exhausted after %d trials", log.told)
                break
            if halving.active:  # a bracket records the cost of its own evaluations
                bracket = Bracket(trials)
                bracket.run(runner, halving, clock)
                log.record(bracket.evaluations, bracket.outcomes())
                if not bracket.outcomes():  # the bracket was cut before its first evaluation
                    break
            else:
                for trial, result in zip(trials, runner.run(trials, clock.limit())):
                    log.arrived(result)
                    log.tell_one(trial, result)
    finally:
        if log.bar is not None:
            log.bar.close()
    return log.rows


class _Record:
    """The loop's bookkeeping: history rows, tells, kept predictions, the reserve and the progress bar."""

    def __init__(self, optimizer: Optimizer, n_trials: int | None, kept: _KeptPredictions, reserve: _Reserve,
                 halving: Halving, bar) -> None:
        self.optimizer, self.n_trials, self.kept, self.reserve = optimizer, n_trials, kept, reserve
        self.halving, self.bar = halving, bar
        self.rows: list[tuple] = []
        self.told = 0

    def arrived(self, result: TrialResult) -> None:
        """A full evaluation came back: the halving rule watches its cost."""
        self.halving.observe(result.duration, result.n_rows or self.halving.full_rows, result.ok)

    def tell_one(self, trial: Trial, result: TrialResult) -> None:
        """Record and tell one full evaluation."""
        self.record([(trial, result, self.halving.full_rows)], [(trial, result)])

    def record(self, evaluations: list[tuple], outcomes: list[tuple]) -> None:
        """History rows for ``evaluations`` ``(trial, result, rows)``; tell ``outcomes`` ``(trial, result)``."""
        for trial, result, used in evaluations:
            self.rows.append(_row(trial, result, used, self.halving.full_rows))
            _log_trial(self.rows[-1], self.n_trials)
        for trial, result in outcomes:
            self.optimizer.tell(trial, result)
            self.kept.add(trial.number, result)
        self.told += len(outcomes)
        self.reserve.update(self.rows)
        if self.bar is not None:
            self.bar.update(len(outcomes))
            done = [r[4] for r in self.rows if r[5] == "ok"]
            if done:
                self.bar.set_postfix(best=f"{max(done):.4f}")


def _row(trial: Trial, result: TrialResult, rows: int, full_rows: int) -> tuple:
    score = result.score if result.ok else float("nan")
    status = result.status if result.status != "ok" or math.isfinite(score) else "failed"
    if status == "ok" and rows < full_rows:
        status = "screened"
    folds = [s for s in result.fold_scores if math.isfinite(s)]
    spread = float(np.std(folds)) if result.ok and folds else float("nan")
    return (trial.number, trial.config, trial.config_id, trial.config.get("family"), score, status,
            result.duration, trial.origin, result.error, spread, rows)


def _log_trial(row: tuple, n_trials: int | None) -> None:
    """One INFO line per evaluation: number, origin, family, score (or why it did not finish), rows, time."""
    number, _, _, family, score, status, duration, origin, error, spread, rows = row
    of = "" if n_trials is None else f"/{n_trials}"
    if status in ("ok", "screened"):
        logger.info("trial %d%s [%s] %s: %s %.4f +/- %.4f on %d rows in %.1f s", number + 1, of, origin, family,
                    "score" if status == "ok" else "screening score", score, spread, rows, duration)
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
