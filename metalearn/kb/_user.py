"""User knowledge base: the user's own finished trials, appended copy-on-write over the shipped KB.

A user KB is a directory like the shipped one: ``manifest.json`` lists the
database with its sha256. Every write is crash-safe and serialised:

1. take the directory's file lock (``.lock``), so concurrent writers queue;
2. copy the current database (on the first write: the base KB's, checked
   against the base's manifest) to a temporary file and append the runs there;
3. flush it and rename it to the next generation name (``kb-000004.sqlite``);
4. replace ``manifest.json`` atomically: this rename is the commit point;
5. delete the older generation.

A process killed at any step leaves the previous whole KB (or none) plus
stray files that the next write or ``metalearn kb repair PATH`` removes.
Runs are stored with ``source="user"`` together with the dataset's
meta-features, so ``KnowledgeBase.open(path)`` and every recommendation made
from it see them. A bare ``.sqlite`` path is still accepted (no manifest;
first write through a temporary file and a rename, later appends as SQLite
transactions).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
from pathlib import Path

import pandas as pd

from metalearn.exceptions import InvalidParameterError, KnowledgeBaseError, KnowledgeBaseIntegrityError
from metalearn.kb._lock import write_lock
from metalearn.kb._publish import load_manifest, verify_manifest, write_manifest
from metalearn.kb._schema import SCHEMA_VERSION, RunRecord, config_row
from metalearn.kb._store import DB_NAME, MANIFEST_NAME, KBStore, default_kb_path, sha256_file
from metalearn.metafeatures import extract_metafeatures
from metalearn.space import family_versions, get_space

logger = logging.getLogger(__name__)

REQUIRED_COLUMNS = ("config", "score", "status")
_GENERATION = re.compile(r"^kb-(\d{6})\.sqlite$")


def is_bare_file(path: str | Path) -> bool:
    """Whether ``path`` names a bare database file rather than a KB directory."""
    return Path(path).suffix in (".sqlite", ".db")


def user_db_path(path: str | Path) -> Path:
    """The database file of a user KB given as a directory or a ``.sqlite`` file (None-free: may not exist yet)."""
    path = Path(path)
    if is_bare_file(path):
        return path
    if (path / MANIFEST_NAME).is_file():
        return path / load_manifest(path).get("database", DB_NAME)
    return path / DB_NAME


def check_user_kb(path: str | Path) -> None:
    """Check, before a search, that ``path`` can take the user's runs; raise a one-line error if not.

    ``path`` may not exist yet (its parent must be writable), or be a user KB
    this metalearn can read and append to.
    """
    path = Path(path)
    if path.exists() and not is_bare_file(path) and not path.is_dir():
        raise InvalidParameterError(f"update_kb={str(path)!r} is a file; give a directory (or a .sqlite file)")
    existing = path if path.exists() else next((p for p in path.parents if p.exists()), Path("."))
    if not os.access(existing if existing.is_dir() else existing.parent, os.W_OK):
        raise KnowledgeBaseError(f"update_kb: {existing} is not writable")
    db = user_db_path(path)
    if path.is_dir() and (path / MANIFEST_NAME).is_file():
        verify_manifest(path)
    if db.exists():
        with KBStore(db, readonly=True) as store:
            store.check_versions(SCHEMA_VERSION, family_versions())


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
        User KB directory (or a bare ``.sqlite`` file); created from ``base`` on first write.
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
    >>> from metalearn.kb import add_runs
    >>> add_runs(clf.history_, dataset, "my_kb", metric="balanced_accuracy")  # doctest: +SKIP
    8
    """
    missing = [c for c in REQUIRED_COLUMNS if c not in history.columns]
    if missing:
        raise InvalidParameterError(f"history lacks column(s) {missing}; pass an estimator's history_")
    if metafeatures is None:
        metafeatures = extract_metafeatures(dataset).values
    rows = _rows(history, dataset, metric, metafeatures, name)
    path = Path(path)
    with write_lock(path):
        added = _append_to_file(path, base, rows) if is_bare_file(path) else _append_to_dir(path, base, rows)
    logger.info("added %d user runs for %s to %s", added, rows["name"], path)
    return added


def _rows(history: pd.DataFrame, dataset, metric: str, metafeatures: dict, name: str | None) -> dict:
    """What one append stores: the dataset row, its configurations and runs (dataset id filled in later)."""
    space = get_space(dataset.task)
    ds_name = name or f"user_{dataset_digest(dataset)}"
    configs, runs = [], []
    for row in history.itertuples(index=False):
        config = space.validate(dict(row.config))
        configs.append(config_row(dataset.task, config))
        cid = configs[-1][0]
        ok = row.status == "ok"
        runs.append(dict(config_id=cid, metric=metric, fold_scores=(),
                         mean_score=float(row.score) if ok else float("nan"), fit_time=0.0,
                         duration=float(getattr(row, "duration", 0.0) or 0.0),
                         status=row.status if row.status in ("ok", "failed", "timeout") else "failed",
                         source="user", error=str(getattr(row, "error", "") or "")))
    return {"name": ds_name, "dataset": dict(name=ds_name, source="user", task=dataset.task, family=ds_name,
                                             n_rows=dataset.n_rows, n_features=dataset.n_features,
                                             n_classes=dataset.n_classes or None),
            "metafeatures": {k: _plain(v) for k, v in metafeatures.items()}, "configs": configs, "runs": runs}


