"""KB source ``openml``: runs of chosen scikit-learn flows on a benchmark suite, from openml.org.

The ``openml`` package does the talking (``openml.study.get_suite``,
``openml.evaluations.list_evaluations_setups``, ``openml.datasets.get_dataset``);
this module pages through the listings (``size``/``offset``), retries transient
failures with exponential backoff, maps each setup's parameters into our search
space (:func:`map_setup`) and stores:

- datasets of the suite (reserved ones dropped) with their OpenML data qualities as
  meta-features (only the qualities metalearn computes too, under OpenML's names);
- the mapped configurations (``configs``, with ``space_version``);
- one run per (dataset, configuration, metric), ``source="openml"``: ``mean_score``
  is the mean over the OpenML runs that map to that configuration, ``fold_scores``
  holds each run's score (OpenML's own mean over its cross-validation folds),
  ``fit_time`` is unknown (NaN).
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

from metalearn.exceptions import KnowledgeBaseError
from metalearn.kb._openml_mapping import map_setup
from metalearn.kb._schema import RunRecord, config_key, config_row
from metalearn.kb._sources import ReservedList, dataset_family
from metalearn.kb._store import KBStore
from metalearn.metafeatures import OPENML_QUALITIES
from metalearn.space import family_versions, get_space
from metalearn.utils import import_optional

logger = logging.getLogger(__name__)

SOURCE = "openml"
TASK = "classification"

#: OpenML evaluation measure -> our metric name.
OPENML_METRICS: dict[str, str] = {"predictive_accuracy": "accuracy", "area_under_roc_curve": "roc_auc"}

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries of transient failures: ``attempts`` tries, sleeping ``backoff * 2**k`` between."""

    attempts: int = 4
    backoff: float = 2.0


def _is_transient(exc: BaseException) -> bool:
    """Network errors, unparsable server answers and OpenML's 107 (database busy) are worth a retry."""
    import requests
    from openml.exceptions import OpenMLServerError, OpenMLServerException

    if isinstance(exc, requests.exceptions.RequestException):
        return True
    if isinstance(exc, OpenMLServerException):
        return exc.code == 107
    return isinstance(exc, OpenMLServerError)


def with_retry(call: Callable[[], T], what: str, policy: RetryPolicy) -> T:
    """Run ``call``; retry transient failures up to ``policy.attempts`` tries in all.

    Raises
    ------
    KnowledgeBaseError
        After the last failed try, or at once for a failure that is not transient.
    """
    for attempt in range(1, policy.attempts + 1):
        try:
            return call()
        except Exception as exc:
            if not _is_transient(exc):
                raise KnowledgeBaseError(f"openml: {what} failed: {type(exc).__name__}: {exc}") from exc
            if attempt == policy.attempts:
                raise KnowledgeBaseError(
                    f"openml: {what} failed {policy.attempts} times; last error: {type(exc).__name__}: {exc}"
                ) from exc
            delay = policy.backoff * 2 ** (attempt - 1)
            logger.warning("openml: %s failed (%s), try %d/%d again in %.1f s", what, exc, attempt + 1,
                           policy.attempts, delay)
            time.sleep(delay)
    raise KnowledgeBaseError(f"openml: {what}: no attempt made (attempts={policy.attempts})")


@contextlib.contextmanager
def _openml_settings(cache_dir: str | Path | None) -> Iterator[Any]:
    """The ``openml`` module with one try per request (we retry) and, optionally, another cache."""
    openml = import_optional("openml", extra="openml")
    n_retries = openml.config.connection_n_retries
    root = getattr(openml.config, "_root_cache_directory", None)
    openml.config.connection_n_retries = 1
    if cache_dir is not None:
        openml.config.set_root_cache_directory(str(cache_dir))
    try:
        yield openml
    finally:
        openml.config.connection_n_retries = n_retries
        if cache_dir is not None and root is not None:
            openml.config.set_root_cache_directory(root)


# -- parameter mapping ---------------------------------------------------------------------------

# -- listing -------------------------------------------------------------------------------------


