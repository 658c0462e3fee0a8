"""The search space language and the pipelines it builds."""

from __future__ import annotations

import json

import numpy as np
import pytest

import metalearn
from metalearn.exceptions import InvalidConfigError
from metalearn.space import MODEL_FAMILIES, Categorical, Condition, Float, Int, get_space

TASKS = ("classification", "regression")


@pytest.mark.parametrize("task", TASKS)
def test_samples_are_valid_json_and_roundtrip_through_the_encoding(task):
    space = get_space(task)
    rng = np.random.default_rng(0)
    for _ in range(300):
        config = space.sample(rng)
        space.validate(config)
        assert json.loads(json.dumps(config)) == config
        back = space.decode(space.encode(config))
        assert back.keys() == config.keys()
        for key, value in config.items():
            if isinstance(value, float):
                assert back[key] == pytest.approx(value, rel=1e-9)
            else:
                assert back[key] == value


@pytest.mark.parametrize("task", TASKS)
def test_every_family_has_a_valid_default(task):
    space = get_space(task)
    assert space.families == tuple(m.name for m in MODEL_FAMILIES) and len(space.families) == 10
    for family in space.families:
        assert space.validate(space.default(family))["family"] == family


def test_conditions_activate_children():
    space = get_space("classification")
    cfg = space.default("random_forest")
    assert cfg["max_features_strategy"] == "sqrt" and "max_features_fraction" not in cfg
    cfg2 = dict(cfg, max_features_strategy="fraction")
    with pytest.raises(InvalidConfigError, match="missing hyperparameter 'max_features_fraction'"):
        space.validate(cfg2)
    cfg2["max_features_fraction"] = 0.3
    assert space.validate(cfg2)


def test_invalid_configs_are_rejected_with_reasons():
    space = get_space("regression")
    with pytest.raises(InvalidConfigError, match="unknown family 'xgb'"):
        space.validate({"family": "xgb"})
    bad = dict(space.default("knn"), n_neighbors=500)
    with pytest.raises(InvalidConfigError, match="n_neighbors=500 is not an integer in \\[1, 64\\]"):
        space.validate(bad)
    with pytest.raises(InvalidConfigError, match="unknown or inactive"):
        space.validate(dict(space.default("knn"), bogus=1))


def test_log_scale_and_primitives():
    p = Float("lr", 1e-4, 1.0, 1e-2, log=True)
    assert p.to_unit(1e-2)[0] == pytest.approx(0.5)
    i = Int("k", 1, 100, 10, log=True)
    assert i.from_unit(np.array([0.5])) == 10
    c = Categorical("c", ("a", "b"), "a", conditions=(Condition("x", (1,)),))
    assert not c.conditions[0].holds({"x": 2})
    with pytest.raises(InvalidConfigError):
        Float("bad", 1.0, 0.5, 0.7)


def test_neighbor_stays_in_family_and_is_valid():
    space = get_space("classification")
    rng = np.random.default_rng(1)
    cfg = space.default("svm")
    for _ in range(50):
        nb = space.neighbor(cfg, rng)
        assert space.validate(nb)["family"] == "svm"


@pytest.mark.parametrize("task", TASKS)
def test_every_family_pipeline_fits_mixed_data_with_missing_values(task):
    rng = np.random.default_rng(0)
    n = 80
    import pandas as pd

    df = pd.DataFrame({
        "num": rng.normal(size=n), "num2": rng.normal(size=n),
        "cat": rng.choice(["a", "b", "c"], n), "flag": rng.integers(0, 2, n).astype(bool),
    })
    df.loc[[1, 2], "num"] = np.nan
    df.loc[[3], "cat"] = None
    y = (df["num2"] > 0).astype(int) if task == "classification" else df["num2"] * 3 + rng.normal(size=n)
    ds = metalearn.load_dataset((df, y), task=task)
    space = get_space(task)
    for rs, config in enumerate(space.defaults() + [space.sample(np.random.default_rng(s)) for s in range(10)]):
        pipe = space.to_pipeline(config, ds, random_state=rs)
        pipe.fit(ds.X, ds.y)
        assert len(pipe.predict(ds.X.iloc[:5])) == 5


