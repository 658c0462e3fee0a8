"""The online, read-only view of a knowledge base (``KnowledgeBase.open``)."""

from __future__ import annotations

import json
import logging
import sqlite3
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from metalearn.evaluation import DEFAULT_METRIC
from metalearn.exceptions import InvalidParameterError, KnowledgeBaseError
from metalearn.kb._lock import read_lock
from metalearn.kb._publish import verify_manifest
from metalearn.kb._schema import SCHEMA_VERSION
from metalearn.kb._sources import normalise_name
from metalearn.kb._store import DB_NAME, KBStore, damaged, default_kb_path
from metalearn.kb._user import add_runs
from metalearn.space import family_versions

logger = logging.getLogger(__name__)


#: The shipped knowledge base: package data of ``metalearn`` (``metalearn/kb_data/``), so a wheel carries it.
@dataclass(frozen=True, eq=False)
class KnowledgeBase:
    """Datasets, configurations and runs, loaded into pandas; filtered views are cheap copies.

    Use :meth:`open`. All frames are read once; methods never write (see
    :meth:`add_runs` for the copy-on-write user KB).

    Examples
    --------
    >>> from metalearn.kb import KnowledgeBase
    >>> kb = KnowledgeBase.open()  # doctest: +SKIP
    >>> kb.summary()["n_datasets"]  # doctest: +SKIP
    230
    """

    datasets: pd.DataFrame
    configs: pd.DataFrame
    runs: pd.DataFrame
    meta: dict = field(default_factory=dict)
    path: Path | None = None
    #: The verified manifest of a KB directory (None for a bare file or when opened with ``accept_modified``).
    manifest: dict | None = None

    @classmethod
    def open(cls, path: str | Path | None = None, *, accept_modified: bool = False) -> KnowledgeBase:
        """Open a KB directory (``manifest.json`` + the files it lists) or a bare ``kb.sqlite`` file, read-only.

        Opening never creates or alters anything: the database is opened in
        SQLite's read-only mode, and files that are empty, not SQLite, or
        SQLite without the knowledge-base tables are refused.

        Parameters
        ----------
        path : path, optional
            Defaults to the shipped KB (:func:`default_kb_path`).
        accept_modified : bool
            Open a directory whose files no longer match their manifest's
            checksums. This risks recommendations built on altered or corrupted
            runs; the recommender artifact of such a KB is never read (it is
            refitted). The manifest must still be well-formed and list every file.

        Raises
        ------
        KnowledgeBaseError
            Missing KB; :class:`~metalearn.exceptions.KnowledgeBaseIntegrityError` when a file does not
            match its checksum, is not listed, or is not a knowledge base;
            :class:`~metalearn.exceptions.KnowledgeBaseVersionError` for another schema or search-space version.
        """
        path = Path(path) if path is not None else default_kb_path()
        if not path.exists():
            raise KnowledgeBaseError(
                f"no knowledge base at {path}; build one with scripts/build_knowledge_base.py "
                "or set METALEARN_KB to a KB directory"
            )
        with read_lock(path):
            manifest = None
            if path.is_dir():
                manifest = verify_manifest(path, check_checksums=not accept_modified)
                db = path / manifest.get("database", DB_NAME)
            else:
                db = path
            meta, tables = _read(db)
        return cls(datasets=tables["datasets"], configs=tables["configs"], runs=tables["runs"], meta=meta,
                   path=path, manifest=None if accept_modified else manifest)

    # -- views --------------------------------------------------------------
    def exclude(self, names: list[str] | None = None, families: list[str] | None = None,
                dataset_ids: list[int] | None = None) -> KnowledgeBase:
        """A view without some datasets (by name, family of near-copies, or id) and their runs."""
        drop = np.zeros(len(self.datasets), dtype=bool)
        if names:
            wanted = {normalise_name(n) for n in names}
            drop |= self.datasets["name"].map(normalise_name).isin(wanted).to_numpy()
        if families:
            drop |= self.datasets["family"].isin(families).to_numpy()
        if dataset_ids is not None:
            drop |= self.datasets["id"].isin(dataset_ids).to_numpy()
        kept = self.datasets.loc[~drop]
        return replace(self, datasets=kept.reset_index(drop=True),
                       runs=self.runs.loc[self.runs["dataset_id"].isin(kept["id"])].reset_index(drop=True))

    def for_task(self, task: str) -> KnowledgeBase:
        """A view restricted to one task."""
        ds = self.datasets.loc[self.datasets["task"] == task]
        cf = self.configs.loc[self.configs["task"] == task]
        return replace(self, datasets=ds.reset_index(drop=True), configs=cf.reset_index(drop=True),
                       runs=self.runs.loc[self.runs["dataset_id"].isin(ds["id"])].reset_index(drop=True))

    # -- matrices -----------------------------------------------------------
    def performance(self, task: str, metric: str | None = None, *, min_coverage: float = 0.0) -> pd.DataFrame:
        """Mean CV score matrix: rows dataset ids, columns the task's pool config ids; NaN where failed or missing.

        ``min_coverage`` drops datasets evaluated on fewer than that share of
        the pool (:meth:`pool_config_ids`). Configurations that only the user's
        own searches tried are not columns: they were scored on one dataset
        each, and counting them would make every dataset look sparse.
        """
        metric = metric or DEFAULT_METRIC[task]
        ids = self.datasets.loc[self.datasets["task"] == task, "id"]
        pool = self.pool_config_ids(task)
        runs = self.runs.loc[self.runs["dataset_id"].isin(ids) & (self.runs["metric"] == metric)
                             & self.runs["config_id"].isin(pool)]
        scores = runs["mean_score"].where(runs["status"] == "ok")
        matrix = (runs.assign(score=scores)
                  .pivot_table(index="dataset_id", columns="config_id", values="score", aggfunc="mean",
                               dropna=False))
        matrix = matrix.reindex(columns=[c for c in pool if c in matrix.columns])
        if min_coverage > 0 and len(matrix.columns):
            evaluated = runs.groupby("dataset_id")["config_id"].nunique()
            keep = evaluated.index[evaluated >= min_coverage * len(pool)]
            matrix = matrix.loc[matrix.index.isin(keep)]
        return matrix

    def pool_config_ids(self, task: str) -> list[str]:
        """The task's pool: configurations with runs from the KB's own sources (not only from user searches).

        A KB with no such runs (built from the user's runs alone) counts every configuration.
        """
        task_configs = self.configs.loc[self.configs["task"] == task, "id"]
        shared = set(self.runs.loc[self.runs["source"] != "user", "config_id"])
        pool = [c for c in task_configs if c in shared]
        return pool if pool else list(task_configs)

    def metafeature_matrix(self, task: str | None = None) -> pd.DataFrame:
        """Meta-features: rows dataset ids, columns feature names (NaN where undefined or unknown)."""
        ds = self.datasets if task is None else self.datasets.loc[self.datasets["task"] == task]
        rows = {int(i): (mf if isinstance(mf, dict) else {}) for i, mf in zip(ds["id"], ds["metafeatures"])}
        return pd.DataFrame.from_dict(rows, orient="index").astype(float)

    def config_dict(self, config_id: str) -> dict:
        """The configuration stored under ``config_id``."""
        row = self.configs.loc[self.configs["id"] == config_id]
        if row.empty:
            raise InvalidParameterError(f"no configuration {config_id!r} in this knowledge base")
        return dict(row.iloc[0]["config"])

    def dataset_name(self, dataset_id: int) -> str:
        """Name of a dataset id."""
        row = self.datasets.loc[self.datasets["id"] == dataset_id]
        return str(row.iloc[0]["name"]) if len(row) else f"#{dataset_id}"

    def add_runs(self, history, dataset, path, *, metric: str, metafeatures: dict | None = None,
                 name: str | None = None) -> int:
        """Append an optimisation ``history`` on ``dataset`` to the user KB at ``path`` (copy-on-write).

        The first write copies this KB's file to ``path``; later ones append.
        Open ``path`` to get recommendations that use the new runs. Returns
        the number of runs stored. See :func:`metalearn.kb.add_runs`.
        """
        return add_runs(history, dataset, path, metric=metric, metafeatures=metafeatures, base=self.path, name=name)

    # -- reporting ----------------------------------------------------------
    def summary(self) -> dict:
        """Counts, density, failure share and versions (what ``metalearn kb info`` prints)."""
        per_task = self.configs.groupby("task")["id"].nunique().to_dict()
        ds_per_task = self.datasets.groupby("task")["id"].nunique().to_dict()
        local_ds = self.datasets.loc[self.datasets["source"] == "local"]
        local_per_task = local_ds.groupby("task")["id"].nunique().to_dict()
        cells = sum(local_per_task.get(t, 0) * n for t, n in per_task.items())
        local = self.runs.loc[self.runs["source"] == "local"]
        evaluated = local.drop_duplicates(["dataset_id", "config_id"]).shape[0]
        per_dataset = local.groupby("dataset_id")["config_id"].nunique()
        task_of = self.datasets.set_index("id")["task"]
        complete = {t: int(sum(1 for d, n in per_dataset.items() if task_of.get(d) == t and n >= per_task.get(t, 0)))
                    for t in per_task}
        return {
            "n_datasets": int(len(self.datasets)),
            "n_datasets_per_task": {k: int(v) for k, v in ds_per_task.items()},
            "n_datasets_with_runs": int(self.runs["dataset_id"].nunique()),
            "n_datasets_per_source": {k: int(v) for k, v in self.datasets["source"].value_counts().items()},
            "n_configs_per_task": {k: int(v) for k, v in per_task.items()},
            "n_datasets_fully_evaluated": complete,
            "n_runs": int(len(self.runs)),
            "runs_per_source": {k: int(v) for k, v in self.runs["source"].value_counts().items()},
            "density": float(evaluated / cells) if cells else 0.0,  # of local dataset x pool cells
            "failed_share": float((self.runs["status"] != "ok").mean()) if len(self.runs) else 0.0,
            # summed wall time of the local evaluations (one worker each): the build's cost in core-hours
            "local_evaluation_hours": float(local["duration"].fillna(0).sum() / 3600),
            "schema_version": self.meta.get("schema_version"),
            "space_version": self.meta.get("space_version"),
            "library_versions": self.meta.get("library_versions"),
            "protocol": self.meta.get("protocol"),
            "build_command": self.meta.get("build_command"),
            "reserved_exclusion": self.meta.get("reserved_exclusion"),
            "path": str(self.path) if self.path else None,
        }


