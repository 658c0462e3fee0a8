"""LightGBM: leaf-wise gradient boosting with native categorical splits.

Ranges follow LightGBM's parameter-tuning guide and the spaces FLAML
(``flaml/automl/model.py``, LGBMEstimator) and AutoGluon (LightGBM search
space) publish, narrowed to what a 3-fold evaluation on a few thousand rows
can afford (at most 1,024 trees).
"""

from __future__ import annotations

from metalearn.space._family import CLASSIFICATION, BuildContext, ModelFamily
from metalearn.space._preprocessing import class_weight
from metalearn.space._primitives import Categorical, Float, Int
from metalearn.space.families._boosting import boosted_pipeline


class LightGBM(ModelFamily):
    """LightGBM's defaults, except ``reg_alpha``/``reg_lambda`` 1e-8 (0 cannot sit on a log scale)."""

    def hyperparameters(self, task: str) -> tuple:
        params = (
            Int("n_estimators", 16, 1024, 100, log=True),
            Float("learning_rate", 0.005, 0.5, 0.1, log=True),
            Int("num_leaves", 4, 256, 31, log=True),
            Int("min_child_samples", 2, 128, 20, log=True),
            Float("colsample_bytree", 0.3, 1.0, 1.0),
            Float("subsample", 0.5, 1.0, 1.0),
            Float("reg_alpha", 1e-8, 10.0, 1e-8, log=True),
            Float("reg_lambda", 1e-8, 10.0, 1e-8, log=True),
        )
        if task == CLASSIFICATION:
            params += (Categorical("class_weight", ("none", "balanced"), "none"),)
        return params

    def build(self, config: dict, context: BuildContext):
        params = {k: config[k] for k in ("n_estimators", "learning_rate", "num_leaves", "min_child_samples",
                                         "colsample_bytree", "subsample", "reg_alpha", "reg_lambda")}
        params["subsample_freq"] = 1 if config["subsample"] < 1.0 else 0  # LightGBM bags only with a frequency
        if context.classification:
            params["class_weight"] = class_weight(config)
        return boosted_pipeline("lightgbm", params, context)


FAMILY = LightGBM("lightgbm", "LightGBM (native categoricals, one thread)", fallback_rank=7,
                  requires=("lightgbm",), extra="lightgbm")
