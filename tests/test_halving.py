"""Budget-aware evaluation: successive halving on growing subsamples, with fake clocks and fake evaluations."""

from __future__ import annotations

import importlib
import time
import zlib

import numpy as np
import pandas as pd
import pytest

import metalearn
from metalearn.evaluation import EvaluationResult
from metalearn.exceptions import InvalidParameterError
from metalearn.optimize import RandomSearch, optimize
from metalearn.optimize._halving import ETA, FULL_SHARE, ROWS_PER_SECOND, Halving, rung_rows
from metalearn.space import get_space

_runner = importlib.import_module("metalearn.optimize._runner")


def table(n_rows: int):
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(n_rows, 3)), columns=["a", "b", "c"])
    return metalearn.load_dataset((X, (X["a"] > 0).astype(int).to_numpy()), task="classification")


class FakeWork:
    """Fake evaluations on a fake clock: ``seconds_per_row`` per row; a subsample scores ``bonus`` higher."""

    def __init__(self, monkeypatch, seconds_per_row: float, full_rows: int, bonus: float = 0.2) -> None:
        self.now, self.calls = 1000.0, []
        self.seconds_per_row, self.full_rows, self.bonus = seconds_per_row, full_rows, bonus
        monkeypatch.setattr(time, "perf_counter", lambda: self.now)
        monkeypatch.setattr(_runner, "evaluate", self.evaluate)

    def quality(self, config: dict) -> float:
        return (zlib.crc32(repr(sorted(config.items())).encode()) % 1000) / 2000  # fixed per config, in [0, 0.5)

    def evaluate(self, config, data, **kwargs):
        duration = data.n_rows * self.seconds_per_row
        self.now += duration
        self.calls.append(data.n_rows)
        score = self.quality(config) + (self.bonus if data.n_rows < self.full_rows else 0.0)
        return EvaluationResult(config, "balanced_accuracy", fold_scores=(score,), mean_score=score,
                                duration=duration, n_rows=data.n_rows)


def search(ds, budget, **kwargs):
    space = get_space(ds.task)
    return optimize(ds, n_trials=None, time_budget=budget, warm_start="none", random_state=0,
                    optimizer=RandomSearch(space, random_state=0), **kwargs)


