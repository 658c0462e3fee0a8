"""Knowledge base: schema, SQLite store, offline builders and the online reader."""

from metalearn.kb._builder import Protocol, build_local, evaluate_chunk
from metalearn.kb._kb import KnowledgeBase, default_kb_path
from metalearn.kb._publish import snapshot, verify_manifest, write_manifest
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
    "KnowledgeBase",
    "Protocol",
    "ReservedList",
    "RunRecord",
    "SCHEMA_VERSION",
    "build_local",
    "candidate_pool",
    "config_key",
    "dataset_family",
    "default_kb_path",
    "evaluate_chunk",
    "pmlb_specs",
    "snapshot",
    "verify_manifest",
    "write_manifest",
]