def list_setup_evaluations(openml: Any, function: str, tasks: list[int], flows: list[int], *,
                           page_size: int, policy: RetryPolicy, max_pages: int | None = None) -> pd.DataFrame:
    """All evaluations of ``flows`` on ``tasks`` with their setups, fetched ``page_size`` at a time."""
    pages, offset = [], 0
    while max_pages is None or len(pages) < max_pages:
        what = f"list_evaluations_setups({function}, offset={offset}, size={page_size})"
        page = with_retry(lambda o=offset: openml.evaluations.list_evaluations_setups(
            function, offset=o, size=page_size, tasks=tasks, flows=flows, output_format="dataframe",
        ), what, policy)
        if len(page):
            pages.append(page)
        logger.info("openml: %s -> %d evaluations", what, len(page))
        if len(page) < page_size:
            break
        offset += page_size
    if not pages:
        return pd.DataFrame(columns=["run_id", "task_id", "setup_id", "flow_id", "flow_name", "data_id",
                                     "data_name", "value", "parameters"])
    return pd.concat(pages, ignore_index=True).drop_duplicates(subset="run_id")


def dataset_qualities(openml: Any, data_id: int, policy: RetryPolicy) -> dict[str, float]:
    """OpenML data qualities of a dataset (``data/qualities/ID``; the data itself is not downloaded)."""
    dataset = with_retry(lambda: openml.datasets.get_dataset(
        data_id, download_data=False, download_qualities=True, download_features_meta_data=False,
    ), f"qualities of dataset {data_id}", policy)
    return dict(dataset.qualities or {})


def _as_int(value: float | None, minus: int = 0) -> int | None:
    return None if value is None or not math.isfinite(value) else int(value) - minus


def _store_dataset(store: KBStore, openml: Any, data_id: int, name: str, policy: RetryPolicy) -> int:
    qualities = dataset_qualities(openml, data_id, policy)
    clash = store.conn.execute("SELECT openml_id FROM datasets WHERE name = ? AND source = ?",
                               (name, SOURCE)).fetchone()
    if clash is not None and clash[0] != data_id:  # another version of the dataset shares the name
        name = f"{data_id}_{name}"
    did = store.add_dataset(
        name=name, source=SOURCE, task=TASK, family=dataset_family(name), openml_id=data_id,
        n_rows=_as_int(qualities.get("NumberOfInstances")),
        n_features=_as_int(qualities.get("NumberOfFeatures"), minus=1),
        n_classes=_as_int(qualities.get("NumberOfClasses")),
    )
    store.set_metafeatures(did, {q: (None if not math.isfinite(v) else float(v))
                                 for q in OPENML_QUALITIES if (v := qualities.get(q)) is not None})
    return did


def map_evaluations(evals: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int]]:
    """Map every evaluation's setup into our space.

    Returns the mappable evaluations with ``config_id``/``config`` columns, and skip counts by reason.
    """
    space = get_space(TASK)
    configs, skipped = [], {}
    by_setup: dict[int, tuple[dict | None, str]] = {}
    for setup_id, flow_name, params in zip(evals["setup_id"], evals["flow_name"], evals["parameters"]):
        if int(setup_id) not in by_setup:
            by_setup[int(setup_id)] = map_setup(str(flow_name), params if isinstance(params, dict) else {}, space)
        config, reason = by_setup[int(setup_id)]
        configs.append(config)
        if config is None:
            skipped[reason] = skipped.get(reason, 0) + 1
    mapped = evals.assign(config=configs).loc[[c is not None for c in configs]].copy()
    mapped["config_id"] = [config_key(TASK, c) for c in mapped["config"]]
    return mapped, skipped


def _aggregate_runs(mapped: pd.DataFrame, dataset_ids: dict[int, int], metric: str) -> list[RunRecord]:
    """One run per (dataset, config): the mean of the OpenML runs mapped onto it."""
    runs = []
    mapped = mapped.loc[mapped["data_id"].astype(int).isin(dataset_ids)].sort_values("run_id")
    for (data_id, cid), group in mapped.groupby(["data_id", "config_id"], sort=True):
        values = tuple(float(v) for v in group["value"] if v is not None and math.isfinite(float(v)))
        if not values:
            continue
        runs.append(RunRecord(dataset_ids[int(data_id)], str(cid), metric, values, sum(values) / len(values),
                              float("nan"), "ok", SOURCE))
    return runs


def suite_tasks(openml: Any, suite: int | str, policy: RetryPolicy) -> list[int]:
    """Task ids of an OpenML benchmark suite (``study/ID``)."""
    found = with_retry(lambda: openml.study.get_suite(suite), f"suite {suite}", policy)
    return [int(t) for t in (found.tasks or [])]


def _store_configs(store: KBStore, mapped: pd.DataFrame) -> None:
    unique = mapped.drop_duplicates(subset="config_id")
    store.add_configs(config_row(TASK, c) for c in unique["config"])


