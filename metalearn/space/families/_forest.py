"""Random forests and extra trees: bagged (or randomised) decision-tree ensembles."""

from __future__ import annotations

from dataclasses import dataclass

from sklearn.ensemble import ExtraTreesClassifier, ExtraTreesRegressor, RandomForestClassifier, RandomForestRegressor
from sklearn.pipeline import Pipeline

from metalearn.space._family import CLASSIFICATION, BuildContext, ModelFamily
from metalearn.space._preprocessing import class_weight, preprocessor, tree_preprocessing, when
from metalearn.space._primitives import Categorical, Float, Int


@dataclass(frozen=True)
class Forest(ModelFamily):
    """scikit-learn's defaults; ``extra`` picks ExtraTrees (no bootstrap by default) over RandomForest."""

    extra_trees: bool = False

    def hyperparameters(self, task: str) -> tuple:
        strategy_default = "sqrt" if task == CLASSIFICATION else "fraction"
        params = tree_preprocessing() + (
            Int("n_estimators", 32, 256, 100, log=True),
            Categorical("max_features_strategy", ("sqrt", "log2", "fraction"), strategy_default),
            Float("max_features_fraction", 0.05, 1.0, 1.0, conditions=when("max_features_strategy", "fraction")),
            Int("min_samples_leaf", 1, 32, 1, log=True),
            Int("min_samples_split", 2, 20, 2),
            Categorical("bootstrap", (True, False), not self.extra_trees),
        )
        if task == CLASSIFICATION:
            params += (
                Categorical("criterion", ("gini", "entropy"), "gini"),
                Categorical("class_weight", ("none", "balanced"), "none"),
            )
        return params

    def build(self, config: dict, context: BuildContext) -> Pipeline:
        if context.classification:
            cls = ExtraTreesClassifier if self.extra_trees else RandomForestClassifier
        else:
            cls = ExtraTreesRegressor if self.extra_trees else RandomForestRegressor
        strategy = config["max_features_strategy"]
        kwargs = dict(
            n_estimators=config["n_estimators"],
            max_features=config["max_features_fraction"] if strategy == "fraction" else strategy,
            min_samples_leaf=config["min_samples_leaf"], min_samples_split=config["min_samples_split"],
            bootstrap=config["bootstrap"], random_state=context.random_state, n_jobs=1,
        )
        if context.classification:
            kwargs["criterion"] = config["criterion"]
            kwargs["class_weight"] = class_weight(config)
        return Pipeline([("prep", preprocessor(config, context, scale=False)), ("model", cls(**kwargs))])


RANDOM_FOREST = Forest("random_forest", "random forest", fallback_rank=1)
EXTRA_TREES = Forest("extra_trees", "extremely randomised trees", fallback_rank=2, extra_trees=True)
