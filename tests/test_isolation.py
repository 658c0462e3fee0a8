"""Isolation that holds: what an evaluated estimator forks dies with it, and every evaluation has limits."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import metalearn
from metalearn.estimators import MetaLearnClassifier
from metalearn.evaluation import default_memory_limit_mb
from metalearn.evaluation._isolation import warm_up
from metalearn.exceptions import InvalidParameterError, MetaLearnError
from metalearn.optimize import _runner, optimize
from metalearn.optimize._runner import DEFAULT_TRIAL_TIME_LIMIT
from metalearn.testing import ForkingClassifier

ROOT = Path(__file__).resolve().parents[1]


def _running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie waiting to be reaped counts as dead)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return False
    return fields[0] not in ("Z", "X")


def _wait_until(condition, what: str, seconds: float = 60.0) -> None:
    """Poll ``condition`` (not a timing assertion: a generous wait for the kernel to finish killing)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"still waiting for: {what}")
        time.sleep(0.1)


@pytest.fixture(scope="module")
def cancer():
    return metalearn.load_dataset("sklearn:breast_cancer")


def test_what_a_timed_out_estimator_forked_is_killed_with_it(cancer, tmp_path):
    pid_file = tmp_path / "grandchild.pid"
    warm_up()  # the time limit counts the forkserver's start too: start it first, so the estimator gets to fork
    res = metalearn.evaluate({}, cancer, cv=2, estimator=ForkingClassifier(seconds=300, pid_file=str(pid_file)),
                             time_limit=3)
    assert res.status == "timeout"
    grandchild = int(pid_file.read_text())
    _wait_until(lambda: not _running(grandchild), f"the forked process {grandchild} to die")


def test_what_an_estimator_forked_dies_when_the_caller_is_killed(tmp_path):
    pid_file = tmp_path / "grandchild.pid"
    script = textwrap.dedent(f"""
        import metalearn
        from metalearn.testing import ForkingClassifier
        ds = metalearn.load_dataset("sklearn:breast_cancer")
        metalearn.evaluate({{}}, ds, cv=2, estimator=ForkingClassifier(seconds=300, pid_file={str(pid_file)!r}))
    """)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    caller = subprocess.Popen([sys.executable, "-c", script], env=env)
    try:
        _wait_until(lambda: pid_file.exists() and pid_file.read_text().strip(), "the estimator to fork", 120)
        grandchild = int(pid_file.read_text())
        assert _running(grandchild)
        caller.send_signal(signal.SIGKILL)  # no finally, no atexit: only the lifeline pipe can tell the child
        caller.wait(30)
        _wait_until(lambda: not _running(grandchild), f"the forked process {grandchild} to die")
    finally:
        if caller.poll() is None:
            caller.kill()


def test_fit_gives_every_evaluation_a_memory_limit():
    from sklearn.datasets import make_classification

    from metalearn.space import get_space

    # 36 MB blocks are above glibc's largest mmap threshold: each copy is a fresh mapping that counts against
    # the limit at once, whatever the heap of the worker holds
    X, y = make_classification(n_samples=3000, n_features=1500, random_state=0)
    linear = get_space("classification").default("linear")
    clf = MetaLearnClassifier(n_trials=1, cv=3, warm_start=[linear], ensemble=False, random_state=0,
                              memory_limit_mb=300)  # below what a worker with numpy and scikit-learn maps
    clf.fit(X, y)  # no trial survives the limit: the fallback model is fitted in the caller's process
    searched = clf.history_.loc[clf.history_["origin"] != "fallback"]
    assert len(searched) == 1 and set(searched["status"]) == {"failed"}
    assert searched["error"].str.contains("memory limit of 300 MB|MemoryError|worker process died").all()
    assert clf.history_["origin"].iloc[-1] == "fallback"


def test_default_limits_reach_every_evaluation(monkeypatch, cancer):
    seen = []
    real = _runner.evaluate

    def spy(*args, **kwargs):
        seen.append((kwargs["memory_limit_mb"], kwargs["time_limit"]))
        return real(*args, **kwargs)

    monkeypatch.setattr(_runner, "evaluate", spy)
    optimize(cancer, n_trials=2, cv=2, warm_start="defaults", random_state=0)
    # the limit counts from the call: a wait for the forkserver's start (begun with the search) comes off it
    assert seen == [(default_memory_limit_mb(1), pytest.approx(DEFAULT_TRIAL_TIME_LIMIT, rel=0.05))] * 2
    seen.clear()
    optimize(cancer, n_trials=2, cv=2, warm_start="defaults", random_state=0, n_jobs=2, memory_limit_mb=None,
             trial_time_limit=None)
    assert seen == [(None, None)] * 2


def test_default_memory_limit_is_a_share_of_the_machine():
    total_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
    assert default_memory_limit_mb(1) == max(int(0.8 * total_mb), 4096)
    assert default_memory_limit_mb(4) == max(int(0.2 * total_mb), 4096)


@pytest.mark.parametrize("bad", [0, -5, "lots", 2.5, True])
def test_bad_memory_limits_are_refused(cancer, bad):
    with pytest.raises(InvalidParameterError, match="memory_limit_mb"):
        optimize(cancer, n_trials=1, memory_limit_mb=bad)


@pytest.mark.parametrize(("value", "words"), [("0", "must be at least 1, not 0"), ("lots", "expected an integer")])
def test_the_cli_refuses_a_bad_memory_limit(value, words, capsys):
    from metalearn.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["optimize", "x.csv", "--memory-limit-mb", value])
    assert exc.value.code == 2 and words in capsys.readouterr().err


def test_the_cli_passes_its_limits_and_scheduler_to_the_estimator(monkeypatch, tmp_path):
    from metalearn import cli, estimators

    seen = {}

    def fake_fit(self, X, y, **options):
        seen.update(self.get_params())
        raise MetaLearnError("stop here")

    monkeypatch.setattr(estimators.MetaLearnClassifier, "fit", fake_fit)
    csv = tmp_path / "d.csv"
    ds = metalearn.load_dataset("sklearn:wine")
    ds.X.assign(target=ds.y).to_csv(csv, index=False)
    assert cli.main(["optimize", str(csv), "--memory-limit-mb", "none", "--n-jobs", "2",
                     "--scheduler", "local:2"]) == 1
    assert (seen["memory_limit_mb"], seen["n_jobs"], seen["scheduler"]) == (None, 2, "local:2")


def test_the_time_limit_counts_from_the_call(monkeypatch):
    from metalearn.evaluation import _isolation

    clock = iter([100.0, 104.0] + [104.0] * 50)  # starting the child took 4 s (a forkserver still starting)
    waits = []
    monkeypatch.setattr(_isolation.time, "perf_counter", lambda: next(clock))
    real_pipe = _isolation.mp.connection.Connection.poll

    def record_poll(self, timeout=0.0):
        waits.append(timeout)
        return real_pipe(self, timeout)

    monkeypatch.setattr(_isolation.mp.connection.Connection, "poll", record_poll)
    outcome = _isolation.run_isolated(os.getpid, (), time_limit=10.0)
    assert outcome.status == "ok" and waits[0] == pytest.approx(6.0)
