"""Mapping OpenML flow setups (scikit-learn estimators and their parameters) into our search space.

:func:`map_setup` turns one setup of a flow such as
``sklearn.pipeline.Pipeline(imputer=...,estimator=sklearn.ensemble.RandomForestClassifier)``
into a configuration of our space, or says why it cannot.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from metalearn.exceptions import MetaLearnError

#: Estimator class (last part of the flow's class name) -> our family.
ESTIMATOR_FAMILIES: dict[str, str] = {
    "RandomForestClassifier": "random_forest",
    "ExtraTreesClassifier": "extra_trees",
    "LogisticRegression": "linear",
    "SVC": "svm",
    "KNeighborsClassifier": "knn",
    "MLPClassifier": "mlp",
    "HistGradientBoostingClassifier": "hist_gradient_boosting",
}

#: Pipeline parts whose settings we map (imputer, scaler) or that our pipelines also have.
_PREPROCESSING = {"Pipeline", "ColumnTransformer", "Imputer", "SimpleImputer", "StandardScaler", "MinMaxScaler",
                  "RobustScaler", "QuantileTransformer", "OneHotEncoder", "OrdinalEncoder", "VarianceThreshold"}
_SCALERS = {"StandardScaler": "standard", "MinMaxScaler": "minmax", "RobustScaler": "robust",
            "QuantileTransformer": "quantile"}
_FULL_NAME = re.compile(r"^(?P<flow>.+)\((?P<version>\d+)\)_(?P<param>[^()]+)$")
_CLASS_PATH = re.compile(r"[A-Za-z_]\w*(?:\.\w+)+")


class _Unmappable(Exception):  # noqa: N818 - control flow inside map_setup, always turned into a skip reason
    """A setup our space cannot express (the message is the reason)."""


def _value(text: object) -> object:
    """A parameter value as the sklearn extension serialised it (JSON), or the raw text."""
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def split_parameters(parameters: dict[str, object]) -> dict[str, dict[str, object]]:
    """``{full_name: value}`` of a setup -> ``{component class: {parameter: decoded value}}``."""
    out: dict[str, dict[str, object]] = {}
    for full_name, text in parameters.items():
        match = _FULL_NAME.match(str(full_name))
        if match is None:
            continue
        component = match["flow"].split("(", 1)[0].rsplit(".", 1)[-1]
        out.setdefault(component, {})[match["param"]] = _value(text)
    return out


def _num(params: dict, name: str, kind: type) -> float | int | None:
    if name not in params:
        return None
    value = params[name]
    numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not numeric or (kind is int and not float(value).is_integer()):
        raise _Unmappable(f"{name}={value!r}")
    return kind(value)


def _require(params: dict, name: str, *allowed: object) -> None:
    if name in params and params[name] not in allowed:
        raise _Unmappable(f"{name}={params[name]!r}")


def _class_weight(params: dict) -> dict:
    _require(params, "class_weight", None, "balanced")
    return {"class_weight": "balanced"} if params.get("class_weight") == "balanced" else {}


def _forest(params: dict) -> dict:
    for name, neutral in (("max_depth", None), ("max_leaf_nodes", None), ("max_samples", None),
                          ("min_weight_fraction_leaf", 0), ("min_impurity_decrease", 0), ("ccp_alpha", 0)):
        _require(params, name, neutral)
    _require(params, "criterion", "gini", "entropy", "log_loss")
    out = {k: v for k in ("n_estimators", "min_samples_leaf", "min_samples_split")
           if (v := _num(params, k, int)) is not None}
    if "bootstrap" in params:
        _require(params, "bootstrap", True, False)
        out["bootstrap"] = params["bootstrap"]
    if "criterion" in params:
        out["criterion"] = "gini" if params["criterion"] == "gini" else "entropy"
    if "max_features" in params:
        mf = params["max_features"]
        if mf in ("sqrt", "auto", "log2"):
            out["max_features_strategy"] = "log2" if mf == "log2" else "sqrt"
        elif mf is None or (isinstance(mf, float) and 0 < mf <= 1):
            out.update(max_features_strategy="fraction", max_features_fraction=1.0 if mf is None else mf)
        else:
            raise _Unmappable(f"max_features={mf!r}")
    return out | _class_weight(params)


def _logistic(params: dict) -> dict:
    _require(params, "penalty", "l2")
    _require(params, "dual", False)
    _require(params, "fit_intercept", True)
    _require(params, "solver", "lbfgs", "newton-cg", "newton-cholesky", "sag", "saga")
    _require(params, "multi_class", "auto", "multinomial", "deprecated")
    c = _num(params, "C", float)
    return ({} if c is None else {"C": c}) | _class_weight(params)


def _svc(params: dict) -> dict:
    _require(params, "kernel", "rbf")
    out = {} if (c := _num(params, "C", float)) is None else {"C": c}
    gamma = params.get("gamma", "scale")
    if gamma == "scale":
        out["gamma_mode"] = "scale"
    elif isinstance(gamma, (int, float)) and not isinstance(gamma, bool):
        out.update(gamma_mode="value", gamma=float(gamma))
    else:
        raise _Unmappable(f"gamma={gamma!r}")
    return out | _class_weight(params)


def _knn(params: dict) -> dict:
    _require(params, "weights", "uniform", "distance")
    _require(params, "metric", "minkowski", "euclidean", "manhattan")
    out = {k: v for k in ("n_neighbors", "p") if (v := _num(params, k, int)) is not None}
    metric = params.get("metric", "minkowski")
    if metric != "minkowski":
        out["p"] = 2 if metric == "euclidean" else 1
    if "weights" in params:
        out["weights"] = params["weights"]
    return out


def _mlp(params: dict) -> dict:
    for name, neutral in (("activation", "relu"), ("solver", "adam"), ("early_stopping", False),
                          ("batch_size", "auto")):
        _require(params, name, neutral)
    out = {k: v for k, kind in (("alpha", float), ("learning_rate_init", float), ("max_iter", int))
           if (v := _num(params, k, kind)) is not None}
    if "hidden_layer_sizes" in params:
        sizes = params["hidden_layer_sizes"]
        sizes = [sizes] if isinstance(sizes, int) else sizes
        if not isinstance(sizes, list) or not sizes or len(set(sizes)) != 1:
            raise _Unmappable(f"hidden_layer_sizes={params['hidden_layer_sizes']!r}")
        out.update(hidden_units=_num({"h": sizes[0]}, "h", int), n_layers=len(sizes))
    return out


def _hgb(params: dict) -> dict:
    _require(params, "max_depth", None)
    _require(params, "early_stopping", "auto")
    _require(params, "loss", "auto", "log_loss", "binary_crossentropy", "categorical_crossentropy")
    out = {k: v for k, kind in (("learning_rate", float), ("max_iter", int), ("max_leaf_nodes", int),
                                ("min_samples_leaf", int), ("max_features", float))
           if (v := _num(params, k, kind)) is not None}
    if (l2 := _num(params, "l2_regularization", float)) is not None:
        out["l2_regularization"] = max(l2, 1e-6)  # our log-scaled range starts at 1e-6, standing for 0
    return out | _class_weight(params)


_FAMILY_MAPPERS: dict[str, Callable[[dict], dict]] = {
    "random_forest": _forest, "extra_trees": _forest, "linear": _logistic, "svm": _svc, "knn": _knn,
    "mlp": _mlp, "hist_gradient_boosting": _hgb,
}


def _preprocessing(components: dict[str, dict], family_config: dict) -> dict:
    out = {}
    for name, params in components.items():
        if name in ("Imputer", "SimpleImputer") and "strategy" in params:
            _require(params, "strategy", "median", "mean")
            out["imputer"] = params["strategy"]
        if name in _SCALERS and "scaler" in family_config:
            out["scaler"] = _SCALERS[name]
    return out


def map_setup(flow_name: str, parameters: dict[str, object], space: Any) -> tuple[dict | None, str]:
    """Our configuration for an OpenML setup, or ``(None, reason)`` when our space cannot express it.

    The estimator's parameters are mapped; parameters our space does not have must be at a
    value that leaves the model as ours builds it (else the setup is skipped). Preprocessing
    is our family default, except the imputation strategy and the scaler type when the flow
    sets them; flows with other steps (PCA, feature selection, wrappers, searches) are skipped.
    """
    classes = {path.rsplit(".", 1)[-1] for path in _CLASS_PATH.findall(flow_name)}
    estimators = sorted(classes & set(ESTIMATOR_FAMILIES))
    if len(estimators) != 1:
        return None, "no single supported estimator" if not estimators else "several estimators"
    others = classes - _PREPROCESSING - set(estimators)
    if others:
        return None, f"unsupported step {sorted(others)[0]}"
    family = ESTIMATOR_FAMILIES[estimators[0]]
    components = split_parameters(parameters)
    config = space.default(family)
    try:
        config.update(_FAMILY_MAPPERS[family](components.get(estimators[0], {})))
        config.update(_preprocessing(components, config))
        space.validate(config)
    except _Unmappable as exc:
        return None, f"{family}: {exc}"
    except MetaLearnError as exc:  # out of our ranges: count by parameter, not by value
        return None, f"{family}: {str(exc).split('=', 1)[0]} out of range"
    return config, ""
