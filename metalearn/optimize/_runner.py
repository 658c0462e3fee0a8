"""Where trials run: in this process (serially or in threads) or on a Dask cluster, evaluated the same way.

Both runners take a batch of trials and return their results in trial
order, whatever order they finished in: the loop then tells them in that
order, so the next ``ask`` never depends on which worker was faster. With
more than one slot they also start trials one at a time (``start``, ``done``,
``outcome``) for :class:`metalearn.optimize._window.Window`, which keeps the
slots busy under the same guarantee.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass
from functools import partial

from metalearn.data import Dataset
from metalearn.engine import Trial, TrialResult
from metalearn.evaluation import default_memory_limit_mb, evaluate
from metalearn.evaluation._cluster import RETRIES, Cluster, worker_memory_share_mb
from metalearn.evaluation._isolation import MIN_MEMORY_LIMIT_MB
from metalearn.exceptions import ClusterError, InvalidParameterError

logger = logging.getLogger(__name__)

#: Seconds one evaluation may take when no ``time_budget`` bounds it (``trial_time_limit``'s default).
DEFAULT_TRIAL_TIME_LIMIT = 600.0
#: Seconds past its time limit that a remote trial may take to come back before it is recorded as a timeout.
REMOTE_GRACE = 60.0


@dataclass(frozen=True)
class TrialSettings:
    """How every trial of a search is evaluated (shipped to the workers with each trial).

    ``memory_limit_mb="auto"`` is resolved where the trial runs: a share of a
    Dask worker's memory limit per thread, else of this machine's memory
    divided among ``n_concurrent`` evaluations (:func:`default_memory_limit_mb`).
    """

    cv: int
    metric: str
    random_state: int
    isolation: str = "process"
    memory_limit_mb: int | str | None = "auto"
    n_concurrent: int = 1
    keep_predictions: bool = False

    def memory_limit(self) -> int | None:
        """The memory limit in MB for an evaluation running here."""
        if self.memory_limit_mb != "auto":
            return self.memory_limit_mb
        share = worker_memory_share_mb()
        return default_memory_limit_mb(self.n_concurrent) if share is None else max(share, MIN_MEMORY_LIMIT_MB)


def check_memory_limit(value) -> None:
    """Accept ``"auto"``, None (no limit) or a positive number of MB."""
    if value is None or (isinstance(value, str) and value == "auto"):
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidParameterError(
            f"memory_limit_mb must be 'auto', None (no limit) or a positive number of MB, not {value!r}")


def evaluate_trial(config: dict, data: Dataset, settings: TrialSettings, time_limit: float | None,
                   rows: int | None = None) -> TrialResult:
    """Cross-validate ``config`` on ``data`` (already subsampled) under ``settings``; runs locally or on a worker.

    ``rows`` screens it on a (stratified) subsample of that many rows
    instead (successive halving); out-of-fold predictions are kept only on all of ``data``.
    """
    full = rows is None or rows >= data.n_rows
    res = evaluate(config, data if full else data.subsample(rows, settings.random_state), cv=settings.cv,
                   metric=settings.metric, time_limit=time_limit, memory_limit_mb=settings.memory_limit(),
                   random_state=settings.random_state, max_rows=None, isolation=settings.isolation,
                   keep_predictions=settings.keep_predictions and full)
    return TrialResult.from_evaluation(res)


class LocalTrials:
    """Evaluate a batch in this process: serially, or in ``n_jobs`` threads (each evaluation is a process)."""

    def __init__(self, evaluate_one: Callable[..., TrialResult], n_jobs: int) -> None:
        self.slots = n_jobs
        self._evaluate_one = evaluate_one
        self._pool = ThreadPoolExecutor(max_workers=n_jobs) if n_jobs > 1 else None

    def run(self, trials: list[Trial], time_limit: float | None, rows: int | None = None) -> list[TrialResult]:
        """The results of ``trials``, in their order (on a subsample of ``rows`` rows when given)."""
        call = partial(self._evaluate_one, time_limit=time_limit, rows=rows)
        configs = [t.config for t in trials]
        return list(self._pool.map(call, configs)) if self._pool is not None else [call(c) for c in configs]

    def start(self, trial: Trial, time_limit: float | None):
        """Start ``trial`` in a thread (needs ``n_jobs > 1``); returns its future."""
        return self._pool.submit(self._evaluate_one, trial.config, time_limit=time_limit, rows=None)

    def done(self, handles: list) -> list:
        """The started trials of ``handles`` that are done, once at least one is (evaluations time out themselves)."""
        return list(wait_futures(handles, return_when=FIRST_COMPLETED).done)

    def outcome(self, handle) -> TrialResult:
        """The result of a done trial."""
        return handle.result()

    def close(self) -> None:
        """Stop the threads."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)


