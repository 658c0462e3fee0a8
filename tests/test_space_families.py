"""Model families as objects: the registry, the gradient-boosting libraries, additive versioning."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import metalearn
from metalearn.evaluation import evaluate
from metalearn.exceptions import InvalidConfigError, OptionalDependencyError
from metalearn.kb import KBStore, default_kb_path
from metalearn.kb._schema import config_key
from metalearn.kb._sources import LEGACY_POOL_SIZE, candidate_pool
from metalearn.space import (
    LEGACY_FAMILIES,
    MODEL_FAMILIES,
    ModelFamily,
    fallback_order,
    family_versions,
    get_space,
    model_family,
    stored_family_versions,
)
from metalearn.space.families import _boosting

TASKS = ("classification", "regression")
BOOSTING = ("lightgbm", "xgboost", "catboost")


def mixed_frame(task: str, n: int = 120) -> metalearn.Dataset:
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"num": rng.normal(size=n), "cat": rng.choice(["a", "b", "c"], n),
                       "other": np.where(rng.random(n) < 0.1, np.nan, rng.normal(size=n))})
    df.loc[[3, 7], "cat"] = None
    signal = df["num"] + (df["cat"] == "a") * 2
    y = np.where(signal > 0.5, "yes", "no") if task == "classification" else signal + rng.normal(0, 0.1, n)
    return metalearn.load_dataset((df, pd.Series(y, name="y")), task=task)


def test_registry_names_are_unique_and_every_family_is_a_model_family():
    names = [m.name for m in MODEL_FAMILIES]
    assert len(set(names)) == len(names)
    assert all(isinstance(m, ModelFamily) for m in MODEL_FAMILIES)
    assert names[:len(LEGACY_FAMILIES)] == list(LEGACY_FAMILIES)  # new families only ever appended
    assert set(fallback_order()) == set(names) and fallback_order()[0] == "hist_gradient_boosting"
    assert model_family("lightgbm").requires == ("lightgbm",)


@pytest.mark.parametrize("library", BOOSTING)
def test_boosting_defaults_equal_the_library_defaults(library):
    module = pytest.importorskip(library)
    space = get_space("regression")
    model = space.to_pipeline(space.default(library), mixed_frame("regression")).named_steps["model"]
    ours = model.params
    if library == "lightgbm":
        lib = module.LGBMRegressor().get_params()
        keys = ("n_estimators", "learning_rate", "num_leaves", "min_child_samples", "colsample_bytree", "subsample")
    elif library == "xgboost":
        lib = {"n_estimators": 100, "learning_rate": 0.3, "max_depth": 6, "min_child_weight": 1.0,
               "subsample": 1.0, "colsample_bytree": 1.0, "reg_lambda": 1.0}  # XGBoost's documented defaults
        keys = tuple(lib)
    else:
        lib = {"iterations": 1000, "depth": 6, "l2_leaf_reg": 3.0, "random_strength": 1.0}
        keys = tuple(lib)
        assert "learning_rate" not in ours  # CatBoost chooses it from the data by default
    assert {k: ours[k] for k in keys} == {k: lib[k] for k in keys}


@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("library", BOOSTING)
def test_boosting_families_learn_categoricals_with_missing_and_unseen_levels(task, library):
    pytest.importorskip(library)
    ds = mixed_frame(task)
    space = get_space(task)
    pipe = space.to_pipeline(space.default(library), ds, random_state=0).fit(ds.X, ds.y)
    assert pipe.score(ds.X, ds.y) > (0.8 if task == "classification" else 0.5)
    new = ds.X.head(4).assign(cat=["never_seen", None, "a", "b"])
    assert len(pipe.predict(new)) == 4
    if task == "classification":
        proba = pipe.predict_proba(new)
        assert proba.shape == (4, 2) and np.allclose(proba.sum(axis=1), 1)
        assert set(pipe.predict(new)) <= {"yes", "no"}


@pytest.mark.parametrize("library", BOOSTING)
def test_boosting_models_use_one_thread(library):
    pytest.importorskip(library)
    ds = mixed_frame("classification")
    space = get_space("classification")
    pipe = space.to_pipeline(space.default(library), ds).fit(ds.X, ds.y)
    params = pipe.named_steps["model"].model_.get_params()
    threads = params.get("n_jobs", params.get("thread_count"))
    assert threads == 1


def test_a_missing_library_fails_one_evaluation_clearly_and_is_not_sampled(monkeypatch):
    def missing(module, extra):
        raise OptionalDependencyError(f"{module} is needed for this feature but is not installed: "
                                      f"pip install 'metalearn[{extra}]'")

    monkeypatch.setattr(_boosting, "import_optional", missing)
    ds = mixed_frame("classification")
    space = get_space("classification")
    result = evaluate(space.default("lightgbm"), ds, cv=3, isolation="none")
    assert result.status == "failed" and "pip install 'metalearn[lightgbm]'" in result.error
    monkeypatch.setattr(type(model_family("catboost")), "available", lambda self: False)
    assert "catboost" not in space.available_families and "catboost" in space.families
    rng = np.random.default_rng(0)
    assert all(space.sample(rng)["family"] != "catboost" for _ in range(200))


def test_a_config_the_library_rejects_is_a_failed_evaluation_not_a_crash(monkeypatch):
    pytest.importorskip("lightgbm")
    ds = mixed_frame("regression")
    space = get_space("regression")
    with pytest.raises(InvalidConfigError, match=r"num_leaves=1 is not an integer in \[4, 256\]"):
        evaluate(dict(space.default("lightgbm"), num_leaves=1), ds, cv=3, isolation="none")
    make = _boosting._make_model  # a value LightGBM itself refuses (num_leaves must exceed 1)
    monkeypatch.setattr(_boosting, "_make_model",
                        lambda lib, cls, params, rs: make(lib, cls, {**params, "num_leaves": 1}, rs))
    result = evaluate(space.default("lightgbm"), ds, cv=3, isolation="none")
    assert result.status == "failed" and "num_leaves" in result.error


@pytest.mark.parametrize("task", TASKS)
def test_dense_pool_keeps_the_first_pool_and_adds_each_new_family(task):
    pool = candidate_pool(task)
    families = [c["family"] for c in pool]
    assert len(pool) >= 200 and all(families.count(f) >= 30 for f in BOOSTING)
    assert set(families[:LEGACY_POOL_SIZE]) == set(LEGACY_FAMILIES)
    assert candidate_pool(task, per_family=0) == pool[:LEGACY_POOL_SIZE]
    # each added family draws from a stream of its own: fewer per family is a prefix of each stream
    per_family = [c for f in BOOSTING for c in [x for x in pool if x["family"] == f][:10]]
    assert candidate_pool(task, per_family=10) == pool[:LEGACY_POOL_SIZE] + per_family


def test_every_run_of_the_shipped_kb_stays_valid_under_family_versions():
    with KBStore(default_kb_path() / "kb.sqlite", readonly=True) as store:
        raw = store.table("configs")  # as stored: KnowledgeBase.open() leaves out other family versions
    assert set(raw["family"]) <= set(LEGACY_FAMILIES) | set(BOOSTING)
    assert all(family_versions()[f] == v for f, v in zip(raw["family"], raw["space_version"]))
    for task in TASKS:  # the pool's first part is the shipped KB's pool, config for config
        ids = {config_key(task, c) for c in candidate_pool(task, per_family=0)}
        assert ids <= set(raw.loc[raw["task"] == task, "id"])


def test_stored_family_versions_read_legacy_and_recorded_metadata():
    assert stored_family_versions("1.0", None) == dict.fromkeys(LEGACY_FAMILIES, "1.0")
    assert stored_family_versions(None, None) == {}
    assert stored_family_versions("2.0", {"lightgbm": "1.0"}) == {"lightgbm": "1.0"}


@pytest.mark.parametrize("library", BOOSTING)
def test_boosting_families_read_free_text_columns_through_tfidf(library):
    pytest.importorskip(library)
    rng = np.random.default_rng(0)
    words = np.array(["good fast delivery", "bad slow refund", "good value overall", "slow and bad service"])
    picks = rng.integers(0, 4, 120)
    X = pd.DataFrame({"num": rng.normal(size=120), "review": words[picks] + " item " + picks.astype(str)})
    y = np.where(np.isin(picks, [0, 2]), "pos", "neg")
    ds = metalearn.load_dataset((X, pd.Series(y, name="y")), task="classification",
                                column_types={"review": "text"})
    space = get_space("classification")
    pipe = space.to_pipeline(space.default(library), ds, random_state=0).fit(ds.X, ds.y)
    assert list(pipe.named_steps["prep"].transform(ds.X.head(3)).columns[:2]) == ["n0", "t0"]
    assert pipe.score(ds.X, ds.y) > 0.9
