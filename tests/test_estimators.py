"""MetaLearnClassifier / MetaLearnRegressor behaviour beyond the scikit-learn contract."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from metalearn.estimators import MetaLearnClassifier, MetaLearnRegressor
from metalearn.exceptions import (
    EmptyDatasetError,
    InvalidParameterError,
    InvalidTargetError,
    LengthMismatchError,
)
from metalearn.space import get_space


@pytest.fixture(scope="module")
def mixed_frame():
    rng = np.random.default_rng(0)
    n = 120
    X = pd.DataFrame({"num": rng.normal(size=n), "cat": rng.choice(["a", "b", "c"], size=n),
                      "noise": rng.normal(size=n)})
    y = np.where((X["num"] > 0) ^ (X["cat"] == "a"), "yes", "no")
    return X, y


def _cheap(task):
    space = get_space(task)
    return [space.default("linear"), space.default("knn")]


def test_classifier_on_a_frame_with_categories_records_history(mixed_frame):
    X, y = mixed_frame
    clf = MetaLearnClassifier(n_trials=4, cv=3, warm_start=_cheap("classification"), random_state=0).fit(X, y)
    assert list(clf.classes_) == ["no", "yes"]
    assert {"config", "score", "status", "duration", "origin"} <= set(clf.history_.columns)
    assert list(clf.history_["origin"][:2]) == ["warm-start", "warm-start"]
    assert set(clf.history_["origin"][2:]) <= {"bo", "random"}
    proba = clf.predict_proba(X.iloc[:5])
    assert proba.shape == (5, 2) and np.allclose(proba.sum(axis=1), 1.0)
    assert set(clf.predict(X)) <= {"no", "yes"}
    assert clf.best_score_ == clf.history_["score"].max()
    assert clf.recommendation_ is None


def test_auto_warm_start_without_a_knowledge_base_falls_back_to_defaults(tmp_path, caplog):
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(60, 3)), rng.normal(size=60)
    reg = MetaLearnRegressor(n_trials=2, cv=2, kb=tmp_path / "missing", ensemble=False, random_state=0)
    with caplog.at_level("WARNING"):
        reg.fit(X, y)
    assert "family defaults" in caplog.text
    assert list(reg.history_["family"]) == ["hist_gradient_boosting", "random_forest"]


def test_fit_with_update_kb_appends_runs_to_a_user_kb(tmp_path, mixed_frame):
    from metalearn.kb import KBStore
    from metalearn.kb._kb import KnowledgeBase

    base = tmp_path / "base.sqlite"
    KBStore(base, create=True).close()
    X, y = mixed_frame
    clf = MetaLearnClassifier(n_trials=2, cv=2, kb=str(base), warm_start=_cheap("classification"),
                              ensemble=False, random_state=0)
    clf.fit(X, y, update_kb=tmp_path / "mine")
    kb = KnowledgeBase.open(tmp_path / "mine")
    assert len(kb.runs) == 2 and set(kb.runs["source"]) == {"user"}
    assert kb.datasets["metafeatures"].iloc[0]


@pytest.mark.parametrize("params", [{"n_jobs": -2}, {"warm_start": "sometimes"}, {"cv": 1},
                                    {"n_trials": -3}, {"random_state": "x"}, {"time_budget": -1},
                                    {"time_budget": 0}, {"time_budget": "60"}, {"n_jobs": 0}])
def test_invalid_parameters_raise_at_fit(params, monkeypatch):
    import importlib

    def no_search(*args, **kwargs):
        raise AssertionError("the search started with an invalid parameter")

    # a bad budget must not run, not even for a second
    monkeypatch.setattr(importlib.import_module("metalearn.estimators"), "optimize", no_search)
    X, y = np.random.default_rng(0).normal(size=(30, 2)), np.arange(30) % 2
    with pytest.raises(InvalidParameterError):
        MetaLearnClassifier(**{"warm_start": "defaults", **params}).fit(X, y)


@pytest.mark.parametrize("as_frame", [True, False])
@pytest.mark.parametrize(("make", "error", "words"), [
    (lambda X, y: (X, y[:10]), LengthMismatchError, "X has 30 rows but y has 10"),
    (lambda X, y: (X[:0], y[:0]), EmptyDatasetError, "0 rows"),
    (lambda X, y: (X, np.where(np.arange(30) < 3, np.nan, y)), InvalidTargetError, "3 of 30 target values"),
    (lambda X, y: (X, np.c_[y, y]), InvalidParameterError, "one-dimensional"),
])
def test_a_target_that_does_not_fit_x_is_refused_with_what_to_do(make, error, words, as_frame):
    X, y = np.random.default_rng(0).normal(size=(30, 2)), (np.arange(30) % 2).astype(float)
    X, y = make(pd.DataFrame(X, columns=["a", "b"]) if as_frame else X, y)
    for estimator in (MetaLearnClassifier(n_trials=1), MetaLearnRegressor(n_trials=1)):
        with pytest.raises(error, match=words):
            estimator.fit(X, y)


def test_auto_cv_uses_three_folds_only_for_large_data_under_a_time_budget(monkeypatch):
    import importlib

    import metalearn
    from metalearn.estimators import _effective_cv

    rng = np.random.default_rng(0)
    big = metalearn.load_dataset((rng.normal(size=(12_000, 3)), np.arange(12_000) % 2))
    small = metalearn.load_dataset((rng.normal(size=(200, 3)), np.arange(200) % 2))
    assert _effective_cv(big, "auto", time_budget=60) == 3
    assert _effective_cv(big, "auto") == 5  # no budget: the folds cost nothing that matters
    assert _effective_cv(small, "auto", time_budget=60) == 5
    assert _effective_cv(big, 5, time_budget=60) == 5  # an explicit number is kept
    with pytest.raises(InvalidParameterError, match="'auto' or an integer"):
        _effective_cv(small, "three")

    # the estimator passes the resolved folds to the search
    seen = {}

    class Stop(Exception):
        pass

    def fake_optimize(dataset, **kwargs):
        seen["cv"] = kwargs["cv"]
        raise Stop

    monkeypatch.setattr(importlib.import_module("metalearn.estimators"), "optimize", fake_optimize)
    with pytest.raises(Stop):
        MetaLearnClassifier(time_budget=30, warm_start="defaults").fit(big.X, big.y)
    assert seen["cv"] == 3
