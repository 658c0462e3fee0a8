"""scikit-learn estimators: recommend, optimise, refit - ``MetaLearnClassifier`` / ``MetaLearnRegressor``.

``fit`` = validate -> meta-features -> recommendation (warm start) and
transfer prior from the knowledge base -> Bayesian optimisation within the
budget -> refit the best pipeline (or a Caruana ensemble of the best ones).
``__init__`` only stores its arguments; everything is validated in ``fit``.
"""

from __future__ import annotations

import logging
import os
import time
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data
from threadpoolctl import threadpool_limits

from metalearn._fitting import check_target as _check_target
from metalearn._fitting import effective_cv as _effective_cv
from metalearn._fitting import n_splits as _n_splits
from metalearn._fitting import resolve_seed
from metalearn._inspect import importance_frame
from metalearn.data import load_dataset
from metalearn.data._inputs import check_finite, check_input
from metalearn.data._validation import as_frame
from metalearn.evaluation import DEFAULT_MAX_ROWS, METRICS, get_metric
from metalearn.evaluation._metrics import aligned_proba
from metalearn.exceptions import (
    ColumnMismatchError,
    InvalidParameterError,
    InvalidTargetError,
)
from metalearn.kb import add_runs, check_user_kb
from metalearn.optimize import optimize
from metalearn.optimize._ensemble import (
    ENSEMBLE_CANDIDATES,
    EnsembleSelection,
    refit_reserve,
    score_predictions,
    select_from_predictions,
)
from metalearn.optimize._fallback import fallback_model, screened_winner
from metalearn.optimize._leaderboard import leaderboard
from metalearn.optimize._warm import check_warm_start
from metalearn.space import fit_weighted, get_space
from metalearn.utils import check_positive

logger = logging.getLogger(__name__)

#: Trials of a fit given neither ``n_trials`` nor ``time_budget``.
DEFAULT_TRIALS = 50


