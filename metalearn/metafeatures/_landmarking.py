"""Landmarking: cross-validated scores of cheap models on a bounded subsample.

The models see a stratified (classification) or random subsample of at most
:data:`MAX_ROWS_LANDMARK` rows and :data:`MAX_COLUMNS_LANDMARK` columns: the
numeric attributes and the integer codes of the nominal ones, missing values
replaced by the column median, standardized. Scores are out-of-fold over at
most 5 (stratified) folds: accuracy for classifiers, R^2 for regressors.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.linear_model import Ridge
from sklearn.metrics import accuracy_score, cohen_kappa_score, r2_score, roc_auc_score
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from metalearn.data import subsample_indices
from metalearn.metafeatures._context import NOMINAL_TYPES, ExtractionContext, intermediate, sample_columns
from metalearn.metafeatures._registry import UndefinedMetaFeature, metafeature

G = "landmarking"
C, R = "classification", "regression"
MAX_ROWS_LANDMARK = 1_000
MAX_COLUMNS_LANDMARK = 100
N_FOLDS = 5
TREE_DEPTH = 3


@intermediate("landmark_data")
def _landmark_data(ctx: ExtractionContext) -> tuple[np.ndarray, np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
    """(X, y, folds): the encoded, imputed, standardized subsample and its CV splits."""
    ds = ctx.dataset
    rng = ctx.rng("landmark_data")
    rows = np.arange(ds.n_rows)
    if ds.n_rows > MAX_ROWS_LANDMARK:
        rows = subsample_indices(ds.y, ds.task, MAX_ROWS_LANDMARK, int(rng.integers(2**31)))
    cols = sample_columns(list(ds.feature_names), MAX_COLUMNS_LANDMARK, rng)
    frame = ds.X.iloc[rows][cols]
    nominal = set(ds.columns_of_type(*NOMINAL_TYPES))
    x = np.empty(frame.shape)
    for j, col in enumerate(cols):
        values = frame[col]
        if col in nominal:
            codes = values.factorize(use_na_sentinel=True)[0].astype(float)
            x[:, j] = np.where(codes < 0, np.nan, codes)
        else:
            x[:, j] = values.to_numpy(dtype=float)
    x = _impute_and_scale(x)
    y = ds.y[rows]
    if ds.task == C:
        y = np.unique(y, return_inverse=True)[1].ravel()
    return x, y, _folds(y, ds.task, int(rng.integers(2**31)))


def _impute_and_scale(x: np.ndarray) -> np.ndarray:
    missing = np.isnan(x)
    if missing.any():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-missing column: median is NaN, set to 0 below
            medians = np.nanmedian(x, axis=0)
        x = np.where(missing, np.nan_to_num(medians), x)
    sd = x.std(axis=0)
    return (x - x.mean(axis=0)) / np.where(sd > 0, sd, 1.0)


def _folds(y: np.ndarray, task: str, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    if len(y) < 4:
        raise UndefinedMetaFeature("landmarking needs at least 4 rows")
    if task == C:
        smallest = int(np.bincount(y).min())
        if smallest >= 2:
            splitter = StratifiedKFold(n_splits=min(N_FOLDS, smallest), shuffle=True, random_state=seed)
            return list(splitter.split(np.zeros(len(y)), y))
    splitter = KFold(n_splits=min(N_FOLDS, len(y) // 2), shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros(len(y))))


def _out_of_fold(ctx: ExtractionContext, make: Callable[[], Any], proba: bool = False) -> np.ndarray:
    x, y, folds = ctx.get("landmark_data")
    n_classes = int(y.max()) + 1 if ctx.dataset.task == C else 0
    out = np.zeros((len(y), n_classes)) if proba else np.zeros(len(y), dtype=y.dtype)
    for train, test in folds:
        model = make()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # collinearity / convergence chatter of tiny models
            model.fit(x[train], y[train])
            if proba:
                out[np.ix_(test, model.classes_)] = model.predict_proba(x[test])
            else:
                out[test] = model.predict(x[test])
    return out


def _accuracy(ctx: ExtractionContext, make: Callable[[], Any]) -> float:
    y = ctx.get("landmark_data")[1]
    return float(accuracy_score(y, _out_of_fold(ctx, make)))


def _r2(ctx: ExtractionContext, make: Callable[[], Any]) -> float:
    y = ctx.get("landmark_data")[1]
    if np.ptp(y) == 0:
        raise UndefinedMetaFeature("R^2 is undefined for a constant target subsample")
    return float(r2_score(y, _out_of_fold(ctx, make)))


@metafeature("Landmark1NN", G, ("landmark_data",), task=C, description="CV accuracy of 1-nearest-neighbour")
def landmark_1nn(ctx: ExtractionContext) -> float:
    return _accuracy(ctx, lambda: KNeighborsClassifier(n_neighbors=1, algorithm="brute"))


@intermediate("tree_predictions")
def _tree_predictions(ctx: ExtractionContext) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold predictions of the depth-limited tree and of its root split (the decision stump).

    A greedy tree's root split is the split a stump with the same criterion
    would choose, so one fit per fold serves both landmarkers.
    """
    x, y, folds = ctx.get("landmark_data")
    stump, tree = np.zeros_like(y), np.zeros_like(y)
    for train, test in folds:
        model = DecisionTreeClassifier(max_depth=TREE_DEPTH, criterion="entropy", random_state=ctx.seed)
        model.fit(x[train], y[train])
        tree[test] = model.predict(x[test])
        nodes = model.tree_
        if nodes.children_left[0] < 0:  # no split at all: the root is a leaf
            stump[test] = model.classes_[np.argmax(nodes.value[0, 0])]
            continue
        goes_left = x[test, nodes.feature[0]] <= nodes.threshold[0]
        left, right = nodes.children_left[0], nodes.children_right[0]
        stump[test] = np.where(goes_left, model.classes_[np.argmax(nodes.value[left, 0])],
                               model.classes_[np.argmax(nodes.value[right, 0])])
    return stump, tree


