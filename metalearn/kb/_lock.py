"""File locks that serialise writers of a user knowledge base (and keep readers off a write in progress).

The lock file sits inside a KB directory (``.lock``) or beside a bare
``.sqlite`` file (``.NAME.lock``). Writers create it; readers take it only
when it already exists, so opening a KB for reading never creates a file.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from filelock import FileLock, Timeout

from metalearn.exceptions import KnowledgeBaseError

#: Seconds a writer or reader waits for another process's write before giving up.
LOCK_TIMEOUT = 600.0


def lock_path(path: str | Path) -> Path:
    """The lock file of a KB directory or bare database file."""
    path = Path(path)
    if path.suffix in (".sqlite", ".db"):
        return path.with_name(f".{path.name}.lock")
    return path / ".lock"


@contextlib.contextmanager
def write_lock(path: str | Path, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
    """Hold the KB's lock (created if needed) for a write."""
    lock = lock_path(path)
    lock.parent.mkdir(parents=True, exist_ok=True)
    try:
        with FileLock(str(lock), timeout=timeout):
            yield
    except Timeout:
        raise KnowledgeBaseError(f"another process has held {lock} for over {timeout:.0f} s; "
                                 "wait for it to finish, or delete the lock file if no process uses the KB") from None


@contextlib.contextmanager
def read_lock(path: str | Path, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
    """Hold the KB's lock while reading, if a writer ever created one (nothing is created here)."""
    lock = lock_path(path)
    if not lock.is_file():
        yield
        return
    try:
        handle = FileLock(str(lock), timeout=timeout)
        handle.acquire()
    except PermissionError:  # a lock we cannot open (read-only install): nobody can be writing through it
        yield
        return
    except Timeout:
        raise KnowledgeBaseError(f"another process has held {lock} for over {timeout:.0f} s; "
                                 "wait for it to finish, or delete the lock file if no process uses the KB") from None
    try:
        yield
    finally:
        handle.release()
