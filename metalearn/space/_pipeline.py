"""Turn a configuration into an unfitted scikit-learn ``Pipeline``."""

from __future__ import annotations

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
from sklearn.decomposition import PCA
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.feature_selection import SelectPercentile, f_classif, f_regression
from sklearn.impute import SimpleImputer
from sklearn.linear_model import ElasticNet, LogisticRegression, Ridge
from sklearn.model_selection import KFold
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.neural_network import MLPClassifier, MLPRegressor
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
from sklearn.svm import SVC, SVR

from metalearn.space._binning import QuantileBinner
from metalearn.space._guards import GuardedClassifier, GuardedRegressor
from metalearn.space._text import text_parts

SVM_MAX_ROWS = 5000
ONEHOT_MAX_CATEGORIES = 20
ORDINAL_MAX_CATEGORIES = 250


def _scaler(name: str):
    return {
        "standard": StandardScaler(),
        "robust": RobustScaler(),
        "quantile": QuantileTransformer(n_quantiles=200, output_distribution="normal", subsample=10_000),
        "minmax": MinMaxScaler(),
        "none": "passthrough",
    }[name]


def _encoder(name: str, task: str, random_state: int | None):
    if name == "onehot":
        return OneHotEncoder(handle_unknown="infrequent_if_exist", max_categories=ONEHOT_MAX_CATEGORIES,
                             sparse_output=False)
    if name == "target":
        return TargetEncoder(target_type="continuous" if task == "regression" else "auto",
                             cv=KFold(5, shuffle=True, random_state=random_state))
    return OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1, encoded_missing_value=-1,
                          max_categories=ORDINAL_MAX_CATEGORIES)


def _categorical_block(encoder: str, task: str, random_state: int | None):
    if encoder == "target":
        # TargetEncoder needs the missing values filled; keep "missing" as its own category
        return Pipeline([
            ("fill", SimpleImputer(strategy="constant", fill_value="__missing__")),
            ("encode", _encoder(encoder, task, random_state)),
        ])
    return _encoder(encoder, task, random_state)


def _columns(dataset) -> tuple[list[str], list[str]]:
    names, types = dataset.feature_names, dataset.feature_types
    cats = [n for n, t in zip(names, types) if t == "categorical"]
    nums = [n for n, t in zip(names, types) if t not in ("categorical", "text")]  # text: see text_parts
    return nums, cats


def _preprocessor(config: dict, dataset, task: str, random_state: int | None, scale: bool) -> ColumnTransformer:
    nums, cats = _columns(dataset)
    num_steps = [("impute", SimpleImputer(strategy=config["imputer"], keep_empty_features=True))]
    if scale:
        num_steps.append(("scale", _scaler(config["scaler"])))
    parts = []
    if cats:
        parts.append(("cat", _categorical_block(config["encoder"], task, random_state), cats))
    if nums:
        parts.append(("num", Pipeline(num_steps), nums))
    cat_encoded_scaled = scale and config["encoder"] != "onehot"
    if cats and cat_encoded_scaled:
        # ordinal/target codes feed distance- and gradient-based models: scale them too
        parts[0] = ("cat", Pipeline([("encode", parts[0][1]), ("scale", StandardScaler())]), cats)
    return ColumnTransformer(parts + text_parts(dataset), remainder="drop", verbose_feature_names_out=False)


def _hgb_pipeline(config: dict, dataset, task: str, random_state: int | None) -> Pipeline:
    nums, cats = _columns(dataset)
    parts = []
    if cats:
        parts.append(("cat", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan,
                                            encoded_missing_value=np.nan,
                                            max_categories=ORDINAL_MAX_CATEGORIES), cats))
    weighted = task == "classification" and config["class_weight"] != "none"
    if nums:  # weighted binning is slow in scikit-learn 1.6-1.9: bin without weights first (see _binning)
        parts.append(("num", QuantileBinner(random_state=random_state) if weighted else "passthrough", nums))
    prep = ColumnTransformer(parts + text_parts(dataset), remainder="drop", verbose_feature_names_out=False)
    cls = HistGradientBoostingClassifier if task == "classification" else HistGradientBoostingRegressor
    kwargs = dict(
        learning_rate=config["learning_rate"], max_iter=config["max_iter"],
        max_leaf_nodes=config["max_leaf_nodes"], min_samples_leaf=config["min_samples_leaf"],
        l2_regularization=config["l2_regularization"], max_features=config["max_features"],
        categorical_features=list(range(len(cats))) if cats else None, random_state=random_state,
    )
    if task == "classification":
        kwargs["class_weight"] = None if config["class_weight"] == "none" else config["class_weight"]
    return Pipeline([("prep", prep), ("model", cls(**kwargs))])


