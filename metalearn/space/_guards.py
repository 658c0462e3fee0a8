"""Meta-estimators that keep a model safe on any data size.

``GuardedClassifier`` / ``GuardedRegressor`` wrap a model so that it is
trained on at most ``max_rows`` rows (stratified for classifiers; used for
SVMs, whose cost grows quadratically) and so that ``n_neighbors`` never
exceeds the number of training rows (k-NN on tiny folds).
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.utils.metaestimators import available_if

from metalearn.data._dataset import subsample_indices
from metalearn.utils import softmax_decision


def _inner_has(attr: str):
    def check(self) -> bool:
        return hasattr(self.estimator, attr)

    return check


class _Guarded(BaseEstimator):
    """Common fit logic; see the module docstring."""

    _task = "regression"

    def __init__(self, estimator: BaseEstimator, max_rows: int | None = None, random_state: int | None = 0) -> None:
        self.estimator = estimator
        self.max_rows = max_rows
        self.random_state = random_state

    def fit(self, X, y, **fit_params):
        """Fit a clone of ``estimator`` on at most ``max_rows`` rows."""
        y = np.asarray(y)
        n = len(y)
        if self.max_rows is not None and n > self.max_rows:
            idx = subsample_indices(y, self._task, self.max_rows, self.random_state)
            X = X.iloc[idx] if hasattr(X, "iloc") else np.asarray(X)[idx]
            y = y[idx]
            if fit_params.get("sample_weight") is not None:  # the weights of the rows kept
                fit_params = {**fit_params, "sample_weight": np.asarray(fit_params["sample_weight"])[idx]}
            n = len(idx)
        est = _fit_safe_calibration(clone(self.estimator), y)
        inner = est.regressor if hasattr(est, "regressor") and not hasattr(est, "n_neighbors") else est
        if hasattr(inner, "n_neighbors") and inner.n_neighbors > n:
            inner.set_params(n_neighbors=max(1, n))
        self.estimator_ = est.fit(X, y, **fit_params)
        if hasattr(self.estimator_, "classes_"):
            self.classes_ = self.estimator_.classes_
        return self

    def predict(self, X):
        """Predict with the fitted inner estimator."""
        return self.estimator_.predict(X)


def _fit_safe_calibration(est: BaseEstimator, y: np.ndarray) -> BaseEstimator:
    """Shrink a calibrator's folds to the smallest class, or drop it when a class has a single sample."""
    if not isinstance(est, CalibratedClassifierCV) or not isinstance(est.cv, int):
        return est
    smallest = int(np.unique(y, return_counts=True)[1].min())
    if smallest >= est.cv:
        return est
    return est.set_params(cv=smallest) if smallest >= 2 else est.estimator


class GuardedClassifier(ClassifierMixin, _Guarded):
    """Classifier guard (stratified row cap, k-NN clamp, calibration that fits tiny classes)."""

    _task = "classification"

    @available_if(_inner_has("predict_proba"))
    def predict_proba(self, X):
        """Class probabilities of the inner estimator (softmax of its decision function if it was uncalibrated)."""
        if hasattr(self.estimator_, "predict_proba"):
            return self.estimator_.predict_proba(X)
        return softmax_decision(self.estimator_.decision_function(X))

    @available_if(_inner_has("decision_function"))
    def decision_function(self, X):
        """Decision function of the inner estimator."""
        return self.estimator_.decision_function(X)


class GuardedRegressor(RegressorMixin, _Guarded):
    """Regressor guard (row cap, k-NN clamp)."""