class _MetaLearnBase(BaseEstimator):
    """Shared implementation; see :class:`MetaLearnClassifier`."""

    _task = "classification"

    def __init__(self, time_budget=None, n_trials=None, metric=None, cv="auto", n_jobs=1, kb=None,
                 warm_start="auto", ensemble=True, random_state=None, verbose=0, scheduler=None,
                 memory_limit_mb="auto"):
        self.time_budget = time_budget
        self.n_trials = n_trials
        self.metric = metric
        self.cv = cv
        self.n_jobs = n_jobs
        self.kb = kb
        self.warm_start = warm_start
        self.ensemble = ensemble
        self.random_state = random_state
        self.verbose = verbose
        self.scheduler = scheduler
        self.memory_limit_mb = memory_limit_mb

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # every pipeline imputes
        return tags

    # -- fit ------------------------------------------------------------------
    def fit(self, X, y, sample_weight=None, groups=None, *, drop=None, column_types=None,
            update_kb: str | Path | None = None):
        """Search the pipeline space and refit the best pipeline (or ensemble) on all of ``(X, y)``.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            DataFrames may hold categorical (string) columns; arrays must be numeric.
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), optional
            Non-negative row weights for the model (last step) of every pipeline
            fitted (CV, refit, ensemble, fallback) and for the metric; families
            whose model takes none (k-NN) are skipped, with the reason logged.
        groups : array-like of shape (n_samples,), optional
            Group labels: no group is split across training and test folds
            (``GroupKFold``, or passed to the ``cv`` splitter's ``split``).
        drop : list of str, optional
            Columns of ``X`` to leave out (the fitted model ignores them in ``predict`` too).
        column_types : dict, optional
            Overrides the type decided for a column of ``X``: ``numeric``,
            ``categorical``, ``boolean``, ``text``, ``datetime`` or ``drop``
            (see :func:`metalearn.load_dataset`); ``column_plan_`` shows the decisions.
        update_kb : path, optional
            Append the finished trials and this dataset's meta-features to a
            user knowledge base at this path (copied from the shipped one on
            first write), so later recommendations learn from them.

        Returns
        -------
        self
        """
        start = time.perf_counter()
        self._check_params()
        if update_kb is not None and not get_metric(self.metric, self._task).builtin:
            raise InvalidParameterError(f"update_kb stores runs only for metalearn's own metrics, not "
                                        f"{self.metric!r}: fit without update_kb, or with one of {sorted(METRICS)}")
        self._fit_seed = resolve_seed(self.random_state)  # one seed per fit: the refit is the pipeline that was scored
        dataset = self._dataset(X, y, drop, column_types).with_weights(sample_weight, groups)
        if update_kb is not None:
            check_user_kb(update_kb)  # before the search, not after it
        cv = _effective_cv(dataset, self.cv, self.time_budget)
        n_folds = _n_splits(cv, dataset)
        budget = None
        if self.time_budget is not None:  # what loading left; optimize() counts the warm start, we the refit
            budget = max(float(self.time_budget) - (time.perf_counter() - start), 1.0)
        result = optimize(
            dataset, n_trials=self._n_trials(), time_budget=budget, metric=self.metric, cv=cv,
            n_jobs=self._n_jobs(), warm_start=self.warm_start, kb=self.kb, random_state=self._fit_seed,
            verbose=self.verbose, scheduler=self.scheduler, memory_limit_mb=self.memory_limit_mb,
            reserve=None if self.time_budget is None else partial(
                refit_reserve, total=float(self.time_budget), cv=n_folds, ensemble=bool(self.ensemble),
                scale=dataset.n_rows / min(dataset.n_rows, DEFAULT_MAX_ROWS)),
            keep_predictions=ENSEMBLE_CANDIDATES if self.ensemble else 0,
        )
        self.recommendation_ = result.warm_start.recommendation
        self.history_ = result.history
        self.metric_ = result.metric
        with threadpool_limits(self._n_jobs()):
            if result.best_config is None:
                self._fit_fallback(dataset, start, n_folds)
                extra = []
            else:
                extra = self._fit_final(dataset, result, start, n_folds)
        self.leaderboard_ = self._leaderboard(extra)
        if update_kb is not None:
            # the fallback was not scored, and screened rows were scored on a subsample only
            searched = self.history_.loc[(self.history_["origin"] != "fallback")
                                         & (self.history_["status"] != "screened")]
            add_runs(searched, dataset, update_kb, metric=result.metric,
                     metafeatures=result.warm_start.metafeatures,
                     base=self.kb if isinstance(self.kb, (str, Path)) else None)
        return self

    def _fit_fallback(self, dataset, start: float, n_folds: int) -> None:
        """No trial finished: fit :func:`fallback_model` so that ``fit`` still returns a usable model."""
        errors = self.history_["error"].dropna().tolist()
        left = None if self.time_budget is None else float(self.time_budget) - (time.perf_counter() - start)
        logger.warning("none of the %d evaluated pipelines finished (first error: %s); fitting a cheap fallback "
                       "model instead", len(self.history_), errors[0] if errors else "none recorded")
        began = time.perf_counter()
        screened = self.history_.loc[self.history_["status"] == "screened"]
        self.best_config_, self.best_pipeline_, rows = fallback_model(dataset, left, self._fit_seed, screened,
                                                                      n_folds)
        self.best_score_ = float("nan")
        self.ensemble_ = None
        row = {"number": len(self.history_), "config": self.best_config_, "config_id": None,
               "family": self.best_config_["family"], "score": float("nan"), "status": "ok",
               "duration": time.perf_counter() - began, "origin": "fallback", "error": "", "score_sd": float("nan"),
               "n_rows": rows}
        self.history_ = pd.concat([self.history_, pd.DataFrame([row])], ignore_index=True)

    def _leaderboard(self, extra: list[dict]) -> pd.DataFrame:
        """``history_`` and the ensemble's row (``extra``) best first, the model ``predict`` uses marked."""
        if extra:
            chosen = int(extra[0]["number"])
        elif self.history_["origin"].iloc[-1] == "fallback":
            chosen = int(self.history_["number"].iloc[-1])
        else:
            ok = self.history_.loc[self.history_["status"] == "ok"]
            chosen = int(ok.loc[ok["score"].idxmax(), "number"])
        rows = pd.concat([self.history_, pd.DataFrame(extra)], ignore_index=True) if extra else self.history_
        return leaderboard(rows, selected=chosen)

    def _check_params(self) -> None:
        check_positive("n_trials", self.n_trials, integer=True)
        check_positive("time_budget", self.time_budget)
        if self.n_jobs != -1:
            check_positive("n_jobs", self.n_jobs, integer=True)
        check_warm_start(self.warm_start)
        get_metric(self.metric, self._task)  # an unknown metric fails here, before any work

    def _n_trials(self) -> int | None:
        """``n_trials``, or: unlimited under a ``time_budget`` (the time decides), else ``DEFAULT_TRIALS``."""
        if self.n_trials is not None:
            return int(self.n_trials)
        return None if self.time_budget is not None else DEFAULT_TRIALS

    def _n_jobs(self) -> int:
        """Worker count and thread cap of the whole fit (-1: every core)."""
        return os.cpu_count() or 1 if self.n_jobs == -1 else int(self.n_jobs)

    def _seed(self) -> int:
        """The seed resolved at the start of ``fit``."""
        return self._fit_seed

    def _dataset(self, X, y, drop=None, column_types=None):
        """Validate ``(X, y)`` the scikit-learn way, then as a metalearn :class:`Dataset`."""
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None")
        _check_target(X, y)
        check_input(X)
        if hasattr(X, "iloc"):
            frame = as_frame(X).reset_index(drop=True)  # duplicate or mixed column names: our errors
            validate_data(self, X, y, skip_check_array=True)
            y = np.asarray(y)
        else:
            X, y = validate_data(self, X, y, ensure_all_finite="allow-nan", ensure_min_samples=2,
                                 y_numeric=self._task == "regression")
            frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
        if self._task == "classification":
            check_classification_targets(y)
            if len(np.unique(y)) < 2:
                raise InvalidTargetError("the target has only one class; a classifier needs at least 2 classes")
        dataset = load_dataset((frame, y), task=self._task, name=type(self).__name__, drop=drop,
                               column_types=column_types)
        self._columns = tuple(frame.columns)
        self.column_plan_ = dataset.plan
        if self._task == "classification":
            self.classes_ = dataset.classes
        return dataset

    def _fit_final(self, dataset, result, start: float, n_folds: int) -> list[dict]:
        """Refit the search's best (:meth:`_refit`), or a screened trial that beat it on its subsample.

        A screened winner (:func:`screened_winner`) is fitted on as many rows
        as its score was measured on; its leaderboard row (origin
        ``subsample``) is returned.
        """
        left = None if self.time_budget is None else float(self.time_budget) - (time.perf_counter() - start)
        row = screened_winner(self.history_, result.best_score, n_folds, left)
        if row is None:
            self.best_config_, self.best_score_ = result.best_config, result.best_score
            return self._refit(dataset, result, start)
        began = time.perf_counter()
        self.best_config_, self.best_score_, self.ensemble_ = dict(row["config"]), float(row["score"]), None
        data = dataset.subsample(int(row["n_rows"]), self._fit_seed)
        self.best_pipeline_ = self._fit_one(get_space(dataset.task), self.best_config_, data)
        logger.info("trial %d (%s) scored %.4f on %d rows, above the best full evaluation (%.4f): fitted on those rows",
                    int(row["number"]), row["family"], self.best_score_, data.n_rows, result.best_score)
        return [{"number": len(self.history_), "config": self.best_config_, "config_id": row["config_id"],
                 "family": row["family"], "score": self.best_score_, "status": "ok",
                 "duration": time.perf_counter() - began, "origin": "subsample", "error": "",
                 "score_sd": row["score_sd"], "n_rows": data.n_rows}]

    def _refit(self, dataset, result, start: float) -> list[dict]:
        """Fit the best pipeline on all data; replace it by an ensemble when that scores better out of fold.

        The ensemble is selected from the out-of-fold predictions the trials
        kept (``result.predictions``): nothing is cross-validated again, only
        its other members are refitted, and only when their refits (estimated
        from the best one's, scaled by the trials' durations) fit in the budget.
        ``dataset.sample_weight`` weights the fits and the selection's metric.
        Returns the leaderboard row of the ensemble (empty when there is none).
        """
        space = get_space(dataset.task)
        need_proba = self._task == "classification"
        began = time.perf_counter()
        self.best_pipeline_ = self._fit_one(space, self.best_config_, dataset)
        refit_seconds = time.perf_counter() - began
        self.ensemble_ = None
        ok = self.history_.loc[self.history_["status"] == "ok"].sort_values("score", ascending=False, kind="stable")
        order = [int(n) for n in ok["number"] if int(n) in result.predictions][:ENSEMBLE_CANDIDATES]
        if not self.ensemble or len(order) < 2 or order[0] != int(ok["number"].iloc[0]):
            return []
        classes = dataset.classes if need_proba else None
        metric = get_metric(self.metric_, dataset.task)
        weights = select_from_predictions(result.predictions, order, result.target, metric, classes=classes,
                                          sample_weight=result.target_weight)
        duration = dict(zip(ok["number"].astype(int), ok["duration"]))
        others = [n for n in weights if n != order[0]]
        cost = refit_seconds * sum(duration[n] for n in others) / max(duration[order[0]], 1e-9)
        if not weights or (self.time_budget is not None
                           and time.perf_counter() - start + cost > float(self.time_budget)):
            return []
        config = dict(zip(ok["number"].astype(int), ok["config"]))
        members = [self.best_pipeline_ if n == order[0] else self._fit_one(space, config[n], dataset) for n in weights]
        self.ensemble_ = EnsembleSelection(members, list(weights.values()), classes)
        blended = sum(w * np.asarray(result.predictions[n], dtype=float) for n, w in weights.items())
        score = score_predictions(metric, blended, result.target, classes, result.target_weight)
        text = ", ".join(f"{config[n]['family']} x{w:.2f}" for n, w in weights.items())
        return [{"number": len(self.history_), "config": {"family": "ensemble", "members": text},
                 "config_id": None, "family": "ensemble", "score": score, "status": "ok",
                 "duration": time.perf_counter() - began, "origin": "ensemble", "error": "", "score_sd": float("nan"),
                 "n_rows": dataset.n_rows}]

    def _fit_one(self, space, config: dict, dataset):
        """``config``'s pipeline fitted on all of ``dataset`` (weighted when it has ``sample_weight``)."""
        pipe = space.to_pipeline(config, dataset, random_state=self._seed(), need_proba=self._task == "classification")
        return fit_weighted(pipe, dataset.X, dataset.y, dataset.sample_weight, config["family"])

    # -- predict ----------------------------------------------------------------
    def _frame(self, X) -> pd.DataFrame:
        """``X`` checked against the columns seen in ``fit`` and transformed by ``column_plan_``."""
        check_is_fitted(self, "best_pipeline_")
        check_input(X)
        try:
            if hasattr(X, "iloc"):
                frame = as_frame(X).reset_index(drop=True)
                validate_data(self, X, skip_check_array=True, reset=False)
            else:
                X = validate_data(self, X, ensure_all_finite="allow-nan", reset=False)
                frame = pd.DataFrame(X, columns=list(self._columns))
        except ValueError as exc:
            if not str(exc).startswith("The feature names should match") and "features, but" not in str(exc):
                raise
            raise ColumnMismatchError(
                f"{str(exc).rstrip()}\nPass X with the columns of fit, in the same order: "
                "X[model.feature_names_in_]") from None
        features = self.column_plan_.transform(frame)
        check_finite(features, self.column_plan_.feature_types)
        return features

    def feature_importance(self, X, y, *, n_repeats: int = 5, random_state=None, sample_weight=None) -> pd.DataFrame:
        """Permutation importance of each column of ``X`` on held-out data, most important first.

        Each column is shuffled ``n_repeats`` times and the drop of the fit's
        metric is recorded (:func:`sklearn.inspection.permutation_importance`);
        returns a DataFrame of ``feature``, ``importance``, ``importance_sd``.

        Examples
        --------
        >>> from sklearn.datasets import load_iris
        >>> from metalearn.estimators import MetaLearnClassifier
        >>> X, y = load_iris(return_X_y=True, as_frame=True)
        >>> clf = MetaLearnClassifier(n_trials=1, cv=3, warm_start="defaults", ensemble=False,
        ...                           random_state=0).fit(X[::2], y[::2])
        >>> clf.feature_importance(X[1::2], y[1::2], random_state=0)["feature"].iloc[0].startswith("petal")
        True
        """
        check_is_fitted(self, "best_pipeline_")
        _check_target(X, y)
        columns = list(X.columns) if hasattr(X, "columns") else list(self._columns)
        check_positive("n_repeats", n_repeats, integer=True)
        with threadpool_limits(self._n_jobs()):
            return importance_frame(self, X, np.asarray(y), get_metric(self.metric, self._task), columns,
                                    n_repeats=n_repeats, random_state=random_state, sample_weight=sample_weight)

    @property
    def _model(self):
        return self.ensemble_ if getattr(self, "ensemble_", None) is not None else self.best_pipeline_

    def predict(self, X) -> np.ndarray:
        """Predictions of the refitted best pipeline (or ensemble)."""
        frame = self._frame(X)
        with threadpool_limits(self._n_jobs()):
            return np.asarray(self._model.predict(frame))


