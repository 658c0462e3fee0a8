"""Knowledge base: schema, SQLite store, offline builders and the online reader."""

from metalearn.kb._builder import Protocol, build_local, evaluate_chunk, tidy
from metalearn.kb._kb import KnowledgeBase
from metalearn.kb._lcdb import LCDB_LEARNERS, import_lcdb
from metalearn.kb._openml_mapping import map_setup
from metalearn.kb._openml_source import OPENML_METRICS, RetryPolicy, import_openml
from metalearn.kb._publish import load_manifest, read_verified, snapshot, verify_manifest, write_manifest
from metalearn.kb._repair import repair_user_kb
from metalearn.kb._schema import SCHEMA_VERSION, ConfigRecord, DatasetRecord, RunRecord, config_key
from metalearn.kb._sources import (
    DatasetSpec,
    ReservedList,
    candidate_pool,
    canonical_name,
    dataset_family,
    is_synthetic,
    pmlb_specs,
    size_order,
)
from metalearn.kb._store import ARTIFACT_FILES, DB_NAME, MANIFEST_NAME, KBStore, default_kb_path, sha256_file
from metalearn.kb._user import add_runs, check_user_kb, user_db_path

__all__ = [
    "ARTIFACT_FILES",
    "DB_NAME",
    "MANIFEST_NAME",
    "load_manifest",
    "read_verified",
    "sha256_file",
    "add_runs",
    "check_user_kb",
    "repair_user_kb",
    "user_db_path",
    "ConfigRecord",
    "DatasetRecord",
    "DatasetSpec",
    "KBStore",
    "KnowledgeBase",
    "LCDB_LEARNERS",
    "OPENML_METRICS",
    "Protocol",
    "ReservedList",
    "RetryPolicy",
    "RunRecord",
    "SCHEMA_VERSION",
    "build_local",
    "candidate_pool",
    "canonical_name",
    "config_key",
    "dataset_family",
    "default_kb_path",
    "evaluate_chunk",
    "import_lcdb",
    "is_synthetic",
    "import_openml",
    "map_setup",
    "pmlb_specs",
    "size_order",
    "snapshot",
    "tidy",
    "verify_manifest",
    "write_manifest",
]
