"""SQLite storage of the knowledge base (stdlib ``sqlite3``), written transactionally."""

from __future__ import annotations

import hashlib
import json
import logging
import os
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
#: The recommender artifact's files in a KB directory (written by ``metalearn.recommend``; JSON + arrays).
ARTIFACT_FILES = ("recommender.json", "recommender.npz")
SHIPPED_KB = Path(__file__).resolve().parents[1] / "kb_data"
#: Tables and the columns every reader relies on; a file lacking one is not a knowledge base.
REQUIRED_COLUMNS = {
    "meta": ("key", "value"),
    "datasets": ("id", "name", "source", "task", "family", "metafeatures"),
    "configs": ("id", "task", "family", "config", "space_version"),
    "runs": ("dataset_id", "config_id", "metric", "fold_scores", "mean_score", "status", "source"),
}
_SQLITE_HEADER = b"SQLite format 3\x00"


def default_kb_path() -> Path:
    """Where the shipped KB lives: ``$METALEARN_KB`` or the package's ``metalearn/kb_data/``."""
    env = os.environ.get("METALEARN_KB")
    if env:
        return Path(env)
    return SHIPPED_KB


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def damaged(path: Path, why: str) -> KnowledgeBaseIntegrityError:
    """The error for a file that is incomplete or damaged, with the way out."""
    return KnowledgeBaseIntegrityError(
        f"{path} {why} (an interrupted write?): delete it or run `metalearn kb repair {path}`")


def check_sqlite_file(path: Path) -> None:
    """Refuse an empty or non-SQLite file before SQLite sees it (it would otherwise turn it into a database)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(len(_SQLITE_HEADER))
    except OSError as exc:
        raise KnowledgeBaseError(f"cannot read {path}: {exc}") from None
    if not head:
        raise damaged(path, "is empty, not a knowledge base")
    if head != _SQLITE_HEADER:
        raise damaged(path, "is not a SQLite file, so not a knowledge base")


def check_tables(conn: sqlite3.Connection, path: Path) -> None:
    """Refuse a SQLite file without the knowledge-base tables (a foreign database, or a dropped table)."""
    try:
        for table, columns in REQUIRED_COLUMNS.items():
            found = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}  # noqa: S608 - fixed names
            if not found:
                raise KnowledgeBaseIntegrityError(
                    f"{path} is a SQLite file but not a metalearn knowledge base (no {table!r} table); "
                    "pass a KB directory or kb.sqlite written by metalearn")
            lacking = [c for c in columns if c not in found]
            if lacking:
                raise KnowledgeBaseIntegrityError(f"{path}: table {table!r} lacks column(s) {lacking}; "
                                                  "it is not a knowledge base this metalearn can read")
    except sqlite3.DatabaseError as exc:
        raise damaged(path, f"cannot be read ({exc})") from None


def _no_tables(conn: sqlite3.Connection) -> bool:
    return conn.execute("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0] == 0


class KBStore:
    """Low-level access to one ``kb.sqlite`` file.

    Every write method commits, so an interrupted build keeps all finished
    evaluations. Use :class:`metalearn.kb.KnowledgeBase` for reading.

    Parameters
    ----------
    path : path
    create : bool
        Create the file and its tables when it does not exist. An existing
        file must already be a knowledge base: a foreign or empty file is
        refused, never converted.
    readonly : bool
        Open through SQLite's read-only mode: nothing is created or altered.
    """

    def __init__(self, path: str | Path, *, create: bool = False, readonly: bool = False) -> None:
        self.path = Path(path)
        exists = self.path.exists()
        if not exists and (readonly or not create):
            raise KnowledgeBaseError(f"no knowledge base at {self.path}")
        if exists:
            check_sqlite_file(self.path)
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            if readonly:
                self.conn = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True, timeout=60)
            else:
                self.conn = sqlite3.connect(str(self.path), timeout=60)
            fresh = not exists or (create and not readonly and _no_tables(self.conn))
            if not fresh:
                check_tables(self.conn, self.path)
            if not readonly:  # idempotent: creates what is missing (an index), alters nothing that exists
                self.conn.executescript(SQL_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise damaged(self.path, f"is not a readable knowledge base ({exc})") from None
        if create and not readonly and self.get_meta("schema_version") is None:
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
        try:
            frame = pd.read_sql_query(f"SELECT * FROM {name}", self.conn)  # noqa: S608 - name checked above
        except (sqlite3.DatabaseError, pd.errors.DatabaseError) as exc:
            raise damaged(self.path, f"cannot be read ({exc})") from None
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
    try:
        decoded = json.loads("[" + ",".join("null" if v is None else v for v in values) + "]")
    except json.JSONDecodeError as exc:
        raise KnowledgeBaseIntegrityError(f"a JSON column holds a value that is not JSON ({exc})") from None
    if len(decoded) != len(values):  # a malformed value such as '1, 2' would shift every later row
        raise KnowledgeBaseError(f"a JSON column of {len(values)} rows decoded to {len(decoded)} values: "
                                 "a stored value is not a single JSON value")
    return decoded
