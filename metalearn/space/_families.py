"""The pipeline families and their hyperparameters, per task.

Defaults follow scikit-learn's own defaults wherever the space can express
them, so "family default" means what a user gets from the estimator with no
arguments (plus the preprocessing the family needs).

LightGBM and XGBoost are deliberately absent: HistGradientBoosting covers
the same model class in scikit-learn itself, and the extra install (and the
version drift it brings into KB runs) has not earned its place yet.
"""

from __future__ import annotations

from metalearn.space._primitives import Categorical, Condition, Float, Int
from metalearn.space._space import Family, SearchSpace

CLASSIFICATION = "classification"
REGRESSION = "regression"


def _when(parent: str, *values: object) -> tuple[Condition, ...]:
    return (Condition(parent, tuple(values)),)


def _dense_preprocessing() -> tuple:
    """Imputation, scaling, encoding and optional reduction for scale-sensitive models."""
    return (
        Categorical("imputer", ("median", "mean"), "median"),
        Categorical("scaler", ("standard", "robust", "quantile", "minmax"), "standard"),
        Categorical("encoder", ("onehot", "ordinal", "target"), "onehot"),
        Categorical("reduce", ("none", "pca", "select"), "none"),
        Float("pca_variance", 0.5, 0.99, 0.95, conditions=_when("reduce", "pca")),
        Int("select_percentile", 10, 90, 50, conditions=_when("reduce", "select")),
    )


def _tree_preprocessing() -> tuple:
    return (
        Categorical("imputer", ("median", "mean"), "median"),
        Categorical("encoder", ("ordinal", "onehot", "target"), "ordinal"),
    )


def _hgb(task: str) -> Family:
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
    return Family("hist_gradient_boosting", params, "HistGradientBoosting with native categorical support")


def _forest(name: str, task: str, bootstrap_default: bool) -> Family:
    strategy_default = "sqrt" if task == CLASSIFICATION else "fraction"
    params = _tree_preprocessing() + (
        Int("n_estimators", 32, 256, 100, log=True),
        Categorical("max_features_strategy", ("sqrt", "log2", "fraction"), strategy_default),
        Float("max_features_fraction", 0.05, 1.0, 1.0, conditions=_when("max_features_strategy", "fraction")),
        Int("min_samples_leaf", 1, 32, 1, log=True),
        Int("min_samples_split", 2, 20, 2),
        Categorical("bootstrap", (True, False), bootstrap_default),
    )
    if task == CLASSIFICATION:
        params += (
            Categorical("criterion", ("gini", "entropy"), "gini"),
            Categorical("class_weight", ("none", "balanced"), "none"),
        )
    return Family(name, params)


def _linear(task: str) -> Family:
    if task == CLASSIFICATION:
        model = (
            Float("C", 1e-4, 1e4, 1.0, log=True),
            Categorical("class_weight", ("none", "balanced"), "none"),
        )
        return Family("linear", _dense_preprocessing() + model, "LogisticRegression (lbfgs, L2)")
    model = (
        Categorical("model", ("ridge", "elasticnet"), "ridge"),
        Float("alpha", 1e-4, 1e3, 1.0, log=True, conditions=_when("model", "ridge")),
        Float("enet_alpha", 1e-5, 10.0, 1e-3, log=True, conditions=_when("model", "elasticnet")),
        Float("l1_ratio", 0.01, 1.0, 0.5, conditions=_when("model", "elasticnet")),
    )
    return Family("linear", _dense_preprocessing() + model, "Ridge or ElasticNet")


def _svm(task: str) -> Family:
    model = (
        Float("C", 0.01, 1000.0, 1.0, log=True),
        Categorical("gamma_mode", ("scale", "value"), "scale"),
        Float("gamma", 1e-4, 10.0, 0.1, log=True, conditions=_when("gamma_mode", "value")),
    )
    if task == CLASSIFICATION:
        model += (Categorical("class_weight", ("none", "balanced"), "none"),)
    else:
        model += (Float("epsilon", 1e-3, 1.0, 0.1, log=True),)
    return Family("svm", _dense_preprocessing() + model, "RBF SVM, trained on at most 5000 rows")


def _knn() -> Family:
    model = (
        Int("n_neighbors", 1, 64, 5, log=True),
        Categorical("weights", ("uniform", "distance"), "uniform"),
        Categorical("p", (1, 2), 2),
    )
    return Family("knn", _dense_preprocessing() + model, "k-nearest neighbours")


def _mlp() -> Family:
    model = (
        Int("hidden_units", 16, 256, 100, log=True),
        Int("n_layers", 1, 3, 1),
        Float("alpha", 1e-7, 1e-1, 1e-4, log=True),
        Float("learning_rate_init", 1e-4, 1e-1, 1e-3, log=True),
        Int("max_iter", 50, 500, 200, log=True),
    )
    return Family("mlp", _dense_preprocessing() + model, "multi-layer perceptron (adam)")


def build_space(task: str) -> SearchSpace:
    """Build the :class:`SearchSpace` of ``task`` (use :func:`get_space`, which caches nothing but is cheap)."""
    families = (
        _hgb(task),
        _forest("random_forest", task, bootstrap_default=True),
        _forest("extra_trees", task, bootstrap_default=False),
        _linear(task),
        _svm(task),
        _knn(),
        _mlp(),
    )
    return SearchSpace(task, families)