def import_openml(output: str | Path, *, flows: list[int], suite: int | str = 99,
                  functions: tuple[str, ...] = ("predictive_accuracy",), reserved: ReservedList | None = None,
                  page_size: int = 1000, max_pages: int | None = None, policy: RetryPolicy | None = None,
                  cache_dir: str | Path | None = None, command: str = "") -> dict:
    """Import the runs of ``flows`` on the tasks of ``suite`` from openml.org into a KB file.

    Parameters
    ----------
    output : path
        ``kb.sqlite`` to create or extend (runs already stored are kept).
    flows : list of int
        OpenML flow ids (scikit-learn flows of our families; others are skipped and counted).
    suite : int or str
        Benchmark suite id or alias (99 = OpenML-CC18).
    functions : tuple of str
        OpenML evaluation measures to import (keys of :data:`OPENML_METRICS`).
    reserved : ReservedList, optional
        Datasets that must never enter the KB.
    page_size, max_pages : int
        Evaluations per listing request, and an optional cap on pages per measure.
    policy : RetryPolicy, optional
        Retries of transient failures.
    cache_dir : path, optional
        Root cache directory of ``openml`` while importing (default: openml's own).
    command : str
        The command line, recorded in the KB meta.

    Returns
    -------
    dict
        ``datasets``, ``runs_added``, ``evaluations``, ``skipped`` (reason -> evaluations),
        ``reserved_dropped``, ``seconds``.

    Raises
    ------
    KnowledgeBaseError
        A request still failing after the retries, or an unknown measure.
    """
    unknown = [f for f in functions if f not in OPENML_METRICS]
    if unknown or not flows:
        raise KnowledgeBaseError(f"openml: give flow ids and measures among {sorted(OPENML_METRICS)}; "
                                 f"unknown: {unknown or 'none'}, flows: {flows or 'none'}")
    start = time.perf_counter()
    job = _Job(policy or RetryPolicy(), reserved or ReservedList(frozenset(), frozenset()), page_size, max_pages)
    with _openml_settings(cache_dir) as openml, KBStore(output, create=True) as store:
        store.record_family_versions(family_versions())
        tasks = suite_tasks(openml, suite, job.policy)
        for function in functions:
            _import_function(store, openml, job, function, tasks, flows)
        summary = {"suite": suite, "flows": list(flows), "functions": list(functions), "tasks": len(tasks),
                   "datasets": len(job.dataset_ids), "evaluations": job.evaluations, "runs_added": job.added,
                   "skipped": job.skipped, "reserved_file": job.reserved.path,
                   "reserved_dropped": sorted(job.dropped), "build_command": command,
                   "metafeatures": "OpenML data qualities that metalearn also computes"}
        store.set_meta({"source_openml": summary})
    return {"evaluations": job.evaluations, "runs_added": job.added, "skipped": job.skipped,
            "datasets": len(job.dataset_ids), "reserved_dropped": sorted(job.dropped),
            "seconds": time.perf_counter() - start}


@dataclass
class _Job:
    """State of one import: options, and what was stored, skipped and dropped so far."""

    policy: RetryPolicy
    reserved: ReservedList
    page_size: int
    max_pages: int | None
    dataset_ids: dict[int, int] = field(default_factory=dict)
    dropped: set[str] = field(default_factory=set)
    skipped: dict[str, int] = field(default_factory=dict)
    evaluations: int = 0
    added: int = 0


def _import_function(store: KBStore, openml: Any, job: _Job, function: str, tasks: list[int],
                     flows: list[int]) -> None:
    """List, filter, map and store the evaluations of one measure."""
    evals = list_setup_evaluations(openml, function, tasks, flows, page_size=job.page_size, policy=job.policy,
                                   max_pages=job.max_pages)
    job.evaluations += len(evals)
    pairs = list(zip(evals["data_name"].astype(str), evals["data_id"].astype(int)))
    keep = [not job.reserved.excludes(name, did) for name, did in pairs]
    job.dropped.update(f"{name} ({did})" for (name, did), k in zip(pairs, keep) if not k)
    mapped, skipped = map_evaluations(evals.loc[keep])
    for reason, n in skipped.items():
        job.skipped[reason] = job.skipped.get(reason, 0) + n
    for data_id, name in mapped[["data_id", "data_name"]].drop_duplicates("data_id").itertuples(index=False):
        if int(data_id) not in job.dataset_ids:
            job.dataset_ids[int(data_id)] = _store_dataset(store, openml, int(data_id), str(name), job.policy)
    _store_configs(store, mapped)
    job.added += store.add_runs(_aggregate_runs(mapped, job.dataset_ids, OPENML_METRICS[function]))
