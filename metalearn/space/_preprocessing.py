"""Preprocessing shared by the model families: imputation, scaling, encoding, reduction.

Each family composes these into its own pipeline; the hyperparameters that
drive them are declared here once (:func:`dense_preprocessing`,
:func:`tree_preprocessing`).
"""

from __future__ import annotations

from sklearn.compose import ColumnTransformer
from sklearn.decomposition import PCA
from sklearn.feature_selection import SelectPercentile, f_classif, f_regression
from sklearn.impute import SimpleImputer
from sklearn.model_selection import KFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import (
    MinMaxScaler,
    OneHotEncoder,
    OrdinalEncoder,
    QuantileTransformer,
    RobustScaler,
    StandardScaler,
    TargetEncoder,
)

from metalearn.space._family import REGRESSION, BuildContext
from metalearn.space._primitives import Categorical, Condition, Float, Int
from metalearn.space._text import text_parts

ONEHOT_MAX_CATEGORIES = 20
ORDINAL_MAX_CATEGORIES = 250


def when(parent: str, *values: object) -> tuple[Condition, ...]:
    """The condition "``parent`` takes one of ``values``"."""
    return (Condition(parent, tuple(values)),)


def dense_preprocessing() -> tuple:
    """Imputation, scaling, encoding and optional reduction for scale-sensitive models."""
    return (
        Categorical("imputer", ("median", "mean"), "median"),
        Categorical("scaler", ("standard", "robust", "quantile", "minmax"), "standard"),
        Categorical("encoder", ("onehot", "ordinal", "target"), "onehot"),
        Categorical("reduce", ("none", "pca", "select"), "none"),
        Float("pca_variance", 0.5, 0.99, 0.95, conditions=when("reduce", "pca")),
        Int("select_percentile", 10, 90, 50, conditions=when("reduce", "select")),
    )


def tree_preprocessing() -> tuple:
    """Imputation and encoding for tree ensembles (no scaling)."""
    return (
        Categorical("imputer", ("median", "mean"), "median"),
        Categorical("encoder", ("ordinal", "onehot", "target"), "ordinal"),
    )


def _scaler(name: str):
    return {
        "standard": StandardScaler(),
        "robust": RobustScaler(),
        "quantile": QuantileTransformer(n_quantiles=200, output_distribution="normal", subsample=10_000),
        "minmax": MinMaxScaler(),
        "none": "passthrough",
    }[name]


def ordinal_encoder(unknown_value: float = -1) -> OrdinalEncoder:
    """Integer codes; unknown and missing categories become ``unknown_value``, rare ones are grouped."""
    return OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=unknown_value,
                          encoded_missing_value=unknown_value, max_categories=ORDINAL_MAX_CATEGORIES)


def _encoder(name: str, context: BuildContext):
    if name == "onehot":
        return OneHotEncoder(handle_unknown="infrequent_if_exist", max_categories=ONEHOT_MAX_CATEGORIES,
                             sparse_output=False)
    if name == "target":
        return TargetEncoder(target_type="continuous" if context.task == REGRESSION else "auto",
                             cv=KFold(5, shuffle=True, random_state=context.random_state))
    return ordinal_encoder()


def _categorical_block(encoder: str, context: BuildContext):
    if encoder == "target":
        # TargetEncoder needs the missing values filled; keep "missing" as its own category
        return Pipeline([
            ("fill", SimpleImputer(strategy="constant", fill_value="__missing__")),
            ("encode", _encoder(encoder, context)),
        ])
    return _encoder(encoder, context)


def preprocessor(config: dict, context: BuildContext, scale: bool) -> ColumnTransformer:
    """Impute (and scale) numeric columns, encode categorical ones, as ``config`` says."""
    nums, cats = list(context.columns.numeric), list(context.columns.categorical)
    num_steps = [("impute", SimpleImputer(strategy=config["imputer"], keep_empty_features=True))]
    if scale:
        num_steps.append(("scale", _scaler(config["scaler"])))
    parts = []
    if cats:
        parts.append(("cat", _categorical_block(config["encoder"], context), cats))
    if nums:
        parts.append(("num", Pipeline(num_steps), nums))
    cat_encoded_scaled = scale and config["encoder"] != "onehot"
    if cats and cat_encoded_scaled:
        # ordinal/target codes feed distance- and gradient-based models: scale them too
        parts[0] = ("cat", Pipeline([("encode", parts[0][1]), ("scale", StandardScaler())]), cats)
    return ColumnTransformer(parts + text_parts(context.columns), remainder="drop", verbose_feature_names_out=False)


def reducer(config: dict, context: BuildContext):
    """PCA, univariate selection or nothing, as ``config["reduce"]`` says."""
    if config["reduce"] == "pca":
        return PCA(n_components=config["pca_variance"], svd_solver="full", random_state=context.random_state)
    if config["reduce"] == "select":
        score = f_classif if context.classification else f_regression
        return SelectPercentile(score, percentile=config["select_percentile"])
    return "passthrough"


def dense_pipeline(config: dict, context: BuildContext, model) -> Pipeline:
    """Scaled preprocessing, optional reduction, then ``model``."""
    return Pipeline([
        ("prep", preprocessor(config, context, scale=True)),
        ("reduce", reducer(config, context)),
        ("model", model),
    ])


def class_weight(config: dict) -> str | None:
    """scikit-learn's ``class_weight`` from a config's ``"none"``/``"balanced"`` choice (None when absent)."""
    value = config.get("class_weight", "none")
    return None if value == "none" else value