def test_large_data_under_a_short_budget_is_screened_on_growing_subsamples(monkeypatch):
    ds = table(20_000)
    work = FakeWork(monkeypatch, seconds_per_row=1e-4, full_rows=20_000)  # a full evaluation: 2 s of 60
    res = search(ds, 60.0)
    hist = res.history
    rungs = rung_rows(20_000)
    assert rungs == [2222, 6666, 20_000] and 20_000 / 60 >= ROWS_PER_SECOND
    assert set(hist["n_rows"]) == set(rungs) and work.calls == list(hist["n_rows"])
    assert (hist.loc[hist["n_rows"] < 20_000, "status"] == "screened").all()
    assert (hist.loc[hist["n_rows"] == 20_000, "status"] == "ok").all()
    for start in range(0, len(hist) - 13, 13):  # every complete bracket: 9 candidates, the best 3, the best 1
        bracket = hist.iloc[start:start + 13]
        low, mid, top = bracket.iloc[:9], bracket.iloc[9:12], bracket.iloc[12:]
        assert list(bracket["n_rows"]) == [2222] * 9 + [6666] * 3 + [20_000]
        assert sorted(mid["number"]) == sorted(low.nlargest(9 // ETA, "score")["number"])
        assert list(top["number"]) == [mid.loc[mid["score"].idxmax(), "number"]]
    ok = hist.loc[hist["status"] == "ok"]
    assert len(ok) >= 2 and hist["score"].max() > ok["score"].max()  # subsample scores are higher here ...
    assert res.best_score == ok["score"].max()  # ... but only full evaluations compete
    assert res.best_config == ok.loc[ok["score"].idxmax(), "config"]


def test_a_costly_full_evaluation_switches_screening_on(monkeypatch):
    ds = table(5_000)
    budget = 100.0
    assert 5_000 / budget < ROWS_PER_SECOND  # not screened up front
    work = FakeWork(monkeypatch, seconds_per_row=FULL_SHARE * budget / 5_000, full_rows=5_000)
    hist = search(ds, budget).history
    assert list(hist["status"].iloc[:1]) == ["ok"] and hist["n_rows"].iloc[0] == 5_000
    assert list(hist["n_rows"].iloc[1:10]) == [555] * 9 and (hist["status"].iloc[1:10] == "screened").all()
    assert work.now - 1000.0 <= budget + 5_000 * work.seconds_per_row  # stopped at the budget (fake clock)


@pytest.mark.parametrize(("rows", "budget", "mode"), [(20_000, 60.0, "never"), (20_000, None, "auto"),
                                                      (1_000, 1.0, "always"), (3_000, 30.0, "auto")])
def test_no_screening_when_off_unneeded_or_impossible(monkeypatch, rows, budget, mode):
    ds = table(rows)
    FakeWork(monkeypatch, seconds_per_row=1e-5, full_rows=rows)
    res = optimize(ds, n_trials=4, time_budget=budget, warm_start="none", random_state=0, screening=mode,
                   optimizer=RandomSearch(get_space(ds.task), random_state=0))
    assert list(res.history["status"]) == ["ok"] * 4 and set(res.history["n_rows"]) == {rows}


def test_halving_plan_and_bad_mode():
    assert Halving(rung_rows(20_000), 30.0).active and not Halving(rung_rows(20_000), 120.0).active
    assert Halving(rung_rows(3_000), 10.0).width == 3 and Halving(rung_rows(20_000), 30.0).width == 9
    with pytest.raises(InvalidParameterError, match="screening"):
        optimize(table(100), n_trials=1, screening="sometimes")


def test_a_bracket_that_would_not_fit_sends_its_leader_straight_to_all_rows(monkeypatch):
    ds = table(20_000)
    FakeWork(monkeypatch, seconds_per_row=3e-4, full_rows=20_000)  # 0.67 s on 2,222 rows, 6 s on all of them
    hist = search(ds, 30.0).history
    first, rest = hist.iloc[:13], hist.iloc[13:]
    assert list(first["n_rows"]) == [2222] * 9 + [6666] * 3 + [20_000]  # 18 s: the first bracket fits
    # 12 s left: after one screened evaluation the rest of a bracket (17 s) would not fit
    assert list(rest["n_rows"].iloc[:2]) == [2222, 20_000] and rest["number"].iloc[0] == rest["number"].iloc[1]
    assert list(rest["status"].iloc[:2]) == ["screened", "ok"]


class FakeStart:
    """A forkserver start that takes ``seconds`` on a fake clock (or never ends)."""

    def __init__(self, clock: list, seconds: float) -> None:
        self.clock, self.seconds, self.joins = clock, seconds, []

    def join(self, timeout=None):
        self.joins.append(timeout)
        self.clock[0] += min(self.seconds, timeout)

    def is_alive(self) -> bool:
        return self.seconds == float("inf") or not self.joins  # running until joined (when it ends)


@pytest.mark.parametrize("seconds", [3.0, float("inf")])
def test_an_evaluation_waits_for_the_forkserver_only_within_its_time_limit(monkeypatch, seconds):
    from metalearn.optimize._optimize import TrialResult, _once_started

    clock = [50.0]
    monkeypatch.setattr(time, "perf_counter", lambda: clock[0])
    calls = []

    def run(config, time_limit, rows=None):
        calls.append(time_limit)
        return TrialResult(0.9)

    start = FakeStart(clock, seconds)
    result = _once_started(start, run, {"family": "linear"}, 10.0)
    assert start.joins == [10.0]
    if seconds == float("inf"):
        assert result.status == "timeout" and calls == [] and "had not started" in result.error
    else:
        assert result.ok and calls == [pytest.approx(7.0)]  # what the start left of the limit


def test_when_no_full_evaluation_fits_the_leader_is_screened_on_as_many_rows_as_fit(monkeypatch):
    ds = table(20_000)
    FakeWork(monkeypatch, seconds_per_row=3e-4, full_rows=20_000)
    hist = search(ds, 22.0).history  # the first bracket takes 18 s; 4 s are left, a full evaluation takes 6
    rest = hist.iloc[13:]
    assert list(rest["n_rows"].iloc[:2]) == [2222, 6666] and rest["number"].iloc[0] == rest["number"].iloc[1]
    assert (rest["n_rows"] < 20_000).all()  # no full evaluation that could not have finished
