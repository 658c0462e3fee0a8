"""The ensemble is selected from the out-of-fold predictions the trials produced, never by cross-validating again."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.pipeline import Pipeline

import metalearn
import metalearn.estimators as estimators_module
from metalearn.estimators import MetaLearnClassifier
from metalearn.evaluation import get_metric, make_folds
from metalearn.optimize import TrialResult, ensemble_selection, optimize
from metalearn.optimize._ensemble import ENSEMBLE_CANDIDATES, select_from_predictions
from metalearn.optimize._optimize import _KeptPredictions
from metalearn.space import get_space

optimize_module = importlib.import_module("metalearn.optimize")

FAMILIES = ("linear", "knn", "random_forest", "extra_trees", "hist_gradient_boosting")


def configs(task="classification"):
    space = get_space(task)
    return [space.default(f) for f in FAMILIES]


def noisy():
    X, y = make_classification(240, 8, n_informative=4, flip_y=0.15, random_state=1)
    return X, y


def test_the_ensemble_step_fits_only_its_members_and_selects_greedily_on_the_stored_predictions(monkeypatch):
    real_optimize, seen = optimize_module.optimize, {}

    def keep_result(*args, **kwargs):
        seen["result"] = real_optimize(*args, **kwargs)
        return seen["result"]

    fits = []
    real_fit = Pipeline.fit

    def counting_fit(self, X, y=None, **params):
        fits.append(len(X))
        return real_fit(self, X, y, **params)

    monkeypatch.setattr(estimators_module, "optimize", keep_result)  # the estimators' own reference
    monkeypatch.setattr(Pipeline, "fit", counting_fit)  # the evaluations run in worker processes: not counted
    X, y = noisy()
    clf = MetaLearnClassifier(n_trials=len(FAMILIES), cv=3, warm_start=configs(), random_state=0).fit(X, y)

    result = seen["result"]
    assert len(result.predictions) == ENSEMBLE_CANDIDATES  # they came back from the isolated workers
    assert clf.ensemble_ is not None
    assert fits == [len(X)] * len(clf.ensemble_.estimators)  # one refit per member on all rows, no CV fold
    ok = clf.history_.sort_values("score", ascending=False, kind="stable")
    order = [int(n) for n in ok["number"]]
    greedy = ensemble_selection([result.predictions[n].astype(float) for n in order], result.target,
                                get_metric("balanced_accuracy", "classification"), classes=clf.classes_)
    assert clf.ensemble_.weights == [w for w in greedy.tolist() if w > 0]


def test_kept_predictions_are_the_trials_out_of_fold_predictions():
    ds = metalearn.load_dataset("sklearn:wine")
    res = optimize(ds, n_trials=3, cv=3, isolation="none", warm_start=configs()[:3], random_state=0,
                   keep_predictions=2)
    assert sorted(res.predictions) == sorted(int(n) for n in res.history.nlargest(2, "score")["number"])
    number = int(res.history["score"].idxmax())
    stored = res.predictions[number]
    assert stored.dtype == np.float32 and stored.shape == (ds.n_rows, len(ds.classes))
    pipe = get_space(ds.task).to_pipeline(res.history["config"][number], ds, random_state=0)
    expected = np.zeros(stored.shape)
    for train, test in make_folds(ds, 3, 0):
        expected[test] = clone(pipe).fit(ds.X.iloc[train], ds.y[train]).predict_proba(ds.X.iloc[test])
    np.testing.assert_allclose(stored, expected, atol=1e-6)
    np.testing.assert_array_equal(res.target, ds.y)


def test_only_the_best_k_predictions_are_kept():
    kept = _KeptPredictions(2)
    for number, score in enumerate([0.5, 0.9, 0.7, 0.8, 0.6]):
        kept.add(number, TrialResult(score, predictions=np.full(3, score, dtype=np.float32)))
    kept.add(5, TrialResult(float("nan"), status="failed"))
    assert sorted(kept.predictions) == [1, 3]


def test_no_predictions_are_kept_unless_asked():
    ds = metalearn.load_dataset("sklearn:wine")
    res = optimize(ds, n_trials=2, cv=3, isolation="none", warm_start=configs()[:2], random_state=0)
    assert res.predictions == {} and res.target is None
    with pytest.raises(metalearn.exceptions.InvalidParameterError, match="keep_predictions"):
        optimize(ds, n_trials=2, keep_predictions=-1)


def test_selection_from_predictions_is_empty_when_the_best_alone_is_as_good():
    y = np.array([0.0, 1.0, 2.0, 3.0])
    metric = get_metric("r2", "regression")
    assert select_from_predictions({0: y.copy(), 1: y * 0}, [0, 1], y, metric) == {}
    weights = select_from_predictions({3: y + 1, 1: y - 1}, [3, 1], y, metric, size=4)
    assert weights == {3: 0.5, 1: 0.5}
