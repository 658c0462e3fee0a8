"""Trials on a Dask cluster: the same search as locally, faults as results or clear errors, budgets kept.

The cluster tests share one ``LocalCluster`` of two single-threaded,
non-daemonic workers; none of them asserts on durations.
"""

from __future__ import annotations

import functools
import os
import signal
import sys
import time
from pathlib import Path

import pytest

import metalearn
from metalearn import __version__
from metalearn.cli import main
from metalearn.evaluation import _cluster
from metalearn.evaluation._cluster import check_worker_probes, connect, make_probe, parse_scheduler
from metalearn.exceptions import ClusterError, InvalidParameterError
from metalearn.optimize import TrialResult, _optimize, _runner, optimize

pytest.importorskip("distributed")

PYTHON = f"{sys.version_info[0]}.{sys.version_info[1]}"
UNREACHABLE = "tcp://127.0.0.1:9"  # the discard port: nothing listens there


@pytest.fixture(scope="module")
def cluster():
    with connect("local:2") as connected:
        yield connected


@pytest.fixture(scope="module")
def wine():
    return metalearn.load_dataset("sklearn:wine")


def _score(config: dict) -> TrialResult:
    """A deterministic stand-in for cross-validation (runs on the workers)."""
    return TrialResult(0.5 + 0.01 * len(config["family"]), duration=0.01)


def _dies_once(config: dict, marker_dir: str) -> TrialResult:
    """Kill this worker the first time a linear configuration is evaluated; score it on the retry."""
    marker = Path(marker_dir) / config["family"]
    attempts = int(marker.read_text()) + 1 if marker.exists() else 1
    marker.write_text(str(attempts))
    if attempts == 1 and config["family"] == "linear":
        os.kill(os.getpid(), signal.SIGKILL)
    return _score(config)


def _kills_knn(config: dict) -> TrialResult:
    """Kill the worker whenever a knn configuration is evaluated."""
    if config["family"] == "knn":
        os.kill(os.getpid(), signal.SIGKILL)
    return _score(config)


def _hangs_on_knn(config: dict, release: str) -> TrialResult:
    """Hold the worker on knn configurations until the file ``release`` exists (or two minutes pass)."""
    if config["family"] == "knn":
        for _ in range(2400):
            if Path(release).exists():
                break
            time.sleep(0.05)
    return _score(config)


def _defaults(*families: str) -> list[dict]:
    space = metalearn.get_space("classification")
    return [space.default(f) for f in families]


# -- refused before Dask is touched -------------------------------------------------------------------------------
@pytest.mark.parametrize("bad", ["local:0", "local:two", "", 8786, 3.5])
def test_bad_scheduler_values_are_refused(bad):
    with pytest.raises(InvalidParameterError, match="scheduler"):
        parse_scheduler(bad)


def test_an_unreachable_scheduler_is_named_before_any_work(monkeypatch, wine):
    monkeypatch.setattr(_cluster, "CONNECT_TIMEOUT", 2.0)

    def no_work(*args, **kwargs):
        raise AssertionError("the warm start ran before the scheduler was reached")

    monkeypatch.setattr(_optimize, "resolve_warm_start", no_work)
    with pytest.raises(ClusterError, match=f"could not reach the Dask scheduler at {UNREACHABLE}"):
        optimize(wine, n_trials=2, scheduler=UNREACHABLE)