def _forest_model(config: dict, task: str, random_state: int | None):
    extra = config["family"] == "extra_trees"
    if task == "classification":
        cls = ExtraTreesClassifier if extra else RandomForestClassifier
    else:
        cls = ExtraTreesRegressor if extra else RandomForestRegressor
    strategy = config["max_features_strategy"]
    kwargs = dict(
        n_estimators=config["n_estimators"],
        max_features=config["max_features_fraction"] if strategy == "fraction" else strategy,
        min_samples_leaf=config["min_samples_leaf"], min_samples_split=config["min_samples_split"],
        bootstrap=config["bootstrap"], random_state=random_state, n_jobs=1,
    )
    if task == "classification":
        kwargs["criterion"] = config["criterion"]
        kwargs["class_weight"] = None if config["class_weight"] == "none" else config["class_weight"]
    return cls(**kwargs)


def _dense_model(config: dict, task: str, random_state: int | None, need_proba: bool):
    fam, cls_task = config["family"], task == "classification"
    weight = (None if config.get("class_weight", "none") == "none" else config["class_weight"])
    if fam == "linear":
        if cls_task:
            return LogisticRegression(C=config["C"], class_weight=weight, max_iter=1000)
        if config["model"] == "ridge":
            return Ridge(alpha=config["alpha"])
        return ElasticNet(alpha=config["enet_alpha"], l1_ratio=config["l1_ratio"], max_iter=5000)
    if fam == "svm":
        gamma = config["gamma"] if config["gamma_mode"] == "value" else "scale"
        if cls_task:
            model = SVC(C=config["C"], gamma=gamma, class_weight=weight, random_state=random_state)
            if need_proba:
                model = CalibratedClassifierCV(model, ensemble=False, cv=3)
            return GuardedClassifier(model, max_rows=SVM_MAX_ROWS, random_state=random_state)
        model = TransformedTargetRegressor(SVR(C=config["C"], gamma=gamma, epsilon=config["epsilon"]),
                                           transformer=StandardScaler())
        return GuardedRegressor(model, max_rows=SVM_MAX_ROWS, random_state=random_state)
    if fam == "knn":
        cls = KNeighborsClassifier if cls_task else KNeighborsRegressor
        model = cls(n_neighbors=config["n_neighbors"], weights=config["weights"], p=config["p"])
        return (GuardedClassifier if cls_task else GuardedRegressor)(model, max_rows=None)
    if fam == "mlp":
        layers = (config["hidden_units"],) * config["n_layers"]
        kwargs = dict(hidden_layer_sizes=layers, alpha=config["alpha"],
                      learning_rate_init=config["learning_rate_init"], max_iter=config["max_iter"],
                      random_state=random_state)
        if cls_task:
            return MLPClassifier(**kwargs)
        return TransformedTargetRegressor(MLPRegressor(**kwargs), transformer=StandardScaler())
    raise KeyError(fam)


def _reducer(config: dict, task: str, random_state: int | None):
    if config["reduce"] == "pca":
        return PCA(n_components=config["pca_variance"], svd_solver="full", random_state=random_state)
    if config["reduce"] == "select":
        score = f_classif if task == "classification" else f_regression
        return SelectPercentile(score, percentile=config["select_percentile"])
    return "passthrough"


def build_pipeline(config: dict, dataset, task: str, *, random_state: int | None = 0,
                   need_proba: bool = False) -> Pipeline:
    """Build the unfitted pipeline of a validated ``config``.

    ``dataset`` provides ``feature_names`` and ``feature_types`` (a
    :class:`metalearn.Dataset` does); the pipeline expects a DataFrame with
    those columns.
    """
    fam = config["family"]
    if fam == "hist_gradient_boosting":
        return _hgb_pipeline(config, dataset, task, random_state)
    if fam in ("random_forest", "extra_trees"):
        prep = _preprocessor(config, dataset, task, random_state, scale=False)
        return Pipeline([("prep", prep), ("model", _forest_model(config, task, random_state))])
    prep = _preprocessor(config, dataset, task, random_state, scale=True)
    return Pipeline([
        ("prep", prep),
        ("reduce", _reducer(config, task, random_state)),
        ("model", _dense_model(config, task, random_state, need_proba)),
    ])
