"""CatBoost: symmetric-tree gradient boosting with ordered target statistics for categoricals.

Ranges follow CatBoost's parameter-tuning documentation and the spaces FLAML
(CatBoostEstimator) and AutoGluon (CatBoost search space) publish. The
default is CatBoost's own: 1,000 iterations with the learning rate CatBoost
derives from the data (``learning_rate_mode="auto"``).
"""

from __future__ import annotations

from metalearn.space._family import CLASSIFICATION, BuildContext, ModelFamily
from metalearn.space._preprocessing import when
from metalearn.space._primitives import Categorical, Float, Int
from metalearn.space.families._boosting import boosted_pipeline


class CatBoost(ModelFamily):
    """CatBoost's defaults."""

    def hyperparameters(self, task: str) -> tuple:
        params = (
            Int("iterations", 32, 1000, 1000, log=True),
            Categorical("learning_rate_mode", ("auto", "value"), "auto"),
            Float("learning_rate", 0.005, 0.5, 0.03, log=True, conditions=when("learning_rate_mode", "value")),
            Int("depth", 2, 10, 6),
            Float("l2_leaf_reg", 0.1, 30.0, 3.0, log=True),
            Float("random_strength", 0.1, 10.0, 1.0, log=True),
        )
        if task == CLASSIFICATION:
            params += (Categorical("auto_class_weights", ("none", "Balanced"), "none"),)
        return params

    def build(self, config: dict, context: BuildContext):
        params = {k: config[k] for k in ("iterations", "depth", "l2_leaf_reg", "random_strength")}
        if config["learning_rate_mode"] == "value":
            params["learning_rate"] = config["learning_rate"]
        if config.get("auto_class_weights", "none") != "none":
            params["auto_class_weights"] = config["auto_class_weights"]
        return boosted_pipeline("catboost", params, context)


FAMILY = CatBoost("catboost", "CatBoost (ordered target statistics for categoricals, one thread)", fallback_rank=9,
                  requires=("catboost",), extra="catboost")