def test_the_cli_reports_an_unreachable_scheduler_in_one_line(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(_cluster, "CONNECT_TIMEOUT", 2.0)
    csv = tmp_path / "wine.csv"
    metalearn.load_dataset("sklearn:wine").X.assign(target=metalearn.load_dataset("sklearn:wine").y).to_csv(
        csv, index=False)
    assert main(["optimize", str(csv), "--n-trials", "2", "--scheduler", UNREACHABLE]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and UNREACHABLE in err and "Traceback" not in err


@pytest.mark.parametrize(("probe", "words"), [
    ({"metalearn": "missing (ModuleNotFoundError: No module named 'metalearn')", "python": PYTHON,
      "daemon": False}, "has metalearn missing (ModuleNotFoundError"),
    ({"metalearn": "0.0.1", "python": PYTHON, "daemon": False}, f"has metalearn 0.0.1, this process {__version__}"),
    ({"metalearn": __version__, "python": "2.7", "daemon": False}, "runs Python 2.7"),
    ({"metalearn": __version__, "python": PYTHON, "daemon": True}, "is daemonic"),
])
def test_a_mismatched_worker_is_named_at_start_up(probe, words):
    with pytest.raises(ClusterError, match="tcp://w2:1 of tcp://s:8786") as exc:
        check_worker_probes({"tcp://w1:1": {**probe, "metalearn": __version__, "python": PYTHON, "daemon": False},
                             "tcp://w2:1": probe}, "tcp://s:8786", processes=True)
    assert words in str(exc.value)


def test_a_daemonic_worker_is_fine_without_processes():
    probe = {"metalearn": __version__, "python": PYTHON, "daemon": True}
    check_worker_probes({"tcp://w1:1": probe}, "tcp://s:8786", processes=False)


# -- on a LocalCluster(2) ---------------------------------------------------------------------------------------
def test_the_local_cluster_passes_its_own_start_up_check(cluster):
    probes = cluster.client.run(make_probe())
    assert len(probes) == 2 and cluster.slots == 2
    assert all(p == {"metalearn": __version__, "python": PYTHON, "daemon": False} for p in probes.values())


@pytest.mark.slow
def test_local_2_finds_what_n_jobs_2_finds(wine):
    kwargs = dict(n_trials=6, cv=3, warm_start="none", random_state=0)
    local = optimize(wine, n_jobs=2, **kwargs)
    remote = optimize(wine, scheduler="local:2", **kwargs)
    assert list(remote.history["config_id"]) == list(local.history["config_id"])
    assert list(remote.history["score"]) == list(local.history["score"])
    assert remote.best_config == local.best_config and set(remote.history["status"]) == {"ok"}


def test_results_are_keyed_by_trial_not_by_arrival(cluster, wine):
    # knn is held on its worker while the others finish: arrival order differs from trial order
    configs = _defaults("knn", "linear", "random_forest", "svm")
    remote = optimize(wine, n_trials=4, warm_start=configs, evaluate_fn=_score, scheduler=cluster.client)
    local = optimize(wine, n_trials=4, warm_start=configs, evaluate_fn=_score, n_jobs=2)
    assert list(remote.history["number"]) == [0, 1, 2, 3]
    assert list(remote.history["family"]) == ["knn", "linear", "random_forest", "svm"]
    assert list(remote.history["score"]) == list(local.history["score"])


def test_a_worker_killed_mid_trial_is_retried_once(cluster, wine, tmp_path):
    res = optimize(wine, n_trials=2, warm_start=_defaults("linear", "knn"), scheduler=cluster.client,
                   evaluate_fn=functools.partial(_dies_once, marker_dir=str(tmp_path)))
    assert list(res.history["status"]) == ["ok", "ok"]
    assert {p.name: p.read_text() for p in tmp_path.iterdir()} == {"linear": "2", "knn": "1"}
    cluster.client.wait_for_workers(2, timeout=600)  # the nanny restarts the killed worker (slowly on a busy machine)


def test_a_worker_killed_twice_makes_a_failed_trial(cluster, wine):
    res = optimize(wine, n_trials=2, warm_start=_defaults("linear", "knn"), scheduler=cluster.client,
                   evaluate_fn=_kills_knn)
    assert list(res.history["status"]) == ["ok", "failed"]
    assert "died 2 times" in res.history["error"].iloc[1]
    cluster.client.wait_for_workers(2, timeout=600)  # the nanny restarts the killed worker (slowly on a busy machine)


def test_a_trial_that_does_not_come_back_is_a_timeout(cluster, wine, monkeypatch, tmp_path):
    monkeypatch.setattr(_runner, "REMOTE_GRACE", 1.0)
    release = tmp_path / "release"
    try:
        res = optimize(wine, n_trials=2, warm_start=_defaults("linear", "knn"), scheduler=cluster.client,
                       evaluate_fn=functools.partial(_hangs_on_knn, release=str(release)), trial_time_limit=5.0)
    finally:
        release.touch()  # frees the worker that still holds the knn trial
    assert list(res.history["status"]) == ["ok", "timeout"]
    assert "no result from the Dask cluster 6 s after it was sent" in res.history["error"].iloc[1]


def test_the_time_budget_bounds_remote_trials(cluster, wine, monkeypatch):
    clock = [0.0]
    monkeypatch.setattr(_optimize.time, "perf_counter", lambda: clock[0])
    limits = []
    real_start = _runner.DaskTrials.start

    def start_every_5_seconds(self, trial, time_limit):
        limits.append(time_limit)
        clock[0] += 5.0
        return real_start(self, trial, time_limit)

    monkeypatch.setattr(_runner.DaskTrials, "start", start_every_5_seconds)
    res = optimize(wine, n_trials=None, time_budget=25.0, warm_start="none", evaluate_fn=_score,
                   scheduler=cluster.client, random_state=0)
    assert limits == [25.0, 20.0, 15.0, 10.0, 5.0]  # each trial is cut where the budget ends; none starts after it
    assert len(res.history) == 5 and set(res.history["status"]) == {"ok"}


def test_the_cluster_finds_what_n_jobs_2_finds(cluster, wine):
    # real cross-validation in the workers' evaluation processes, on the data scattered once
    kwargs = dict(n_trials=6, cv=3, warm_start=_defaults("linear", "knn"), random_state=0)
    remote = optimize(wine, scheduler=cluster.client, **kwargs)
    local = optimize(wine, n_jobs=2, **kwargs)
    assert list(remote.history["config_id"]) == list(local.history["config_id"])
    assert list(remote.history["score"]) == list(local.history["score"])
    assert remote.best_config == local.best_config and set(remote.history["status"]) == {"ok"}
    assert set(remote.history["origin"]) > {"warm-start"}  # the optimizer's own suggestions too


def test_a_scorer_callable_weights_and_groups_reach_the_workers(cluster, wine):
    import numpy as np
    from sklearn.metrics import accuracy_score

    def weighted_accuracy(estimator, X, y, sample_weight=None):  # a closure: shipped by value
        return accuracy_score(y, estimator.predict(X), sample_weight=sample_weight)

    rng = np.random.default_rng(0)
    data = wine.with_weights(rng.uniform(0.5, 2.0, wine.n_rows), groups=np.arange(wine.n_rows) % 6)
    kwargs = dict(n_trials=3, cv=3, warm_start=_defaults("linear", "random_forest"), random_state=0,
                  metric=weighted_accuracy)
    remote = optimize(data, scheduler=cluster.client, **kwargs)
    local = optimize(data, n_jobs=2, **kwargs)
    assert set(remote.history["status"]) == {"ok"} and remote.metric == "weighted_accuracy"
    assert list(remote.history["score"]) == list(local.history["score"])


def test_the_estimators_take_a_scheduler(cluster):
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    clf = metalearn.MetaLearnClassifier(n_trials=2, cv=3, warm_start="defaults", ensemble=False, random_state=0,
                                        scheduler=cluster.client).fit(X, y)
    assert len(clf.history_) == 2 and clf.score(X, y) > 0.9


def test_the_probe_runs_on_a_worker_without_metalearn():
    import subprocess

    import cloudpickle

    payload = cloudpickle.dumps(make_probe())
    code = ("import sys, pickle; sys.modules['metalearn'] = None; "  # importing metalearn now fails
            "print(pickle.loads(sys.stdin.buffer.read())()['metalearn'])")
    out = subprocess.run([sys.executable, "-c", code], input=payload, capture_output=True, check=True).stdout
    assert out.decode().startswith("missing (")
