"""SQLite storage of the knowledge base (stdlib ``sqlite3``), written transactionally."""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from metalearn.exceptions import KnowledgeBaseError, KnowledgeBaseIntegrityError, KnowledgeBaseVersionError
from metalearn.kb._schema import SCHEMA_VERSION, SQL_SCHEMA, RunRecord, dumps
from metalearn.space import SPACE_VERSION, stored_family_versions

logger = logging.getLogger(__name__)

DB_NAME = "kb.sqlite"
MANIFEST_NAME = "manifest.json"


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class KBStore:
    """Low-level access to one ``kb.sqlite`` file.

    Every write method commits, so an interrupted build keeps all finished
    evaluations. Use :class:`metalearn.kb.KnowledgeBase` for reading.
    """

    def __init__(self, path: str | Path, *, create: bool = False) -> None:
        self.path = Path(path)
        if not create and not self.path.exists():
            raise KnowledgeBaseError(f"no knowledge base at {self.path}")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.conn = sqlite3.connect(str(self.path), timeout=60)
            self.conn.executescript(SQL_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise KnowledgeBaseIntegrityError(f"{self.path} is not a readable knowledge base: {exc}") from None
        if create and self.get_meta("schema_version") is None:
            self.set_meta({"schema_version": SCHEMA_VERSION,
                           "created": datetime.now(timezone.utc).isoformat(timespec="seconds")})

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()

    def __enter__(self) -> KBStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- meta -------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        """Value of a meta key (None when absent)."""
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def meta(self) -> dict[str, str]:
        """All meta keys."""
        return dict(self.conn.execute("SELECT key, value FROM meta").fetchall())

    def set_meta(self, values: dict[str, object]) -> None:
        """Insert or replace meta keys (non-strings stored as JSON)."""
        with self.conn:
            self.conn.executemany(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                [(k, v if isinstance(v, str) else dumps(v)) for k, v in values.items()],
            )

    def check_versions(self, schema_version: str, family_versions: dict[str, str] | None = None) -> None:
        """Refuse a KB of another schema version, or (given ``family_versions``) one whose runs were made
        with another version of a model family that both know (a build must not mix them).

        Families only one side knows are fine: adding a family leaves stored runs valid.
        """
        found = self.get_meta("schema_version")
        if found != schema_version:
            raise KnowledgeBaseVersionError(
                f"{self.path} has schema version {found!r}, this metalearn reads {schema_version!r}; "
                "rebuild it with scripts/build_knowledge_base.py"
            )
        if family_versions is None:
            return
        stored = self.family_versions()
        clash = {f: (v, family_versions[f]) for f, v in stored.items() if f in family_versions
                 and family_versions[f] != v}
        if clash:
            raise KnowledgeBaseVersionError(
                f"{self.path} holds runs of other model-family versions than this metalearn's "
                f"(family: (stored, current)) {clash}; build into a new file"
            )

    def record_family_versions(self, current: dict[str, str]) -> None:
        """Check that runs of the ``current`` family versions may join this KB, and record them."""
        self.check_versions(SCHEMA_VERSION, current)
        self.set_meta({"family_versions": {**self.family_versions(), **current}, "space_version": SPACE_VERSION})

    def family_versions(self) -> dict[str, str]:
        """The model-family versions of the stored runs (see :func:`metalearn.space.stored_family_versions`)."""
        recorded = self.get_meta("family_versions")
        return stored_family_versions(self.get_meta("space_version"), json.loads(recorded) if recorded else None)

    # -- writes -----------------------------------------------------------
    def add_dataset(self, *, name: str, source: str, task: str, family: str, openml_id: int | None = None,
                    n_rows: int | None = None, n_features: int | None = None, n_classes: int | None = None,
                    metafeatures: dict | None = None) -> int:
        """Insert a dataset if new; return its id."""
        with self.conn:
            self.conn.execute(
                "INSERT OR IGNORE INTO datasets (name, source, openml_id, task, family, n_rows, n_features, "
                "n_classes, metafeatures) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (name, source, openml_id, task, family, n_rows, n_features, n_classes,
                 None if metafeatures is None else dumps(metafeatures)),
            )
        row = self.conn.execute("SELECT id FROM datasets WHERE name = ? AND source = ?", (name, source)).fetchone()
        return int(row[0])

    def set_metafeatures(self, dataset_id: int, values: dict[str, float]) -> None:
        """Store (replace) the meta-features of a dataset."""
        with self.conn:
            self.conn.execute("UPDATE datasets SET metafeatures = ? WHERE id = ?", (dumps(values), dataset_id))

    def add_configs(self, rows: Iterable[tuple[str, str, str, dict, str]]) -> None:
        """Insert configurations ``(id, task, family, config, space_version)``; existing ids are kept."""
        with self.conn:
            self.conn.executemany(
                "INSERT OR IGNORE INTO configs (id, task, family, config, space_version) VALUES (?, ?, ?, ?, ?)",
                [(i, t, f, dumps(c), v) for i, t, f, c, v in rows],
            )

    def add_runs(self, runs: Iterable[RunRecord]) -> int:
        """Insert runs in one transaction; a run already stored for the same key is kept. Returns rows added."""
        rows = [
            (r.dataset_id, r.config_id, r.metric, dumps(list(r.fold_scores)), r.mean_score, r.fit_time,
             r.duration, r.status, r.error, r.source, r.n_rows_used, dumps(r.library_versions))
            for r in runs
        ]
        with self.conn:
            before = self.conn.total_changes
            self.conn.executemany(
                "INSERT OR IGNORE INTO runs (dataset_id, config_id, metric, fold_scores, mean_score, fit_time, "
                "duration, status, error, source, n_rows_used, library_versions) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            return self.conn.total_changes - before

    def drop_datasets(self, dataset_ids: Iterable[int]) -> int:
        """Delete datasets and all their runs in one transaction; returns the datasets deleted."""
        ids = [(int(i),) for i in dataset_ids]
        with self.conn:
            self.conn.executemany("DELETE FROM runs WHERE dataset_id = ?", ids)
            before = self.conn.total_changes
            self.conn.executemany("DELETE FROM datasets WHERE id = ?", ids)
            return self.conn.total_changes - before

    def set_families(self, families: dict[int, str]) -> None:
        """Replace the stored family of each dataset id in ``families``."""
        with self.conn:
            self.conn.executemany("UPDATE datasets SET family = ? WHERE id = ?",
                                  [(f, int(i)) for i, f in families.items()])

    # -- reads ------------------------------------------------------------
    def done_pairs(self, metric: str, source: str) -> set[tuple[int, str]]:
        """(dataset_id, config_id) pairs already evaluated for ``metric`` from ``source``."""
        cur = self.conn.execute("SELECT dataset_id, config_id FROM runs WHERE metric = ? AND source = ?",
                                (metric, source))
        return {(int(d), str(c)) for d, c in cur.fetchall()}

    def table(self, name: str) -> pd.DataFrame:
        """A whole table as a DataFrame (JSON columns decoded)."""
        if name not in ("datasets", "configs", "runs", "meta"):
            raise KnowledgeBaseError(f"unknown table {name!r}")
        frame = pd.read_sql_query(f"SELECT * FROM {name}", self.conn)  # noqa: S608 - name checked above
        for col in ("metafeatures", "config", "fold_scores", "library_versions"):
            if col in frame.columns:
                frame[col] = decode_json_column(frame[col].tolist())
        return frame

    def vacuum(self) -> None:
        """Compact the file and leave it in rollback-journal mode (one file, safe to copy)."""
        self.conn.execute("PRAGMA journal_mode=DELETE")
        self.conn.execute("VACUUM")


def decode_json_column(values: list) -> list:
    """Decode a column of JSON texts (None stays None) with one parser call instead of one per row.

    Opening the KB decodes ~50,000 small JSON values; joining them into one
    array and parsing once is several times faster than ``json.loads`` per row.
    """
    if not all(v is None or isinstance(v, str) for v in values):
        raise KnowledgeBaseError("a JSON column holds a value that is neither text nor NULL")
    decoded = json.loads("[" + ",".join("null" if v is None else v for v in values) + "]")
    if len(decoded) != len(values):  # a malformed value such as '1, 2' would shift every later row
        raise KnowledgeBaseError(f"a JSON column of {len(values)} rows decoded to {len(decoded)} values: "
                                 "a stored value is not a single JSON value")
    return decoded