def _read(db: Path) -> tuple[dict, dict[str, pd.DataFrame]]:
    """Meta and tables of a database, through a read-only connection; damage becomes an integrity error."""
    with KBStore(db, readonly=True) as store:
        store.check_versions(SCHEMA_VERSION)
        try:
            meta = {k: _decode(v) for k, v in store.meta().items()}
            tables = {t: store.table(t) for t in ("datasets", "configs", "runs")}
            tables["configs"], tables["runs"] = current_runs(tables["configs"], tables["runs"])
        except sqlite3.DatabaseError as exc:
            raise damaged(db, f"cannot be read ({exc})") from None
    return meta, tables


def current_runs(configs: pd.DataFrame, runs: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The configurations (and their runs) recorded at the current version of their model family.

    A run is tied to its configuration's family version alone, so adding a
    family leaves every stored run valid; runs of a family whose version
    changed, or that this metalearn does not know, are left out (logged).
    """
    current = family_versions()
    valid = [current.get(f) == v for f, v in zip(configs["family"], configs["space_version"])]
    stale = configs.loc[[not ok for ok in valid]]
    if len(stale):
        logger.warning("left out %d configurations of unknown or other model-family versions: %s", len(stale),
                       dict(stale.groupby(["family", "space_version"]).size()))
    kept = configs.loc[valid].reset_index(drop=True)
    return kept, runs.loc[runs["config_id"].isin(kept["id"])].reset_index(drop=True)


def _decode(value: str) -> object:
    if value and value[0] in "{[":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value
