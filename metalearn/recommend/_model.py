"""Learned performance model: (meta-features, configuration) -> normalised score, with uncertainty."""

from __future__ import annotations

import numpy as np
from sklearn.ensemble import ExtraTreesRegressor

from metalearn.recommend._base import Ranking, Strategy
from metalearn.recommend._context import TaskContext
from metalearn.recommend._forest import ArrayForest
from metalearn.space import get_space


class PerformanceModel(Strategy):
    """Extra-trees regression of normalised scores on meta-features and the config encoding.

    Trained on every (KB dataset, pool config) cell; it ranks the whole pool
    for a new dataset and can score configurations outside the pool (the
    optimizer uses it as a transfer prior). Uncertainty is the spread of the
    trees' predictions. Only the encoding columns that vary over the pool are
    inputs (``columns_``): a family or hyperparameter the KB never tried adds
    nothing to learn from, and counting it in ``max_features`` would make a
    space with more families change the model of a KB that has none of them.
    The fitted trees are kept as arrays
    (:class:`~metalearn.recommend._forest.ArrayForest`, attribute ``forest_``),
    so a saved model is data and loads under any scikit-learn version.

    Parameters
    ----------
    n_estimators, min_samples_leaf, max_features : see ``ExtraTreesRegressor``.
    random_state : int
    """

    name = "model"

    def __init__(self, n_estimators: int = 48, min_samples_leaf: int = 4, max_features: float = 0.33,
                 random_state: int = 0) -> None:
        self.n_estimators = n_estimators
        self.min_samples_leaf = min_samples_leaf
        self.max_features = max_features
        self.random_state = random_state

    def fit(self, ctx: TaskContext) -> PerformanceModel:
        """Fit on the context's cells (failed cells count as 0)."""
        super().fit(ctx)
        self._encode_pool(ctx)
        n_ds, n_cfg = ctx.norm.shape
        X = np.hstack([np.repeat(ctx.mf, n_cfg, axis=0), np.tile(self.config_codes_, (n_ds, 1))])
        model = ExtraTreesRegressor(
            n_estimators=self.n_estimators, min_samples_leaf=self.min_samples_leaf,
            max_features=self.max_features, random_state=self.random_state, n_jobs=1,
        ).fit(X, ctx.norm.ravel())
        self.forest_ = ArrayForest.from_sklearn(model)
        return self

    def params(self) -> dict:
        """The constructor's parameters (stored with a saved model)."""
        return {"n_estimators": self.n_estimators, "min_samples_leaf": self.min_samples_leaf,
                "max_features": self.max_features, "random_state": self.random_state}

    @classmethod
    def from_forest(cls, ctx: TaskContext, forest: ArrayForest, params: dict) -> PerformanceModel:
        """A model fitted on ``ctx`` earlier, rebuilt from its stored trees (see :meth:`params`)."""
        model = cls(**params)
        Strategy.fit(model, ctx)
        model._encode_pool(ctx)
        if forest.n_features != ctx.mf.shape[1] + model.config_codes_.shape[1]:
            raise ValueError(f"the stored trees read {forest.n_features} inputs, the context gives "
                             f"{ctx.mf.shape[1] + model.config_codes_.shape[1]}")
        model.forest_ = forest
        return model

    def _encode_pool(self, ctx: TaskContext) -> None:
        """``space_``, ``columns_`` (encoding columns that vary over the pool) and the pool's ``config_codes_``."""
        self.space_ = get_space(ctx.task)
        codes = self.space_.encode_many(list(ctx.configs))
        self.columns_ = np.flatnonzero(np.ptp(codes, axis=0) > 0) if len(codes) else np.arange(codes.shape[1])
        self.config_codes_ = codes[:, self.columns_]

    def predict_codes(self, query: np.ndarray, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and spread of the predicted normalised score on ``query`` of configs encoded as ``config_codes_``."""
        X = np.hstack([np.repeat(query[None, :], len(codes), axis=0), codes])
        per_tree = self.forest_.predict_per_tree(X)
        return per_tree.mean(axis=0), per_tree.std(axis=0)

    def predict_configs(self, query: np.ndarray, configs: list[dict]) -> tuple[np.ndarray, np.ndarray]:
        """Predicted normalised score (mean, spread) of arbitrary configs of the space."""
        return self.predict_codes(query, self.space_.encode_many(configs)[:, self.columns_])

    def describe(self) -> str:
        """How the ranking is ordered."""
        return "Order: predicted normalised score of the learned performance model."

    def rank(self, query: np.ndarray, k: int) -> Ranking:
        """The pool ordered by predicted score."""
        mean, std = self.predict_codes(query, self.config_codes_)
        idx = np.lexsort((np.arange(len(mean)), -mean))[:k]
        return Ranking(self.name, idx, mean[idx], std[idx])
