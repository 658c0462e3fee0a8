"""XGBoost: depth-wise histogram gradient boosting with native categorical support.

Ranges follow XGBoost's parameter documentation and the spaces FLAML
(XGBoostSklearnEstimator) and AutoGluon (XGBoost search space) publish,
narrowed to at most 1,024 trees.
"""

from __future__ import annotations

from metalearn.space._family import BuildContext, ModelFamily
from metalearn.space._primitives import Float, Int
from metalearn.space.families._boosting import boosted_pipeline

_PARAMS = ("n_estimators", "learning_rate", "max_depth", "min_child_weight", "subsample", "colsample_bytree",
           "reg_lambda", "reg_alpha")


class XGBoost(ModelFamily):
    """XGBoost's defaults (``hist`` trees), except ``reg_alpha`` 1e-8 (0 cannot sit on a log scale)."""

    def hyperparameters(self, task: str) -> tuple:
        return (
            Int("n_estimators", 16, 1024, 100, log=True),
            Float("learning_rate", 0.005, 0.5, 0.3, log=True),
            Int("max_depth", 2, 12, 6),
            Float("min_child_weight", 0.01, 64.0, 1.0, log=True),
            Float("subsample", 0.5, 1.0, 1.0),
            Float("colsample_bytree", 0.3, 1.0, 1.0),
            Float("reg_lambda", 1e-3, 100.0, 1.0, log=True),
            Float("reg_alpha", 1e-8, 10.0, 1e-8, log=True),
        )

    def build(self, config: dict, context: BuildContext):
        return boosted_pipeline("xgboost", {k: config[k] for k in _PARAMS}, context)


FAMILY = XGBoost("xgboost", "XGBoost (hist trees, native categoricals, one thread)", fallback_rank=8,
                 requires=("xgboost",), extra="xgboost")
