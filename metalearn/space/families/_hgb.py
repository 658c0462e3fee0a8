"""HistGradientBoosting: scikit-learn's histogram gradient boosting, with native categorical support."""

from __future__ import annotations

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.pipeline import Pipeline

from metalearn.space._binning import QuantileBinner
from metalearn.space._family import CLASSIFICATION, BuildContext, ModelFamily
from metalearn.space._preprocessing import class_weight, ordinal_encoder
from metalearn.space._primitives import Categorical, Float, Int
from metalearn.space._text import text_parts


class HistGradientBoosting(ModelFamily):
    """scikit-learn's defaults, except ``l2_regularization`` 1e-6 (0 cannot sit on a log scale)."""

    def hyperparameters(self, task: str) -> tuple:
        params = (
            Float("learning_rate", 0.01, 0.5, 0.1, log=True),
            Int("max_iter", 32, 512, 100, log=True),
            Int("max_leaf_nodes", 4, 128, 31, log=True),
            Int("min_samples_leaf", 1, 128, 20, log=True),
            Float("l2_regularization", 1e-6, 10.0, 1e-6, log=True),
            Float("max_features", 0.2, 1.0, 1.0),
        )
        if task == CLASSIFICATION:
            params += (Categorical("class_weight", ("none", "balanced"), "none"),)
        return params

    def build(self, config: dict, context: BuildContext) -> Pipeline:
        nums, cats = list(context.columns.numeric), list(context.columns.categorical)
        parts = []
        if cats:
            parts.append(("cat", ordinal_encoder(unknown_value=np.nan), cats))
        weighted = class_weight(config) is not None
        if nums:  # weighted binning is slow in scikit-learn 1.6-1.9: bin without weights first (see _binning)
            parts.append(("num", QuantileBinner(random_state=context.random_state) if weighted else "passthrough",
                          nums))
        prep = ColumnTransformer(parts + text_parts(context.columns), remainder="drop",
                                 verbose_feature_names_out=False)
        cls = HistGradientBoostingClassifier if context.classification else HistGradientBoostingRegressor
        kwargs = dict(
            learning_rate=config["learning_rate"], max_iter=config["max_iter"],
            max_leaf_nodes=config["max_leaf_nodes"], min_samples_leaf=config["min_samples_leaf"],
            l2_regularization=config["l2_regularization"], max_features=config["max_features"],
            categorical_features=list(range(len(cats))) if cats else None, random_state=context.random_state,
        )
        if context.classification:
            kwargs["class_weight"] = class_weight(config)
        return Pipeline([("prep", prep), ("model", cls(**kwargs))])


FAMILY = HistGradientBoosting("hist_gradient_boosting", "HistGradientBoosting with native categorical support",
                              fallback_rank=0)
