"""Run a function in a separate process with a wall-clock and memory limit.

Processes come from a ``forkserver`` whose server pre-imports scikit-learn
and metalearn once, so each call costs a fork (milliseconds), not an
interpreter start, and children never inherit the caller's OpenMP threads
(forking after an OpenMP region can deadlock GNU libgomp).

Each child starts its own session (and so its own process group): whatever
the evaluated code forks stays in that group, and the caller kills the whole
group when the call ends or times out. A thread in the child watches a pipe
whose other end only the caller holds; when the caller dies, even by
SIGKILL, the pipe closes and the child kills its group.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing as mp
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)

PRELOAD = ["metalearn.evaluation._evaluate", "metalearn.evaluation._forkserver_init"]

#: Share of the machine's physical memory that evaluations running at once may take together by default.
MEMORY_SHARE = 0.8
#: The default memory limit is never below this (an idle worker already maps about 1.7 GB of address space).
MIN_MEMORY_LIMIT_MB = 4096


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


def default_memory_limit_mb(n_concurrent: int = 1) -> int:
    """The default address-space limit of one evaluation, in MB.

    :data:`MEMORY_SHARE` of this machine's physical memory divided among
    ``n_concurrent`` evaluations, and at least :data:`MIN_MEMORY_LIMIT_MB`.
    The limit caps address space (``RLIMIT_AS``), which exceeds resident
    memory, so it stops runaway allocations rather than measuring use.

    Examples
    --------
    >>> from metalearn.evaluation import default_memory_limit_mb
    >>> default_memory_limit_mb(2) >= 4096
    True
    """
    total_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
    return max(int(total_mb * MEMORY_SHARE / max(int(n_concurrent), 1)), MIN_MEMORY_LIMIT_MB)


def _kill_group_when_closed(lifeline) -> None:
    """Block until the caller's end of ``lifeline`` closes, then kill this process group."""
    with contextlib.suppress(EOFError, OSError):  # the caller never sends: the pipe's end is the signal
        lifeline.recv()
    os.killpg(0, signal.SIGKILL)


def _child(conn, lifeline, fn: Callable, args: tuple, memory_limit_mb: int | None) -> None:
    if os.getpgid(0) != os.getpid():
        os.setsid()  # a new session and process group, led by this process: the caller kills it as one
    threading.Thread(target=_kill_group_when_closed, args=(lifeline,), daemon=True).start()
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


def warm_up() -> float:
    """Start this process's evaluation forkserver now (it pre-imports and warms up); returns the seconds it took.

    Otherwise the first isolated evaluation pays for it; a Dask cluster runs
    this on every worker at start-up so that the cost is counted there.
    """
    start = time.perf_counter()
    outcome = run_isolated(os.getpid, ())
    if outcome.status != "ok":
        logger.warning("the evaluation forkserver did not start: %s", outcome.error)
    return time.perf_counter() - start


def _kill_group(proc) -> None:
    """SIGKILL the process group ``proc`` leads (``proc`` alone when it has not made its group yet).

    Called before ``proc`` is reaped, so its id cannot have been reused by another group.
    """
    if proc.pid is None:
        return
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:  # the child was killed before its setsid(): no group, and nothing it forked
        proc.kill()


def run_isolated(fn: Callable, args: tuple, *, time_limit: float | None = None,
                 memory_limit_mb: int | None = None) -> IsolatedOutcome:
    """Call ``fn(*args)`` in a child process; never raises for the child's failures.

    The child runs in its own session; when the call returns or times out,
    the child and everything it forked (its process group) are killed, and
    so they are when the caller dies.

    Parameters
    ----------
    fn : callable
        A module-level (picklable) function.
    args : tuple
        Picklable arguments.
    time_limit : float, optional
        Seconds of wall-clock time from this call before the child is killed
        (status ``timeout``), the start of the child (and of the forkserver) included.
    memory_limit_mb : int, optional
        Address-space limit of the child; exceeding it gives status ``failed``.

    Returns
    -------
    IsolatedOutcome
    """
    ctx = _context()
    parent, child = ctx.Pipe(duplex=False)
    alive_r, alive_w = ctx.Pipe(duplex=False)  # the child watches alive_r; only this process holds alive_w
    proc = ctx.Process(target=_child, args=(child, alive_r, fn, args, memory_limit_mb), daemon=True)
    start = time.perf_counter()
    try:
        with _without_main_module():
            proc.start()
    except OSError as exc:
        for end in (parent, child, alive_r, alive_w):
            end.close()
        return IsolatedOutcome("failed", error=f"could not start a worker process: {exc}")
    child.close()
    alive_r.close()
    try:
        # the limit counts from the call: a forkserver still starting (imports, first fits) uses it up too
        ready = parent.poll(None if time_limit is None else max(time_limit - (time.perf_counter() - start), 0.0))
        if not ready:
            return IsolatedOutcome("timeout", error=f"exceeded the time limit of {time_limit:g} s",
                                   duration=time.perf_counter() - start)
        try:
            status, value, error = parent.recv()
        except EOFError:
            _kill_group(proc)
            proc.join(5)
            return IsolatedOutcome("failed", error=f"worker process died (exit code {proc.exitcode})",
                                   duration=time.perf_counter() - start)
        return IsolatedOutcome(status, value, error, time.perf_counter() - start)
    finally:
        _kill_group(proc)
        proc.join(5)
        parent.close()
        alive_w.close()