def _store_rows(db: Path, rows: dict) -> int:
    with KBStore(db) as store:
        store.record_family_versions(family_versions())
        did = store.add_dataset(**rows["dataset"])
        store.set_metafeatures(did, rows["metafeatures"])
        store.add_configs(rows["configs"])
        return store.add_runs(RunRecord(dataset_id=did, **r) for r in rows["runs"])


def _append_to_dir(path: Path, base: str | Path | None, rows: dict) -> int:
    """One crash-safe generation step of a user KB directory (the caller holds the lock)."""
    path.mkdir(parents=True, exist_ok=True)
    remove_strays(path)
    current = _current_database(path)
    number = _generation(current.name) + 1 if current is not None else 1
    target = path / f"kb-{number:06d}.sqlite"
    tmp = path / f".{target.name}.{os.getpid()}.tmp"
    if current is not None:
        shutil.copyfile(current, tmp)
    else:
        copy_base(base, tmp)
    added = _store_rows(tmp, rows)
    _fsync(tmp)
    os.replace(tmp, target)
    write_manifest(path, {"user_kb": True}, database=target.name)
    _fsync_dir(path)
    remove_strays(path)
    return added


def _append_to_file(db: Path, base: str | Path | None, rows: dict) -> int:
    """A bare ``.sqlite`` user KB: first write through a temporary file and a rename, then transactions."""
    if not db.exists():
        tmp = db.with_name(f".{db.name}.{os.getpid()}.tmp")
        db.parent.mkdir(parents=True, exist_ok=True)
        copy_base(base, tmp)
        _fsync(tmp)
        os.replace(tmp, db)
    return _store_rows(db, rows)


def _current_database(path: Path) -> Path | None:
    """The database the manifest names (verified), a legacy ``kb.sqlite`` without manifest, or None."""
    if (path / MANIFEST_NAME).is_file():
        manifest = verify_manifest(path)
        return path / manifest.get("database", DB_NAME)
    legacy = path / DB_NAME
    if legacy.is_file():  # a user KB written before user KBs had a manifest: adopted if it is whole
        KBStore(legacy, readonly=True).close()
        return legacy
    return None


def _generation(name: str) -> int:
    match = _GENERATION.match(name)
    return int(match.group(1)) if match else 0


def copy_base(base: str | Path | None, target: Path) -> None:
    """Copy the base KB's database to ``target``, checked against the base's manifest when it has one."""
    source = Path(base) if base is not None else default_kb_path()
    if source.is_dir() and (source / MANIFEST_NAME).is_file():
        manifest = load_manifest(source)
        database = manifest.get("database", DB_NAME)
        shutil.copyfile(source / database, target)
        if sha256_file(target) != manifest["sha256"][database]:
            target.unlink()
            raise KnowledgeBaseIntegrityError(f"{source / database} does not match the checksum in its manifest; "
                                              "the user KB was not created")
        return
    source = source / DB_NAME if source.is_dir() else source
    if source.exists():
        KBStore(source, readonly=True).close()
        shutil.copyfile(source, target)
        logger.info("user knowledge base created from %s", source)
    else:
        logger.warning("no base knowledge base at %s; the user KB starts empty", source)
        KBStore(target, create=True).close()


def remove_strays(path: Path) -> list[Path]:
    """Delete temporary files and the databases a generation manifest no longer names (the lock must be held)."""
    keep = None
    if (path / MANIFEST_NAME).is_file():
        try:
            keep = load_manifest(path).get("database", DB_NAME)
        except KnowledgeBaseIntegrityError:
            return []  # a damaged manifest: leave everything for `metalearn kb repair`
    removed = []
    for file in path.iterdir():
        stale_tmp = file.name.startswith(".") and file.name.endswith(".tmp")
        replaced = file.name != keep and (_GENERATION.match(file.name) or file.name == DB_NAME)  # legacy: adopted
        old_generation = keep is not None and _GENERATION.match(keep) and replaced
        if file.is_file() and (stale_tmp or old_generation):
            file.unlink()
            removed.append(file)
    return removed


def _fsync(file: Path) -> None:
    with open(file, "rb+") as fh:
        os.fsync(fh.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


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