def test_space_version_and_description():
    space = get_space("classification")
    assert space.version
    rows = space.describe()
    assert {"family", "name", "kind", "range", "default", "condition"} <= rows[0].keys()


def test_decoding_the_unit_cube_corners_stays_in_range():
    for task in TASKS:
        space = get_space(task)
        for fill in (0.0, 1.0):
            for family in space.families:
                vec = space.encode(space.default(family))
                vec[vec != -1.0] = fill
                vec[: len(space.families)] = 0.0
                vec[space.families.index(family)] = 1.0
                space.validate(space.decode(vec))


def test_svm_probabilities_with_tiny_classes():
    """Probability calibration must fit when a class has fewer samples than calibration folds, or just one."""
    rng = np.random.default_rng(0)
    space = get_space("classification")
    for tiny in (2, 1):
        X = rng.normal(size=(20 + tiny, 3))
        y = np.array([0] * 10 + [1] * 10 + [2] * tiny)
        ds = metalearn.load_dataset((X, y), task="classification")
        pipe = space.to_pipeline(space.default("svm"), ds, need_proba=True).fit(ds.X, ds.y)
        proba = pipe.predict_proba(ds.X)
        assert proba.shape == (len(y), 3) and np.allclose(proba.sum(axis=1), 1.0)


def test_quantile_binner_bins_continuous_columns_and_keeps_the_rest():
    from metalearn.space._binning import QuantileBinner

    rng = np.random.default_rng(0)
    X = np.column_stack([rng.normal(size=3000), rng.integers(0, 5, size=3000).astype(float), rng.normal(size=3000)])
    X[::7, 2] = np.nan
    binner = QuantileBinner(max_bins=32).fit(X)
    out = binner.transform(X)
    assert np.unique(out[:, 0]).size <= 32 and np.array_equal(out[:, 1], X[:, 1])  # few values pass through
    assert np.array_equal(np.isnan(out[:, 2]), np.isnan(X[:, 2]))
    order = np.argsort(X[:, 0])
    assert np.all(np.diff(out[order, 0]) >= 0)  # monotone: trees split the bins as they would the values
    assert np.abs(np.bincount(out[:, 0].astype(int)) - 3000 / 32).max() < 3000 / 32 * 0.2  # about equal bins
    assert list(binner.get_feature_names_out(["a", "b", "c"])) == ["a", "b", "c"]


def test_class_weighted_boosting_bins_first_and_matches_the_unbinned_model():
    from sklearn.ensemble import HistGradientBoostingClassifier

    from metalearn.space._binning import QuantileBinner

    ds = metalearn.load_dataset("sklearn:breast_cancer")
    space = get_space("classification")
    config = dict(space.default("hist_gradient_boosting"), class_weight="balanced")
    pipe = space.to_pipeline(config, ds, random_state=0).fit(ds.X, ds.y)
    assert any(isinstance(t, QuantileBinner) for _, t, _ in pipe.named_steps["prep"].transformers_)
    plain = HistGradientBoostingClassifier(class_weight="balanced", random_state=0).fit(ds.X, ds.y)
    assert np.mean(pipe.predict(ds.X) == plain.predict(ds.X)) > 0.97
    unweighted = space.to_pipeline(space.default("hist_gradient_boosting"), ds, random_state=0)
    assert not any(isinstance(t, QuantileBinner) for _, t, _ in unweighted.named_steps["prep"].transformers)


def test_quantile_binner_passes_sklearn_checks():
    from sklearn.utils.estimator_checks import check_estimator

    from metalearn.space._binning import QuantileBinner

    check_estimator(QuantileBinner(max_bins=16))
