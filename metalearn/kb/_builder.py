"""Offline builder: evaluate a candidate pool densely on datasets and store the runs.

Resumable (pairs already stored are skipped; each finished chunk is committed
at once), parallel with joblib or Dask distributed, deterministic: the same
protocol gives the same scores serially and in parallel.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import sys
import sysconfig
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy
import pandas
import sklearn
from joblib import Parallel, delayed
from tqdm.auto import tqdm

from metalearn._version import __version__
from metalearn.data import load_dataset
from metalearn.evaluation import DEFAULT_METRIC, evaluate
from metalearn.exceptions import KnowledgeBaseError, MetaLearnError
from metalearn.kb._schema import RunRecord, config_row, dumps
from metalearn.kb._sources import (
    LEGACY_POOL_SIZE,
    PER_NEW_FAMILY,
    DatasetSpec,
    ReservedList,
    candidate_pool,
    chunked,
    dataset_family,
    size_order,
)
from metalearn.kb._store import KBStore
from metalearn.metafeatures import extract_metafeatures
from metalearn.space import family_versions, get_space
from metalearn.utils import import_optional

logger = logging.getLogger(__name__)

LIBRARY_VERSIONS = {"metalearn": __version__, "scikit-learn": sklearn.__version__,
                    "numpy": numpy.__version__, "pandas": pandas.__version__}


@dataclass(frozen=True)
class Protocol:
    """How every run of a build is measured (recorded in the KB manifest).

    Attributes
    ----------
    cv : int
        Stratified (classification) / plain K-fold, shuffled with ``random_state``.
    max_rows : int
        Datasets are subsampled (stratified) to this many rows before CV.
    time_limit : float
        Seconds per evaluation (all folds); slower configs are recorded as ``timeout``.
    memory_limit_mb : int
        Address-space cap of the evaluation process.
    random_state : int
        Seed of folds, subsample and models.
    n_threads : int
        BLAS/OpenMP threads per evaluation.
    """

    cv: int = 3
    max_rows: int = 2000
    time_limit: float = 60.0
    memory_limit_mb: int = 6144
    random_state: int = 0
    n_threads: int = 1

    def metric(self, task: str) -> str:
        """The metric runs of ``task`` are stored with (the task's default)."""
        return DEFAULT_METRIC[task]


def evaluate_chunk(spec: DatasetSpec, configs: list[tuple[str, dict]], protocol: Protocol,
                   dataset_id: int = 0, sink: str | None = None, stop_if_orphaned: bool = False) -> list[RunRecord]:
    """Load ``spec`` once and evaluate each ``(config_id, config)`` on it (runs in a worker).

    With ``sink`` (the build's SQLite path, on a machine that shares it) each
    run is committed there as soon as it finishes, so an interrupted build
    loses at most the evaluation in progress per worker. With
    ``stop_if_orphaned`` a worker whose parent build died (even by SIGKILL)
    does not run on: it stops before its next evaluation, and its watchdog
    (:func:`_watch_parent`) ends the process within a second even while it
    is idle or mid-evaluation.
    """
    parent = os.getppid()
    if stop_if_orphaned:
        _watch_parent(parent)
    import multiprocessing

    if multiprocessing.current_process().daemon:
        raise KnowledgeBaseError(
            "evaluations need to start child processes, which a daemonic worker cannot: start Dask workers "
            "with DASK_DISTRIBUTED__WORKER__DAEMON=False (dask worker --no-nanny also works)"
        )
    metric = protocol.metric(spec.task)
    try:
        data = load_dataset(spec.uri, task=spec.task).subsample(protocol.max_rows, protocol.random_state)
    except MetaLearnError as exc:
        runs = [RunRecord(dataset_id, cid, metric, (), float("nan"), 0.0, "failed", "local", error=f"load: {exc}",
                          library_versions=LIBRARY_VERSIONS) for cid, _ in configs]
        _commit(sink, runs)
        return runs
    runs = []
    for cid, config in configs:
        if stop_if_orphaned and os.getppid() != parent:
            logger.warning("the build that started this worker is gone; stopping after %d evaluations", len(runs))
            break
        res = evaluate(config, data, cv=protocol.cv, time_limit=protocol.time_limit,
                       memory_limit_mb=protocol.memory_limit_mb, random_state=protocol.random_state,
                       max_rows=None, isolation="process", n_threads=protocol.n_threads)
        runs.append(RunRecord(dataset_id, cid, metric, res.fold_scores, res.mean_score, res.fit_time, res.status,
                              "local", duration=res.duration, error=portable(res.error)[:2000], n_rows_used=res.n_rows,
                              library_versions=LIBRARY_VERSIONS))
        _commit(sink, runs[-1:])
    return runs


_WATCHDOG = "metalearn-orphan-watchdog"


def _watch_parent(parent: int, interval: float = 1.0) -> None:
    """Start (once per worker process) a daemon thread that ends the process when ``parent`` is gone.

    A pooled worker that sits idle between chunks never reaches the check in
    :func:`evaluate_chunk`'s loop, so without this it would outlive a build
    killed by SIGKILL until the pool's own idle timeout. Runs already committed
    to the sink are kept; the evaluation in progress, if any, is redone on resume.
    """
    if any(t.name == _WATCHDOG for t in threading.enumerate()):
        return

    def watch():
        while os.getppid() == parent:
            time.sleep(interval)
        logger.warning("the build that started this worker is gone; exiting")
        os._exit(0)

    threading.Thread(target=watch, name=_WATCHDOG, daemon=True).start()


def portable(text: str) -> str:
    """An error text without this machine's paths (the environment's and the working directory's)."""
    for prefix, name in ((sysconfig.get_paths()["purelib"], "<site-packages>"), (sys.prefix, "<env>"),
                         (os.getcwd(), "<cwd>")):
        text = text.replace(prefix, name)
    return text


def _commit(sink: str | None, runs: list[RunRecord]) -> None:
    """Store ``runs`` in the build at ``sink`` at once (nothing without a sink)."""
    if sink is not None:
        with KBStore(sink) as store:
            store.add_runs(runs)


def _prepare_store(store: KBStore, protocol: Protocol, reserved: ReservedList, command: str) -> None:
    store.record_family_versions(family_versions())
    stored = store.get_meta("protocol")
    if stored is not None and stored != _json(asdict(protocol)):
        raise KnowledgeBaseError(
            f"{store.path} was built with protocol {stored}; resuming with a different protocol "
            f"({_json(asdict(protocol))}) would mix incomparable runs: use another --output or the same options"
        )
    store.set_meta({
        "protocol": asdict(protocol), "library_versions": LIBRARY_VERSIONS,
        "reserved_exclusion": {"applied": True, "file": reserved.path, "n_names": len(reserved.names),
                               "n_openml_ids": len(reserved.openml_ids)},
        "build_command": command,
    })


def tidy(store: KBStore, reserved: ReservedList) -> dict:
    """Bring a built KB in line with the current reserved list and family patterns.

    Drops every dataset the reserved list excludes (by id, name or a
    same-data alias, see :class:`ReservedList`) with its runs, and re-derives
    each stored family with :func:`dataset_family`. Families are recorded
    at build time, so a KB built before a pattern was added keeps the old
    ones until tidied.

    Returns
    -------
    dict
        ``{"reserved_dropped": [names], "families_changed": {name: [old, new]}}``.
    """
    frame = store.table("datasets")
    reserved_rows = frame.loc[[reserved.excludes(str(n), None if pandas.isna(o) else int(o))
                               for n, o in zip(frame["name"], frame["openml_id"])]]
    store.drop_datasets(reserved_rows["id"])
    kept = frame.loc[~frame["id"].isin(reserved_rows["id"])]
    new = {int(i): dataset_family(str(n)) for i, n in zip(kept["id"], kept["name"])}
    changed = {str(n): [str(f), new[int(i)]] for i, n, f in zip(kept["id"], kept["name"], kept["family"])
               if new[int(i)] != f}
    store.set_families({i: new[i] for i in new})
    earlier = json.loads(store.get_meta("reserved_dropped") or "[]")
    store.set_meta({"reserved_dropped": sorted(set(earlier) | set(map(str, reserved_rows["name"])))})
    if len(reserved_rows):
        logger.info("dropped reserved datasets: %s", ", ".join(map(str, reserved_rows["name"])))
    return {"reserved_dropped": sorted(map(str, reserved_rows["name"])), "families_changed": changed}


def _json(obj: object) -> str:
    return dumps(obj)


def register_pool(store: KBStore, task: str, size: int = LEGACY_POOL_SIZE, random_state: int = 0, *,
                  per_family: int = PER_NEW_FAMILY) -> list[tuple[str, dict]]:
    """Store the candidate pool of ``task`` (:func:`candidate_pool`) and return ``(config_id, config)`` pairs."""
    rows = [config_row(task, c) for c in candidate_pool(task, size, random_state, per_family=per_family)]
    store.add_configs(rows)
    return [(cid, config) for cid, _, _, config, _ in rows]


def plan_work(store: KBStore, specs: list[DatasetSpec], pools: dict[str, list[tuple[str, dict]]],
              protocol: Protocol, chunk_size: int,
              defaults_first: bool = True) -> list[tuple[int, DatasetSpec, list[tuple[str, dict]]]]:
    """Chunks of (dataset id, spec, configs) still to evaluate, cheap datasets first.

    With ``defaults_first`` every model family's default is evaluated on all
    datasets before the rest of the pool.
    """
    first, rest = [], []
    done = {task: store.done_pairs(protocol.metric(task), "local") for task in pools}
    defaults = {task: {config_row(task, c)[0] for c in get_space(task).defaults()} for task in pools}
    for spec in size_order(specs):
        did = store.add_dataset(name=spec.name, source="local", task=spec.task, family=spec.family,
                                openml_id=spec.openml_id, n_rows=spec.n_rows, n_features=spec.n_features,
                                n_classes=spec.n_classes)
        pool = pools[spec.task]
        is_default = [defaults_first and cid in defaults[spec.task] for cid, _ in pool]  # ids as stored
        head = [p for p, d in zip(pool, is_default) if d]
        tail = [p for p, d in zip(pool, is_default) if not d]
        for part, target in ((head, first), (tail, rest)):
            pending = [(cid, c) for cid, c in part if (did, cid) not in done[spec.task]]
            target.extend((did, spec, chunk) for chunk in chunked(pending, chunk_size))
    return first + rest


def compute_metafeatures(store: KBStore, specs: list[DatasetSpec], *, random_state: int = 0,
                         progress: bool = True) -> int:
    """Extract and store meta-features of every spec's dataset that has none yet; returns how many.

    Meta-features describe the full dataset (not the evaluation subsample).
    """
    have = {(n, s) for n, s, mf in store.conn.execute("SELECT name, source, metafeatures FROM datasets")
            if mf is not None}
    todo = [s for s in specs if (s.name, "local") not in have]
    for spec in tqdm(todo, desc="meta-features", unit="dataset", disable=not progress):
        did = store.add_dataset(name=spec.name, source="local", task=spec.task, family=spec.family,
                                openml_id=spec.openml_id, n_rows=spec.n_rows, n_features=spec.n_features,
                                n_classes=spec.n_classes)
        try:
            values = extract_metafeatures(load_dataset(spec.uri, task=spec.task), random_state=random_state).values
        except MetaLearnError as exc:
            logger.warning("meta-features of %s failed: %s", spec.name, exc)
            continue
        store.set_metafeatures(did, {k: (None if v != v else float(v)) for k, v in values.items()})
    return len(todo)


def _execute(work: list, protocol: Protocol, n_jobs: int, scheduler: str | None,
             dask_local: int | None, sink: str) -> Iterator[list[RunRecord]]:
    """Yield each chunk's runs as it finishes, serially, with joblib, or on Dask.

    Local workers commit every run to ``sink`` as it finishes; Dask workers
    (possibly on other machines) return their runs for the caller to store.
    """
    if scheduler or dask_local:
        yield from _execute_dask(work, protocol, scheduler, dask_local)
        return
    if n_jobs == 1:
        for did, spec, chunk in work:
            yield evaluate_chunk(spec, chunk, protocol, did, sink)
        return
    parallel = Parallel(n_jobs=n_jobs, return_as="generator_unordered")
    with _terminate_as_interrupt():  # SIGTERM shuts the workers down as Ctrl-C does
        yield from parallel(delayed(evaluate_chunk)(spec, chunk, protocol, did, sink, stop_if_orphaned=True)
                            for did, spec, chunk in work)


@contextlib.contextmanager
def _terminate_as_interrupt():
    """Turn SIGTERM into KeyboardInterrupt in the main thread, so an interrupted parallel build closes its
    workers (joblib terminates them when the result generator is abandoned) instead of leaving them running."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _execute_dask(work: list, protocol: Protocol, scheduler: str | None,
                  dask_local: int | None) -> Iterator[list[RunRecord]]:
    distributed = import_optional("dask.distributed", extra="distributed")
    import dask

    cluster = None
    if scheduler:
        client = distributed.Client(scheduler)
    else:
        # evaluations run in child processes, which daemonic worker processes may not start
        with dask.config.set({"distributed.worker.daemon": False}):
            cluster = distributed.LocalCluster(n_workers=dask_local, threads_per_worker=1, processes=True,
                                               dashboard_address=None)
        client = distributed.Client(cluster)
    try:
        futures = [client.submit(evaluate_chunk, spec, chunk, protocol, did, pure=False)
                   for did, spec, chunk in work]
        for future in distributed.as_completed(futures):
            yield future.result()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def build_local(output: str | Path, specs: list[DatasetSpec], *, pool_size: int = LEGACY_POOL_SIZE,
                per_family: int = PER_NEW_FAMILY,
                protocol: Protocol | None = None, reserved: ReservedList | None = None, n_jobs: int = 1,
                scheduler: str | None = None, dask_local: int | None = None, chunk_size: int = 10,
                progress: bool = True, command: str = "",
                on_chunk: Callable[[int], None] | None = None) -> dict:
    """Evaluate the candidate pool on every spec and store the runs in ``output`` (a ``kb.sqlite`` path).

    Parameters
    ----------
    output : path
        SQLite file to create or resume.
    specs : list of DatasetSpec
        Datasets to evaluate; reserved ones are dropped.
    pool_size, per_family : int
        The candidate pool of each task (see :func:`candidate_pool`).
    protocol : Protocol
        Evaluation protocol (must match the stored one when resuming).
    reserved : ReservedList
        Datasets that must never enter the KB.
    n_jobs : int
        Local worker processes (joblib).
    scheduler, dask_local : str, int
        Run on a Dask scheduler address, or on a local Dask cluster of that many workers.
    chunk_size : int
        Configurations evaluated per task sent to a worker (the most a kill can lose per worker).
    progress : bool
        Show a progress bar with ETA.
    command : str
        The command line, recorded in the manifest.
    on_chunk : callable, optional
        Called with the number of runs stored after each chunk (tests use it to interrupt a build).

    Returns
    -------
    dict
        ``{"added": runs stored now, "skipped_reserved": [...], "seconds": wall time}``.
    """
    protocol = protocol or Protocol()
    reserved = reserved or ReservedList(frozenset(), frozenset())
    kept = [s for s in specs if not reserved.excludes(s.name, s.openml_id)]
    dropped = sorted(s.name for s in specs if reserved.excludes(s.name, s.openml_id))
    start = time.perf_counter()
    with KBStore(output, create=True) as store:
        _prepare_store(store, protocol, reserved, command)
        if dropped:
            logger.info("dropped %d reserved dataset(s): %s", len(dropped), ", ".join(dropped))
        store.set_meta({"reserved_dropped": dropped})
        tasks = sorted({s.task for s in kept})
        pools = {task: register_pool(store, task, pool_size, per_family=per_family) for task in tasks}
        store.set_meta({"pool_size": {t: len(p) for t, p in pools.items()}})
        compute_metafeatures(store, kept, random_state=protocol.random_state, progress=progress)
        work = plan_work(store, kept, pools, protocol, chunk_size)
        total = sum(len(chunk) for _, _, chunk in work)
        added = 0
        with tqdm(total=total, desc="KB runs", unit="run", disable=not progress, smoothing=0.05) as bar:
            for runs in _execute(work, protocol, n_jobs, scheduler, dask_local, str(output)):
                store.add_runs(runs)  # local workers stored them already; Dask workers could not
                added += len(runs)
                bar.update(len(runs))
                if on_chunk is not None:
                    on_chunk(added)
    return {"added": added, "skipped_reserved": dropped, "seconds": time.perf_counter() - start}
