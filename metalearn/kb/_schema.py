"""Records of the knowledge base and its on-disk format.

On disk a knowledge base is a directory::

    kb.sqlite        tables meta, datasets, configs, runs (see SQL below)
    manifest.json    schema/space/library versions, build protocol, sha256 of every file

The SQLite tables mirror OpenML's task x setup x evaluation shape:

``datasets(id, name, source, openml_id, task, family, n_rows, n_features, n_classes, metafeatures JSON)``
``configs(id, task, family, config JSON, space_version)``
``runs(dataset_id, config_id, metric, fold_scores JSON, mean_score, fit_time, duration, status, error,
source, n_rows_used, library_versions JSON)``
``meta(key, value)`` holds the manifest fields too, so a lone SQLite file still describes itself.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from metalearn.space import canonical_json, family_versions

SCHEMA_VERSION = "1"

RUN_SOURCES = ("local", "openml", "lcdb", "user")
RUN_STATUSES = ("ok", "failed", "timeout")

SQL_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS datasets (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    source TEXT NOT NULL,
    openml_id INTEGER,
    task TEXT NOT NULL,
    family TEXT NOT NULL,
    n_rows INTEGER,
    n_features INTEGER,
    n_classes INTEGER,
    metafeatures TEXT,
    UNIQUE (name, source)
);
CREATE TABLE IF NOT EXISTS configs (
    id TEXT PRIMARY KEY,
    task TEXT NOT NULL,
    family TEXT NOT NULL,
    config TEXT NOT NULL,
    space_version TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
    dataset_id INTEGER NOT NULL REFERENCES datasets(id),
    config_id TEXT NOT NULL REFERENCES configs(id),
    metric TEXT NOT NULL,
    fold_scores TEXT NOT NULL,
    mean_score REAL,
    fit_time REAL,
    duration REAL,
    status TEXT NOT NULL,
    error TEXT,
    source TEXT NOT NULL,
    n_rows_used INTEGER,
    library_versions TEXT,
    PRIMARY KEY (dataset_id, config_id, metric, source)
);
CREATE INDEX IF NOT EXISTS runs_by_config ON runs (config_id);
"""


@dataclass(frozen=True)
class DatasetRecord:
    """A dataset known to the KB, with its meta-features."""

    id: int
    name: str
    source: str
    task: str
    family: str
    openml_id: int | None = None
    n_rows: int | None = None
    n_features: int | None = None
    n_classes: int | None = None
    metafeatures: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ConfigRecord:
    """A pipeline configuration of the search space (``space_version`` at the time it was stored)."""

    id: str
    task: str
    family: str
    config: dict
    space_version: str


@dataclass(frozen=True)
class RunRecord:
    """One evaluation of a configuration on a dataset."""

    dataset_id: int
    config_id: str
    metric: str
    fold_scores: tuple[float, ...]
    mean_score: float
    fit_time: float
    status: str
    source: str
    duration: float = 0.0
    error: str = ""
    n_rows_used: int | None = None
    library_versions: dict = field(default_factory=dict)


def config_key(task: str, config: dict) -> str:
    """Stable id of a configuration: 16 hex digits of the sha256 of task + canonical JSON."""
    return hashlib.sha256(f"{task}|{canonical_json(config)}".encode()).hexdigest()[:16]


def config_row(task: str, config: dict) -> tuple[str, str, str, dict, str]:
    """The ``configs`` row of a configuration: ``(id, task, model family, config, family version)``.

    The last column records the version of the config's model family
    (:attr:`metalearn.space.ModelFamily.version`), so that a change to one
    family invalidates its runs alone.
    """
    return config_key(task, config), task, config["family"], config, family_versions()[config["family"]]


def dumps(obj: object) -> str:
    """JSON text for storage (NaN allowed; keys sorted)."""
    return json.dumps(obj, sort_keys=True)
