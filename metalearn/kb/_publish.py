"""Publish a KB directory: consistent SQLite snapshot + self-describing manifest with checksums."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

from metalearn.exceptions import KnowledgeBaseError, KnowledgeBaseIntegrityError
from metalearn.kb._store import ARTIFACT_FILES, DB_NAME, MANIFEST_NAME, KBStore, sha256_file

logger = logging.getLogger(__name__)

_HEX = frozenset("0123456789abcdef")


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


def write_manifest(kb_dir: str | Path, extra: dict | None = None, *, database: str = DB_NAME) -> dict:
    """Write ``manifest.json`` describing ``kb_dir``: versions, protocol, counts and the sha256 of every file.

    The files are the database (``database``, default ``kb.sqlite``) and the
    recommender artifact's files when present. Readers refuse any of them that
    is present but not listed. The manifest is replaced atomically.
    """
    kb_dir = Path(kb_dir)
    db = kb_dir / database
    with KBStore(db, readonly=True) as store:
        meta = store.meta()
        counts = {t: store.conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]  # noqa: S608 - fixed names
                  for t in ("datasets", "configs", "runs")}
    decoded = {k: _maybe_json(v) for k, v in meta.items()}
    files = {database: sha256_file(db)}
    for rel in ARTIFACT_FILES:
        if (kb_dir / rel).exists():
            files[rel] = sha256_file(kb_dir / rel)
    manifest = {
        **decoded,
        "published": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "counts": counts,
        "sha256": files,
        **({} if database == DB_NAME else {"database": database}),
        **(extra or {}),
    }
    replace_text(kb_dir / MANIFEST_NAME, json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


def replace_text(path: Path, text: str) -> None:
    """Write ``path`` through a temporary file, flushed to disk, and an atomic rename."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def load_manifest(kb_dir: str | Path) -> dict:
    """Read and check the shape of ``kb_dir/manifest.json`` (not the checksums: see :func:`verify_manifest`).

    Raises :class:`KnowledgeBaseIntegrityError` when it is missing, not JSON,
    or does not list the database with a sha256 of plain file names.
    """
    path = Path(kb_dir) / MANIFEST_NAME
    if not path.is_file():
        kb_dir = Path(kb_dir)
        if (kb_dir / DB_NAME).is_file() or any(kb_dir.glob("kb-*.sqlite")):
            raise KnowledgeBaseIntegrityError(f"{path} is missing (an interrupted write?): delete {kb_dir} or "
                                              f"run `metalearn kb repair {kb_dir}`")
        raise KnowledgeBaseIntegrityError(f"{path} is missing: a knowledge base directory needs its manifest")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise KnowledgeBaseIntegrityError(f"{path} is not valid JSON ({exc})") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("sha256"), dict):
        raise KnowledgeBaseIntegrityError(f"{path} is not a knowledge-base manifest (no 'sha256' object)")
    for rel, digest in manifest["sha256"].items():
        if not _plain_name(rel) or not isinstance(digest, str) or len(digest) != 64 or not set(digest) <= _HEX:
            raise KnowledgeBaseIntegrityError(f"{path}: entry {rel!r} is not a file name with a sha256")
    database = manifest.get("database", DB_NAME)
    if not isinstance(database, str) or database not in manifest["sha256"]:
        raise KnowledgeBaseIntegrityError(
            f"{path} does not list the database {database!r}: every file of a KB must be listed with its sha256")
    return manifest


def verify_manifest(kb_dir: str | Path, *, check_checksums: bool = True) -> dict:
    """Check the manifest and every checksum it records; raise naming the file that differs.

    A KB file that is present but not listed is an error too. With
    ``check_checksums=False`` only the manifest's shape and the listing are checked.
    """
    kb_dir = Path(kb_dir)
    manifest = load_manifest(kb_dir)
    listed = manifest["sha256"]
    for rel in (DB_NAME, *ARTIFACT_FILES):
        if rel not in listed and (kb_dir / rel).exists():
            raise KnowledgeBaseIntegrityError(
                f"{kb_dir / rel} is not listed in {kb_dir / MANIFEST_NAME}; a KB file must be listed with its "
                "sha256 to be read: remove it, or republish the KB")
    for rel, digest in listed.items():
        file = kb_dir / rel
        if not file.is_file():
            raise KnowledgeBaseIntegrityError(f"{file} is listed in {kb_dir / MANIFEST_NAME} but missing")
        if check_checksums and sha256_file(file) != digest:
            raise _mismatch(file, kb_dir)
    return manifest


def read_verified(kb_dir: str | Path, rel: str, manifest: dict) -> bytes:
    """The bytes of a KB file, read once and checked against the manifest's sha256 (no gap to swap the file)."""
    kb_dir = Path(kb_dir)
    digest = manifest.get("sha256", {}).get(rel)
    if digest is None:
        raise KnowledgeBaseIntegrityError(f"{kb_dir / rel} is not listed in {kb_dir / MANIFEST_NAME}")
    try:
        data = (kb_dir / rel).read_bytes()
    except OSError as exc:
        raise KnowledgeBaseIntegrityError(f"cannot read {kb_dir / rel}: {exc}") from None
    if hashlib.sha256(data).hexdigest() != digest:
        raise _mismatch(kb_dir / rel, kb_dir)
    return data


def _mismatch(file: Path, kb_dir: Path) -> KnowledgeBaseIntegrityError:
    return KnowledgeBaseIntegrityError(
        f"{file} does not match the checksum in {kb_dir / MANIFEST_NAME}: the file was modified or corrupted; "
        "restore it (reinstall metalearn for the shipped KB) or rebuild with scripts/build_knowledge_base.py")


def _plain_name(rel: object) -> bool:
    return (isinstance(rel, str) and bool(rel) and "/" not in rel and "\\" not in rel
            and not rel.startswith(".") and rel != MANIFEST_NAME)


def _maybe_json(value: str) -> object:
    if not value or value[0] not in "{[":
        return value
    try:
        return json.loads(value)
    except (json.JSONDecodeError, TypeError):
        return value
