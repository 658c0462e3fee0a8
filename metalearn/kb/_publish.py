"""Publish a KB directory: consistent SQLite snapshot + self-describing manifest with checksums."""

from __future__ import annotations

import json
import logging
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

from metalearn.exceptions import KnowledgeBaseError, KnowledgeBaseIntegrityError
from metalearn.kb._store import DB_NAME, MANIFEST_NAME, KBStore, sha256_file

logger = logging.getLogger(__name__)

#: Files besides kb.sqlite whose checksum the manifest records when present.
EXTRA_FILES = ("recommender.joblib",)


def snapshot(source: str | Path, target_dir: str | Path) -> Path:
    """Copy a (possibly still growing) ``kb.sqlite`` consistently into ``target_dir`` via SQLite's backup API."""
    source = Path(source)
    if not source.exists():
        raise KnowledgeBaseError(f"no knowledge base at {source}")
    target = Path(target_dir) / DB_NAME
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    src = sqlite3.connect(str(source), timeout=60)
    dst = sqlite3.connect(str(tmp))
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()
    with KBStore(tmp) as store:
        store.vacuum()
    tmp.replace(target)
    return target


def write_manifest(kb_dir: str | Path, extra: dict | None = None) -> dict:
    """Write ``manifest.json`` describing ``kb_dir/kb.sqlite`` (versions, protocol, counts, sha256s)."""
    kb_dir = Path(kb_dir)
    db = kb_dir / DB_NAME
    with KBStore(db) as store:
        meta = store.meta()
        counts = {
            "datasets": store.conn.execute("SELECT COUNT(*) FROM datasets").fetchone()[0],
            "configs": store.conn.execute("SELECT COUNT(*) FROM configs").fetchone()[0],
            "runs": store.conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0],
        }
    decoded = {k: _maybe_json(v) for k, v in meta.items()}
    files = {DB_NAME: sha256_file(db)}
    for rel in EXTRA_FILES:
        if (kb_dir / rel).exists():
            files[rel] = sha256_file(kb_dir / rel)
    manifest = {
        **decoded,
        "published": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "counts": counts,
        "sha256": files,
        **(extra or {}),
    }
    (kb_dir / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return manifest


def verify_manifest(kb_dir: str | Path) -> dict:
    """Read ``manifest.json`` and check every recorded checksum; raise naming the file that differs."""
    kb_dir = Path(kb_dir)
    path = kb_dir / MANIFEST_NAME
    if not path.exists():
        raise KnowledgeBaseIntegrityError(f"{path} is missing: a knowledge base directory needs its manifest")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise KnowledgeBaseIntegrityError(f"{path} is not valid JSON: {exc}") from None
    for rel, digest in manifest.get("sha256", {}).items():
        file = kb_dir / rel
        if not file.exists():
            raise KnowledgeBaseIntegrityError(f"{file} is listed in {path} but missing")
        if sha256_file(file) != digest:
            raise KnowledgeBaseIntegrityError(
                f"{file} does not match the checksum in {path}: the file was modified or corrupted; "
                "restore it (git checkout) or rebuild with scripts/build_knowledge_base.py"
            )
    return manifest


def _maybe_json(value: str) -> object:
    if not value or value[0] not in "{[":
        return value
    try:
        return json.loads(value)
    except (json.JSONDecodeError, TypeError):
        return value