@metafeature("LandmarkDecisionNodeLearner", G, ("landmark_data", "tree_predictions"), task=C,
             description="CV accuracy of a decision stump (depth 1, entropy)")
def landmark_decision_node(ctx: ExtractionContext) -> float:
    return float(accuracy_score(ctx.get("landmark_data")[1], ctx.get("tree_predictions")[0]))


@metafeature("LandmarkRandomNodeLearner", G, ("landmark_data",), task=C,
             description="CV accuracy of a decision stump on one random attribute")
def landmark_random_node(ctx: ExtractionContext) -> float:
    return _accuracy(ctx, lambda: DecisionTreeClassifier(max_depth=1, max_features=1, random_state=ctx.seed))


@metafeature("LandmarkDecisionTree", G, ("landmark_data", "tree_predictions"), task=C,
             description=f"CV accuracy of a decision tree of depth at most {TREE_DEPTH} (entropy)")
def landmark_decision_tree(ctx: ExtractionContext) -> float:
    return float(accuracy_score(ctx.get("landmark_data")[1], ctx.get("tree_predictions")[1]))


@metafeature("LandmarkLDA", G, ("landmark_data",), task=C,
             description="CV accuracy of linear discriminant analysis (shrinkage 'auto')")
def landmark_lda(ctx: ExtractionContext) -> float:
    _, y, folds = ctx.get("landmark_data")
    for train, _test in folds:
        n_classes = np.unique(y[train]).size
        if n_classes < 2 or len(train) <= n_classes:
            raise UndefinedMetaFeature("LDA needs two classes and more rows than classes in every training fold")
    return _accuracy(ctx, lambda: LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto"))


@intermediate("naive_bayes_probabilities")
def _naive_bayes_probabilities(ctx: ExtractionContext) -> np.ndarray:
    proba = _out_of_fold(ctx, GaussianNB, proba=True)
    if not np.isfinite(proba).all():
        raise UndefinedMetaFeature("naive Bayes probabilities are not finite (every feature constant in a fold)")
    return proba


@metafeature("LandmarkNaiveBayes", G, ("landmark_data", "naive_bayes_probabilities"), task=C,
             description="CV accuracy of Gaussian naive Bayes")
def landmark_naive_bayes(ctx: ExtractionContext) -> float:
    y = ctx.get("landmark_data")[1]
    return float(accuracy_score(y, ctx.get("naive_bayes_probabilities").argmax(axis=1)))


@metafeature("NaiveBayesErrRate", G, ("landmark_data", "naive_bayes_probabilities"), task=C,
             description="1 - LandmarkNaiveBayes (OpenML's name; Gaussian NB on the landmarking subsample)")
def naive_bayes_err_rate(ctx: ExtractionContext) -> float:
    return 1.0 - landmark_naive_bayes(ctx)


@metafeature("NaiveBayesKappa", G, ("landmark_data", "naive_bayes_probabilities"), task=C,
             description="Cohen's kappa of the CV naive Bayes predictions")
def naive_bayes_kappa(ctx: ExtractionContext) -> float:
    y = ctx.get("landmark_data")[1]
    predicted = ctx.get("naive_bayes_probabilities").argmax(axis=1)
    if np.unique(np.concatenate([y, predicted])).size < 2:
        raise UndefinedMetaFeature("kappa is undefined when truth and predictions hold one class only")
    return float(cohen_kappa_score(y, predicted))


@metafeature("NaiveBayesAUC", G, ("landmark_data", "naive_bayes_probabilities"), task=C,
             description="class-prevalence-weighted one-vs-rest ROC AUC of the CV naive Bayes probabilities")
def naive_bayes_auc(ctx: ExtractionContext) -> float:
    y = ctx.get("landmark_data")[1]
    proba = ctx.get("naive_bayes_probabilities")
    if np.unique(y).size < 2:
        raise UndefinedMetaFeature("AUC needs two classes in the landmarking subsample")
    if proba.shape[1] == 2:
        return float(roc_auc_score(y, proba[:, 1]))
    counts = np.bincount(y, minlength=proba.shape[1])
    aucs = [roc_auc_score(y == k, proba[:, k]) for k in range(proba.shape[1]) if 0 < counts[k] < len(y)]
    weights = [counts[k] for k in range(proba.shape[1]) if 0 < counts[k] < len(y)]
    return float(np.average(aucs, weights=weights))


@metafeature("Landmark1NNR2", G, ("landmark_data",), task=R, description="CV R^2 of the 1-nearest-neighbour regressor")
def landmark_1nn_r2(ctx: ExtractionContext) -> float:
    return _r2(ctx, lambda: KNeighborsRegressor(n_neighbors=1, algorithm="brute"))


@metafeature("LandmarkDecisionStumpR2", G, ("landmark_data",), task=R,
             description="CV R^2 of a depth-1 regression tree")
def landmark_stump_r2(ctx: ExtractionContext) -> float:
    return _r2(ctx, lambda: DecisionTreeRegressor(max_depth=1, random_state=ctx.seed))


@metafeature("LandmarkDecisionTreeR2", G, ("landmark_data",), task=R,
             description=f"CV R^2 of a regression tree of depth at most {TREE_DEPTH}")
def landmark_tree_r2(ctx: ExtractionContext) -> float:
    return _r2(ctx, lambda: DecisionTreeRegressor(max_depth=TREE_DEPTH, random_state=ctx.seed))


@metafeature("LandmarkLinearR2", G, ("landmark_data",), task=R, description="CV R^2 of ridge regression (alpha=1)")
def landmark_linear_r2(ctx: ExtractionContext) -> float:
    return _r2(ctx, lambda: Ridge(alpha=1.0))
