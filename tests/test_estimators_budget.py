"""Budgets that hold: the fallback model, n_trials under a time budget, thread caps, one seed per fit."""

from __future__ import annotations

import contextlib
import importlib

import numpy as np
import pandas as pd
import pytest

from metalearn.estimators import DEFAULT_TRIALS, MetaLearnClassifier, MetaLearnRegressor
from metalearn.evaluation import EvaluationResult

estimators_module = importlib.import_module("metalearn.estimators")  # the search it calls is patched
_runner = importlib.import_module("metalearn.optimize._runner")


def data(n=120):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 3))
    return X, (X[:, 0] > 0).astype(int)


def test_no_finished_trial_still_gives_a_usable_model_marked_fallback(monkeypatch):
    def timed_out(config, dataset, **kwargs):
        return EvaluationResult(config, kwargs.get("metric") or "balanced_accuracy", status="timeout",
                                error="exceeded the time limit")

    monkeypatch.setattr(_runner, "evaluate", timed_out)
    X, y = data()
    clf = MetaLearnClassifier(n_trials=3, cv=3, warm_start="defaults", random_state=0).fit(X, y)
    assert clf.history_["origin"].iloc[-1] == "fallback"
    assert (clf.history_["status"].iloc[:-1] == "timeout").all()
    assert clf.best_config_["family"] == "hist_gradient_boosting" and np.isnan(clf.best_score_)
    assert clf.score(X, y) > 0.8


@pytest.mark.parametrize(("params", "expected"), [
    ({"time_budget": 30}, None),  # the time decides, not a trial count
    ({}, DEFAULT_TRIALS),
    ({"time_budget": 30, "n_trials": 7}, 7),
])
def test_n_trials_defaults_to_the_time_budget(monkeypatch, params, expected):
    seen = {}

    def fake_optimize(dataset, **kwargs):
        seen.update(kwargs)
        raise RuntimeError("stop here")

    monkeypatch.setattr(estimators_module, "optimize", fake_optimize)
    with pytest.raises(RuntimeError, match="stop here"):
        MetaLearnRegressor(warm_start="defaults", **params).fit(*data())
    assert seen["n_trials"] == expected


def test_n_jobs_caps_the_threads_of_refit_and_prediction(monkeypatch):
    import metalearn.estimators as estimators

    limits = []

    @contextlib.contextmanager
    def record(n):
        limits.append(n)
        yield

    monkeypatch.setattr(estimators, "threadpool_limits", record)
    X, y = data()
    clf = MetaLearnClassifier(n_trials=2, cv=3, warm_start="defaults", ensemble=False, random_state=0,
                              n_jobs=1).fit(X, y)
    clf.predict(X)
    clf.predict_proba(X)
    assert limits == [1, 1, 1]
    assert MetaLearnClassifier(n_jobs=-1)._n_jobs() >= 1


@pytest.mark.parametrize("state", [np.random.RandomState(3), np.random.default_rng(3), 3, None])
def test_random_state_is_resolved_once_per_fit(state):
    X, y = data()
    clf = MetaLearnClassifier(n_trials=2, cv=3, warm_start="defaults", ensemble=False, random_state=state)
    clf.fit(X, y)
    seed = clf._fit_seed
    assert isinstance(seed, int)
    model = clf.best_pipeline_.named_steps["model"]
    assert model.get_params()["random_state"] == seed  # the refit uses the seed the search used


def _screened_search(screened_score):
    """A fake search: linear finished on all 120 rows (0.70); knn was only screened, on 60 rows."""
    from metalearn.optimize import OptimizationResult
    from metalearn.space import get_space

    space = get_space("classification")
    linear, knn = space.default("linear"), space.default("knn")
    history = pd.DataFrame({
        "number": [0, 1], "config": [linear, knn], "config_id": ["a", "b"], "family": ["linear", "knn"],
        "score": [0.70, screened_score], "status": ["ok", "screened"], "duration": [0.1, 0.1],
        "origin": ["warm-start", "warm-start"], "error": ["", ""], "score_sd": [0.02, 0.02], "n_rows": [120, 60]})

    def fake_optimize(dataset, **kwargs):
        return OptimizationResult(linear, 0.70, history, "balanced_accuracy", 0.2)
    return fake_optimize


@pytest.mark.parametrize(("screened_score", "family", "origin"), [
    (0.95, "knn", "subsample"),  # well above the full winner: fitted on the 60 rows it was scored on
    (0.71, "linear", "warm-start"),  # within its standard error: the full winner is refitted
])
def test_a_screened_trial_that_beat_every_full_one_is_the_model(monkeypatch, screened_score, family, origin):
    monkeypatch.setattr(estimators_module, "optimize", _screened_search(screened_score))
    fitted_rows = []
    real_fit = estimators_module.fit_weighted
    monkeypatch.setattr(estimators_module, "fit_weighted",
                        lambda pipe, X, *args: fitted_rows.append(len(X)) or real_fit(pipe, X, *args))
    X, y = data()
    clf = MetaLearnClassifier(n_trials=2, cv=3, warm_start="defaults", ensemble=False, random_state=0).fit(X, y)
    chosen = clf.leaderboard_.loc[clf.leaderboard_["selected"]].iloc[0]
    assert (clf.best_config_["family"], chosen["family"], chosen["origin"]) == (family, family, origin)
    assert clf.best_score_ == pytest.approx(chosen["score"])
    assert fitted_rows == [60 if origin == "subsample" else 120]
    assert clf.predict(X).shape == (120,)
