"""Knowledge base: schema, SQLite store, offline builders and the online reader."""

from metalearn.kb._builder import Protocol, build_local, evaluate_chunk
from metalearn.kb._schema import SCHEMA_VERSION, ConfigRecord, DatasetRecord, RunRecord, config_key
from metalearn.kb._sources import (
    DatasetSpec,
    ReservedList,
    candidate_pool,
    dataset_family,
    pmlb_specs,
)
from metalearn.kb._store import KBStore

__all__ = [
    "ConfigRecord",
    "DatasetRecord",
    "DatasetSpec",
    "KBStore",
    "Protocol",
    "ReservedList",
    "RunRecord",
    "SCHEMA_VERSION",
    "build_local",
    "candidate_pool",
    "config_key",
    "dataset_family",
    "evaluate_chunk",
    "pmlb_specs",
]