class DaskTrials:
    """Evaluate a batch on a Dask cluster; the data is scattered to the workers once, when this is made.

    ``slots`` trials are asked per batch (default: the cluster's worker threads).

    A trial whose worker dies is rescheduled by Dask and, when its worker
    dies again (``RETRIES``), recorded as failed. A trial that has not come
    back :data:`REMOTE_GRACE` seconds after its time limit is cancelled and
    recorded as a timeout.
    """

    def __init__(self, cluster: Cluster, data: Dataset, settings: TrialSettings,
                 evaluate_fn: Callable[[dict], TrialResult] | None = None, slots: int | None = None) -> None:
        import distributed

        self._distributed = distributed
        self.cluster, self.slots = cluster, slots or cluster.slots
        self._settings, self._evaluate_fn = settings, evaluate_fn
        self._prefix = f"metalearn-trial-{uuid.uuid4().hex[:8]}"
        self._deadlines: dict[str, tuple[float | None, float | None]] = {}  # key: (time limit, deadline)
        self._late: set[str] = set()
        self._data = None if evaluate_fn is not None else cluster.client.scatter(data, broadcast=True, hash=False)

    def run(self, trials: list[Trial], time_limit: float | None, rows: int | None = None) -> list[TrialResult]:
        """The results of ``trials``, in their order (collected as they finish; on ``rows`` rows when given)."""
        futures = {self._submit(trial, time_limit, rows): trial.number for trial in trials}
        results = self._collect(futures, time_limit)
        return [results[t.number] for t in trials]

    def _submit(self, trial: Trial, time_limit: float | None, rows: int | None = None):
        key = f"{self._prefix}-{trial.number}"
        if self._evaluate_fn is not None:
            return self.cluster.client.submit(self._evaluate_fn, trial.config, key=key, pure=False)
        return self.cluster.client.submit(evaluate_trial, trial.config, self._data, self._settings, time_limit, rows,
                                          key=key, pure=False)

    def start(self, trial: Trial, time_limit: float | None):
        """Send ``trial`` to the cluster; returns its future (it times out :data:`REMOTE_GRACE` s after its limit)."""
        future = self._submit(trial, time_limit)
        self._deadlines[future.key] = (time_limit, None if time_limit is None
                                       else time.perf_counter() + time_limit + REMOTE_GRACE)
        return future

    def done(self, handles: list) -> list:
        """The started trials of ``handles`` that are done, once one is or one's deadline has passed."""
        deadlines = [self._deadlines[h.key][1] for h in handles if self._deadlines[h.key][1] is not None]
        timeout = None if len(deadlines) < len(handles) else max(min(deadlines) - time.perf_counter(), 0.0)
        try:
            finished = set(self._distributed.wait(handles, timeout=timeout, return_when="FIRST_COMPLETED").done)
        except TimeoutError:
            finished = set()
        now = time.perf_counter()
        late = [h for h in handles if h not in finished and (self._deadlines[h.key][1] or now + 1) <= now]
        for handle in late:
            handle.cancel()
            self._late.add(handle.key)
        return [h for h in handles if h in finished] + late

    def outcome(self, handle) -> TrialResult:
        """The result of a done trial (a timeout for one that passed its deadline)."""
        time_limit, _ = self._deadlines.pop(handle.key)
        if handle.key not in self._late:
            return self._result(handle)
        self._late.discard(handle.key)
        logger.warning("trial %s did not come back from %s in %g s", handle.key, self.cluster.address,
                       time_limit + REMOTE_GRACE)
        return _no_result(time_limit)

    def _collect(self, futures: dict, time_limit: float | None) -> dict[int, TrialResult]:
        wait = None if time_limit is None else time_limit + REMOTE_GRACE
        results: dict[int, TrialResult] = {}
        try:
            for future in self._distributed.as_completed(list(futures), timeout=wait):
                results[futures[future]] = self._result(future)
        except TimeoutError:  # the trials still out are recorded as timeouts below
            logger.warning("%d trial(s) did not come back from %s in %g s", len(futures) - len(results),
                           self.cluster.address, wait)
        for future, number in futures.items():
            if number not in results:
                future.cancel()
                results[number] = _no_result(time_limit)
        return results

    def _result(self, future) -> TrialResult:
        if future.status == "finished":
            return future.result()
        if future.status == "cancelled":
            raise ClusterError(f"the Dask scheduler at {self.cluster.address} dropped the trials (cancelled): "
                               "check that it and its workers are still running")
        exc = future.exception()
        if isinstance(exc, self._distributed.KilledWorker):
            return TrialResult(float("nan"), status="failed",
                               error=f"the Dask worker evaluating it died {RETRIES + 1} times (retried "
                                     f"{RETRIES}x): {exc}")
        raise exc

    def close(self) -> None:
        """Release the scattered data."""
        if self._data is not None:
            self._data.release()


def _no_result(time_limit: float) -> TrialResult:
    """The timeout recorded for a trial that did not come back :data:`REMOTE_GRACE` s after its time limit."""
    wait = time_limit + REMOTE_GRACE
    return TrialResult(float("nan"), status="timeout", duration=float(wait),
                       error=f"no result from the Dask cluster {wait:g} s after it was sent (time limit "
                             f"{time_limit:g} s + {REMOTE_GRACE:g} s)")