class MetaLearnClassifier(ClassifierMixin, _MetaLearnBase):
    """AutoML classifier warm-started from a knowledge base of past runs.

    Parameters
    ----------
    time_budget : float, optional
        Wall-clock seconds for the whole ``fit`` (search, refit, ensemble).
        When one cross-validation would take a large share of it, candidates
        are screened on growing subsamples first (successive halving; their
        ``history_`` rows have status ``screened`` and the rows they used in
        ``n_rows``), and only the survivors are cross-validated on all rows.
        When no evaluated pipeline finishes in time, a cheap fallback model
        (the best screened candidate on its subsample when its screening took
        less than what is left, else HistGradientBoosting's default on a
        subsample, or the linear default on 2,000 rows when under 5 s are
        left) is fitted instead, marked ``origin="fallback"`` in ``history_``.
    n_trials : int or None
        Maximum configurations evaluated. None (default): 50 without a
        ``time_budget``, else as many as the budget allows.
    metric : str or callable, optional
        What the search maximises: ``balanced_accuracy`` (default),
        ``accuracy``, ``roc_auc``, ``log_loss``, a scikit-learn scorer name
        or a scorer callable ``scorer(estimator, X, y)`` (higher is better).
        The warm start ranks the KB's configurations by the metric the KB
        stores (balanced accuracy, R²) whatever this is; ``score`` stays
        accuracy (R²) as in scikit-learn (``docs/estimators.md``).
    cv : "auto", int, splitter or iterable of (train, test) indices
        Cross-validation folds per evaluation (fewer on tiny data), or a
        scikit-learn splitter object (``GroupKFold(5)``,
        ``TimeSeriesSplit(4)``, ...; it gets ``groups`` from ``fit``), or
        the folds themselves. ``"auto"``:
        5, or 3 under a ``time_budget`` when the evaluations see at least
        10,000 rows (they are subsampled to 20,000): on large data five folds
        cost two thirds more than three and tell configurations apart little
        better, and under a budget that cost is trials not run.
    n_jobs : int
        Evaluations run in parallel, and the thread cap of the refit, the
        ensemble and prediction (-1: every core).
    kb : None, path, KnowledgeBase or Recommender
        Knowledge base for the recommendation and the transfer prior (None: the shipped one).
    warm_start : {"auto", "defaults", "none"} or list of dict
        ``auto`` tries the KB's top 3 recommendations first, then lets the KB's
        adaptive portfolio pick (up to 25 trials) before Bayesian optimisation
        takes over (family defaults when the KB has no data); ``defaults`` tries
        every family's default first, ``none`` starts cold, a list gives the
        configurations to try first.
    ensemble : bool
        Replace the best pipeline by a Caruana ensemble of the top ones when
        it scores better out of fold.
    random_state : None, int, numpy RandomState or Generator
        Resolved to one seed at the start of each ``fit``, used by the search and the refit alike.
    verbose : int
        ``>0`` shows a progress bar on a terminal or in a Jupyter notebook.
        Each finished trial is also logged at INFO level (logger
        ``metalearn.optimize``; see ``logging.basicConfig(level=logging.INFO)``).
    scheduler : None, str or distributed.Client
        Evaluate the trials on a Dask cluster: a scheduler address, a client
        or ``"local:N"`` (see :func:`metalearn.optimize.optimize` and
        ``docs/distributed.md``); meta-features and the refit stay local.
    memory_limit_mb : "auto", int or None
        Address-space cap of each evaluation process (``"auto"``: 80 % of the
        machine's memory shared among the ``n_jobs`` evaluations, at least
        4096 MB; None: no limit). Each evaluation also stops after 600 s
        when no ``time_budget`` bounds it sooner.

    Attributes
    ----------
    best_config_ : dict
    best_score_ : float
        Cross-validated score of ``best_config_`` (higher is better).
    best_pipeline_ : sklearn.pipeline.Pipeline
        ``best_config_`` refitted on all the data.
    ensemble_ : EnsembleSelection or None
    history_ : pandas.DataFrame
        One row per trial: config, score, score_sd, status, duration, origin (``warm-start``, ``portfolio``,
        ``bo``, ``random``, ``fallback``) ...
    leaderboard_ : pandas.DataFrame
        Every trial (and the ensemble, when one was chosen), best first:
        rank, family, hyperparameters, score, score_sd, fit_time, origin,
        status, selected (the model ``predict`` uses), trial, error, config
        (see :func:`metalearn.optimize.leaderboard`).
    metric_ : str
        Name of the metric the search maximised.
    recommendation_ : Recommendation or None
        The knowledge base's top 10 for this dataset (None when ``warm_start`` is not ``auto`` or the
        knowledge base has nothing for this task).
    classes_ : ndarray
    column_plan_ : metalearn.data.ColumnPlan
        What became of each column of ``X`` (kept, expanded from dates, taken
        as text, dropped as an identifier); ``predict`` applies it unchanged.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from metalearn.estimators import MetaLearnClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = MetaLearnClassifier(n_trials=3, cv=3, warm_start="defaults", random_state=0).fit(X, y)
    >>> clf.score(X, y) > 0.9
    True
    """

    _task = "classification"

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, one column per entry of ``classes_``."""
        frame = self._frame(X)
        with threadpool_limits(self._n_jobs()):
            return aligned_proba(self._model, frame, self.classes_)


class MetaLearnRegressor(RegressorMixin, _MetaLearnBase):
    """AutoML regressor warm-started from a knowledge base of past runs.

    Same parameters and attributes as :class:`MetaLearnClassifier`; metrics
    are ``r2`` (default), ``rmse``, ``mae``.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from metalearn.estimators import MetaLearnRegressor
    >>> X, y = load_diabetes(return_X_y=True)
    >>> reg = MetaLearnRegressor(n_trials=2, cv=3, warm_start="defaults", random_state=0).fit(X, y)
    >>> reg.score(X, y) > 0.3
    True
    """

    _task = "regression"


__all__ = ["MetaLearnClassifier", "MetaLearnRegressor"]
