"""Run a function in a separate process with a wall-clock and memory limit.

Processes come from a ``forkserver`` whose server pre-imports scikit-learn
and metalearn once, so each call costs a fork (milliseconds), not an
interpreter start, and children never inherit the caller's OpenMP threads
(forking after an OpenMP region can deadlock GNU libgomp).
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing as mp
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)

PRELOAD = ["metalearn.evaluation._evaluate", "metalearn.evaluation._forkserver_init"]


@dataclass(frozen=True)
class IsolatedOutcome:
    """What an isolated call produced: ``status`` is ``ok``, ``failed`` or ``timeout``."""

    status: str
    value: Any = None
    error: str = ""
    duration: float = 0.0


def _context() -> mp.context.BaseContext:
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(PRELOAD)
    return ctx


def _child(conn, fn: Callable, args: tuple, memory_limit_mb: int | None) -> None:
    try:
        if memory_limit_mb:
            import resource

            limit = int(memory_limit_mb) * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        conn.send(("ok", fn(*args), ""))
    except MemoryError:
        conn.send(("failed", None, f"MemoryError: exceeded the memory limit of {memory_limit_mb} MB"))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, never swallowed
        conn.send(("failed", None, f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=-3)}"))
    finally:
        conn.close()


@contextlib.contextmanager
def _without_main_module():
    """Hide ``__main__``'s file while a child starts, so the child does not re-run the user's script.

    ``forkserver``/``spawn`` children normally re-import the parent's main
    script: that fails for ``python - <<EOF`` (no file) and re-executes
    unguarded top-level code of a user's script in every evaluation. Our
    child functions live in metalearn and never need ``__main__``.
    """
    main = sys.modules.get("__main__")
    if main is None:
        yield
        return
    had_file, file, spec = hasattr(main, "__file__"), getattr(main, "__file__", None), getattr(main, "__spec__", None)
    try:
        if had_file:
            del main.__file__
        main.__spec__ = None  # multiprocessing reads it unconditionally
        yield
    finally:
        main.__spec__ = spec
        if had_file:
            main.__file__ = file


def run_isolated(fn: Callable, args: tuple, *, time_limit: float | None = None,
                 memory_limit_mb: int | None = None) -> IsolatedOutcome:
    """Call ``fn(*args)`` in a child process; never raises for the child's failures.

    Parameters
    ----------
    fn : callable
        A module-level (picklable) function.
    args : tuple
        Picklable arguments.
    time_limit : float, optional
        Seconds of wall-clock time before the child is killed (status ``timeout``).
    memory_limit_mb : int, optional
        Address-space limit of the child; exceeding it gives status ``failed``.

    Returns
    -------
    IsolatedOutcome
    """
    ctx = _context()
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(child, fn, args, memory_limit_mb), daemon=True)
    start = time.perf_counter()
    try:
        with _without_main_module():
            proc.start()
    except OSError as exc:
        parent.close()
        child.close()
        return IsolatedOutcome("failed", error=f"could not start a worker process: {exc}")
    child.close()
    try:
        ready = parent.poll(time_limit)
        if not ready:
            return IsolatedOutcome("timeout", error=f"exceeded the time limit of {time_limit:g} s",
                                   duration=time.perf_counter() - start)
        try:
            status, value, error = parent.recv()
        except EOFError:
            proc.join(5)
            return IsolatedOutcome("failed", error=f"worker process died (exit code {proc.exitcode})",
                                   duration=time.perf_counter() - start)
        return IsolatedOutcome(status, value, error, time.perf_counter() - start)
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join(5)
        parent.close()
