"""Connecting to the Dask cluster that evaluates trials: reach it, check its workers, close what was opened.

Dask is an optional extra (``metalearn[distributed]``) and is imported only
here, only when a scheduler is given. Workers that evaluate with
``isolation="process"`` start child processes, which a daemonic worker
process cannot: the local cluster made here is non-daemonic, and a remote
one must be started so (``DASK_DISTRIBUTED__WORKER__DAEMON=False``).
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from metalearn._version import __version__
from metalearn.evaluation._isolation import warm_up
from metalearn.exceptions import ClusterError, InvalidParameterError
from metalearn.utils import import_optional

logger = logging.getLogger(__name__)

#: Seconds to reach a scheduler, and to wait for its first worker.
CONNECT_TIMEOUT = 10.0
#: A trial whose worker dies while evaluating it is retried this many times, then recorded as failed
#: (the local cluster's ``distributed.scheduler.allowed-failures``; a remote cluster keeps its own setting).
RETRIES = 1
DAEMON_FIX = ("start the workers with DASK_DISTRIBUTED__WORKER__DAEMON=False (or `dask worker --no-nanny`), "
              "or evaluate with isolation='none'")


@dataclass
class Cluster:
    """A connected Dask client, where it points, and how many trials it runs at once."""

    client: Any
    address: str
    slots: int


def parse_scheduler(scheduler) -> int | None:
    """Check ``scheduler``; return N for ``"local:N"``, else None (an address or a Client).

    Raises :class:`InvalidParameterError` for anything else, without importing Dask.

    Examples
    --------
    >>> from metalearn.evaluation._cluster import parse_scheduler
    >>> parse_scheduler("local:2"), parse_scheduler("tcp://10.0.0.5:8786")
    (2, None)
    """
    if isinstance(scheduler, str):
        if scheduler.startswith("local:"):
            count = scheduler[len("local:"):]
            if not count.isdigit() or int(count) < 1:
                raise InvalidParameterError(
                    f"scheduler={scheduler!r}: 'local:N' needs a positive number of workers, e.g. 'local:2'")
            return int(count)
        if scheduler.strip():
            return None
    elif type(scheduler).__name__ == "Client" and type(scheduler).__module__.startswith("distributed"):
        return None
    raise InvalidParameterError(
        f"scheduler must be a Dask scheduler address ('tcp://host:8786'), a distributed.Client or 'local:N', "
        f"not {scheduler!r}")


@contextlib.contextmanager
def connect(scheduler, *, processes: bool = True) -> Iterator[Cluster]:
    """Connect to ``scheduler`` and check its workers; close what was opened here on exit.

    Parameters
    ----------
    scheduler : str or distributed.Client
        A scheduler address, ``"local:N"`` (a :class:`distributed.LocalCluster`
        of N single-threaded, non-daemonic worker processes, closed on exit)
        or a client (left open).
    processes : bool
        Whether the evaluations start child processes (then daemonic workers are refused).

    Raises
    ------
    ClusterError
        The scheduler cannot be reached, has no worker, or a worker lacks
        metalearn, runs another version of it or of Python, or is daemonic
        when ``processes`` is set.
    """
    n_local = parse_scheduler(scheduler)
    distributed = import_optional("dask.distributed", extra="distributed")
    with contextlib.ExitStack() as stack:
        if n_local is not None:
            client, address = _local_client(distributed, n_local, stack), f"local:{n_local}"
        elif isinstance(scheduler, str):
            client, address = stack.enter_context(_remote_client(distributed, scheduler)), scheduler
        else:
            client, address = scheduler, str(scheduler.scheduler.address)
        slots = _check_workers(client, address, processes)
        if processes:  # each worker's evaluation forkserver starts now, as part of the start-up
            client.run(warm_up)
        yield Cluster(client, address, slots)


def _local_client(distributed, n_workers: int, stack: contextlib.ExitStack):
    """A client of a new local cluster; ``stack`` closes both, and keeps the settings until then."""
    import dask

    # held while the cluster lives: the nannies read them again when they restart a dead worker
    stack.enter_context(dask.config.set({"distributed.worker.daemon": False,
                                         "distributed.scheduler.allowed-failures": RETRIES}))
    try:
        cluster = stack.enter_context(distributed.LocalCluster(
            n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None))
    except RuntimeError as exc:  # mostly a script without a main guard, re-run by every spawned worker
        raise ClusterError(
            f"could not start a local Dask cluster of {n_workers} workers ({exc}); a script using "
            "scheduler='local:N' must run its code under `if __name__ == \"__main__\":`") from exc
    return stack.enter_context(distributed.Client(cluster))


def _remote_client(distributed, address: str):
    try:
        return distributed.Client(address, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError, ValueError) as exc:  # refused, timed out, or not an address at all
        raise ClusterError(
            f"could not reach the Dask scheduler at {address} within {CONNECT_TIMEOUT:g} s "
            f"({type(exc).__name__}: {exc}); start one with `dask scheduler` or fix the address") from exc


def _check_workers(client, address: str, processes: bool) -> int:
    """Probe every worker (metalearn version, Python, daemon flag); return the threads they offer together."""
    try:
        client.wait_for_workers(1, timeout=CONNECT_TIMEOUT)
    except TimeoutError as exc:
        raise ClusterError(
            f"the Dask scheduler at {address} has no workers after {CONNECT_TIMEOUT:g} s; start some with "
            f"`dask worker {address} --nthreads 1`") from exc
    check_worker_probes(client.run(make_probe()), address, processes=processes)
    return sum(int(w["nthreads"]) for w in client.scheduler_info()["workers"].values())


def make_probe():
    """A function that reports a worker's metalearn and Python versions and whether it is daemonic.

    It is made inside this function so that cloudpickle ships its code by
    value: a worker without metalearn can still run it and say so.
    """

    def probe() -> dict:
        import multiprocessing
        import sys

        try:
            # runs on the worker: importing metalearn._version imports metalearn itself, the thing checked
            from metalearn._version import __version__ as version
        except ImportError as exc:
            version = f"missing ({type(exc).__name__}: {exc})"
        return {"metalearn": version, "python": f"{sys.version_info[0]}.{sys.version_info[1]}",
                "daemon": multiprocessing.current_process().daemon}

    return probe


def check_worker_probes(probes: dict, address: str, *, processes: bool) -> None:
    """Raise :class:`ClusterError` naming the first worker whose probe does not match this process.

    Examples
    --------
    >>> from metalearn import __version__
    >>> from metalearn.evaluation._cluster import check_worker_probes
    >>> import sys
    >>> ok = {"metalearn": __version__, "python": f"{sys.version_info[0]}.{sys.version_info[1]}", "daemon": False}
    >>> check_worker_probes({"tcp://w1:1": ok}, "tcp://s:8786", processes=True)
    """
    python = f"{sys.version_info[0]}.{sys.version_info[1]}"
    for worker, probe in sorted(probes.items()):
        if probe["metalearn"] != __version__:
            raise ClusterError(
                f"Dask worker {worker} of {address} has metalearn {probe['metalearn']}, this process "
                f"{__version__}: install metalearn=={__version__} on every worker")
        if probe["python"] != python:
            raise ClusterError(
                f"Dask worker {worker} of {address} runs Python {probe['python']}, this process {python}: "
                "trials are shipped pickled, so use the same Python on every worker")
        if processes and probe["daemon"]:
            raise ClusterError(
                f"Dask worker {worker} of {address} is daemonic, so it cannot start the evaluation processes: "
                f"{DAEMON_FIX}")


def worker_memory_share_mb() -> int | None:
    """This Dask worker's memory limit divided among its threads, in MB; None outside a worker (or no limit)."""
    distributed = sys.modules.get("distributed")
    if distributed is None:  # Dask was never imported here, so this is no Dask worker
        return None
    try:
        worker = distributed.get_worker()
    except ValueError:  # imported, but not running inside a worker
        return None
    limit = worker.memory_manager.memory_limit
    return int(limit / max(worker.state.nthreads, 1) / 2**20) if limit else None
