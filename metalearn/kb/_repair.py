"""``metalearn kb repair PATH``: bring a user KB interrupted mid-write back to its last whole state.

Nothing the user wrote successfully is deleted: a damaged database or
manifest is renamed aside (``*.damaged``), never removed, and a whole
database that lost its manifest gets a new one.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone
from pathlib import Path

from metalearn.exceptions import KnowledgeBaseError, KnowledgeBaseIntegrityError
from metalearn.kb._lock import write_lock
from metalearn.kb._publish import load_manifest, verify_manifest, write_manifest
from metalearn.kb._store import DB_NAME, MANIFEST_NAME, KBStore
from metalearn.kb._user import is_bare_file, remove_strays


def repair_user_kb(path: str | Path) -> list[str]:
    """Repair the user KB at ``path`` (directory or bare ``.sqlite``); returns what was done, one line each.

    Raises :class:`KnowledgeBaseError` when ``path`` does not exist, and
    :class:`KnowledgeBaseIntegrityError` when a whole KB's files were modified
    after they were written (that is tampering or disk damage, not an
    interrupted write: restore it from a backup or delete it).
    """
    path = Path(path)
    if not path.exists():
        raise KnowledgeBaseError(f"nothing to repair: {path} does not exist")
    with write_lock(path):
        return _repair_file(path) if is_bare_file(path) or path.is_file() else _repair_dir(path)


def _repair_file(db: Path) -> list[str]:
    actions = [f"removed {p}" for p in db.parent.glob(f".{db.name}.*.tmp") if _unlink(p)]
    if not whole(db):
        actions.append(f"moved the damaged {db} to {_aside(db)}; the next write starts from the base KB")
    return actions or [f"{db} is whole; nothing to repair"]


def _repair_dir(path: Path) -> list[str]:
    manifest = path / MANIFEST_NAME
    if manifest.is_file():
        try:
            load_manifest(path)
        except KnowledgeBaseIntegrityError:
            return [f"moved the damaged {manifest} to {_aside(manifest)}", *_adopt(path)]
        verify_manifest(path)  # a whole KB whose files changed since: refuse, do not launder it
        actions = [f"removed {p}" for p in remove_strays(path)]
        return actions or [f"{path} is whole; nothing to repair"]
    return _adopt(path)


def _adopt(path: Path) -> list[str]:
    """Give the newest whole database a manifest; set damaged ones aside; drop temporary files."""
    actions = [f"removed {p}" for p in path.glob(".*.tmp") if _unlink(p)]
    candidates = sorted(path.glob("kb-*.sqlite"), reverse=True) + [path / DB_NAME]
    for db in (c for c in candidates if c.is_file()):
        if whole(db):
            write_manifest(path, {"user_kb": True}, database=db.name)
            actions.append(f"wrote {path / MANIFEST_NAME} for {db.name}")
            actions += [f"removed {p}" for p in remove_strays(path)]
            return actions
        actions.append(f"moved the damaged {db} to {_aside(db)}")
    actions.append(f"{path} holds no whole database; the next write starts from the base KB")
    return actions


def whole(db: Path) -> bool:
    """Whether ``db`` is a readable knowledge base that passes SQLite's integrity check."""
    if not db.is_file():
        return True
    try:
        with KBStore(db, readonly=True) as store:
            return store.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    except (KnowledgeBaseError, sqlite3.DatabaseError):
        return False


def _aside(file: Path) -> Path:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    target = file.with_name(f"{file.name}.damaged-{stamp}")
    file.rename(target)
    return target


def _unlink(file: Path) -> bool:
    file.unlink(missing_ok=True)
    return True
