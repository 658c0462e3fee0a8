"""User knowledge base: the user's own finished trials, appended copy-on-write over the shipped KB.

The first write copies the base KB's ``kb.sqlite`` to the user path; later
writes append to that copy. Runs are stored with ``source="user"`` together
with the dataset's meta-features, so ``KnowledgeBase.open(user_path)`` and
every recommendation made from it see them.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
from pathlib import Path

import pandas as pd

from metalearn.exceptions import InvalidParameterError, KnowledgeBaseError
from metalearn.kb._schema import RunRecord, config_key
from metalearn.kb._store import DB_NAME, KBStore

logger = logging.getLogger(__name__)

REQUIRED_COLUMNS = ("config", "score", "status")


def user_db_path(path: str | Path) -> Path:
    """The SQLite file of a user KB given as a directory or a ``.sqlite`` file."""
    path = Path(path)
    return path if path.suffix in (".sqlite", ".db") else path / DB_NAME


def _ensure_copy(path: Path, base: str | Path | None) -> None:
    """Copy the base KB's SQLite file to ``path`` unless it exists (copy-on-write)."""
    if path.exists():
        return
    from metalearn.kb._kb import default_kb_path

    source = Path(base) if base is not None else default_kb_path()
    source = source / DB_NAME if source.is_dir() else source
    if source.resolve() == path.resolve():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    if source.exists():
        shutil.copyfile(source, path)
        logger.info("user knowledge base created at %s (copy of %s)", path, source)
    else:
        logger.warning("no base knowledge base at %s; the user KB at %s starts empty", source, path)
        KBStore(path, create=True).close()


def add_runs(history: pd.DataFrame, dataset, path: str | Path, *, metric: str, metafeatures: dict | None = None,
             base: str | Path | None = None, name: str | None = None) -> int:
    """Append a search's finished trials on ``dataset`` to the user KB at ``path``.

    Parameters
    ----------
    history : DataFrame
        ``history_`` of an estimator or :attr:`OptimizationResult.history`
        (columns ``config``, ``score``, ``status``; ``duration`` optional).
    dataset : Dataset
        The data the trials ran on (name, task, size; a content hash
        identifies it so repeated fits on the same data share one row).
    path : path
        User KB directory or ``.sqlite`` file; created from ``base`` on first write.
    metric : str
        Metric of the scores.
    metafeatures : dict, optional
        Meta-features of ``dataset`` (computed here when None).
    base : path, optional
        KB to copy on first write (default: the shipped one).
    name : str, optional
        Dataset name in the KB (default: ``user_<hash>``).

    Returns
    -------
    int
        Runs added (runs already stored for the same dataset and configuration are kept).

    Examples
    --------
    >>> from metalearn.kb._user import add_runs
    >>> add_runs(clf.history_, dataset, "my_kb", metric="balanced_accuracy")  # doctest: +SKIP
    8
    """
    from metalearn.space import SPACE_VERSION, get_space

    missing = [c for c in REQUIRED_COLUMNS if c not in history.columns]
    if missing:
        raise InvalidParameterError(f"history lacks column(s) {missing}; pass an estimator's history_")
    db = user_db_path(path)
    _ensure_copy(db, base)
    if metafeatures is None:
        from metalearn.metafeatures import extract_metafeatures

        metafeatures = extract_metafeatures(dataset).values
    space = get_space(dataset.task)
    digest = dataset_digest(dataset)
    ds_name = name or f"user_{digest}"
    with KBStore(db) as store:
        stored_space = store.get_meta("space_version")
        if stored_space is not None and stored_space != SPACE_VERSION:
            raise KnowledgeBaseError(f"{db} holds search-space version {stored_space}, not {SPACE_VERSION}")
        did = store.add_dataset(name=ds_name, source="user", task=dataset.task, family=ds_name,
                                n_rows=dataset.n_rows, n_features=dataset.n_features,
                                n_classes=dataset.n_classes or None)
        store.set_metafeatures(did, {k: _plain(v) for k, v in metafeatures.items()})
        configs, runs = [], []
        for row in history.itertuples(index=False):
            config = space.validate(dict(row.config))
            cid = config_key(dataset.task, config)
            configs.append((cid, dataset.task, config["family"], config, SPACE_VERSION))
            ok = row.status == "ok"
            runs.append(RunRecord(dataset_id=did, config_id=cid, metric=metric, fold_scores=(),
                                  mean_score=float(row.score) if ok else float("nan"),
                                  fit_time=0.0, duration=float(getattr(row, "duration", 0.0) or 0.0),
                                  status=row.status if row.status in ("ok", "failed", "timeout") else "failed",
                                  source="user", error=str(getattr(row, "error", "") or "")))
        store.add_configs(configs)
        added = store.add_runs(runs)
    logger.info("added %d user runs for %s to %s", added, ds_name, db)
    return added


def dataset_digest(dataset) -> str:
    """12 hex digits identifying a dataset's content (features, target, task)."""
    h = hashlib.sha256(dataset.task.encode())
    h.update(pd.util.hash_pandas_object(dataset.X, index=False).to_numpy().tobytes())
    h.update(pd.util.hash_pandas_object(pd.Series(dataset.y), index=False).to_numpy().tobytes())
    return h.hexdigest()[:12]


def _plain(value) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if out == out else None
