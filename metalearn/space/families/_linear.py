"""Linear models: L2 logistic regression (classification), ridge or elastic net (regression)."""

from __future__ import annotations

from sklearn.linear_model import ElasticNet, LogisticRegression, Ridge

from metalearn.space._family import CLASSIFICATION, BuildContext, ModelFamily
from metalearn.space._preprocessing import class_weight, dense_pipeline, dense_preprocessing, when
from metalearn.space._primitives import Categorical, Float


class Linear(ModelFamily):
    """scikit-learn's defaults (LogisticRegression with ``max_iter=1000`` so that it converges)."""

    def hyperparameters(self, task: str) -> tuple:
        if task == CLASSIFICATION:
            return dense_preprocessing() + (
                Float("C", 1e-4, 1e4, 1.0, log=True),
                Categorical("class_weight", ("none", "balanced"), "none"),
            )
        return dense_preprocessing() + (
            Categorical("model", ("ridge", "elasticnet"), "ridge"),
            Float("alpha", 1e-4, 1e3, 1.0, log=True, conditions=when("model", "ridge")),
            Float("enet_alpha", 1e-5, 10.0, 1e-3, log=True, conditions=when("model", "elasticnet")),
            Float("l1_ratio", 0.01, 1.0, 0.5, conditions=when("model", "elasticnet")),
        )

    def build(self, config: dict, context: BuildContext):
        if context.classification:
            model = LogisticRegression(C=config["C"], class_weight=class_weight(config), max_iter=1000)
        elif config["model"] == "ridge":
            model = Ridge(alpha=config["alpha"])
        else:
            model = ElasticNet(alpha=config["enet_alpha"], l1_ratio=config["l1_ratio"], max_iter=5000)
        return dense_pipeline(config, context, model)


FAMILY = Linear("linear", "LogisticRegression (lbfgs, L2) or Ridge / ElasticNet", fallback_rank=3)
