"""recommend(): strategies on a synthetic KB whose structure is known, Recommendation API, simulation."""

from __future__ import annotations

import importlib
import json

import numpy as np
import pytest
from synthetic_kb import TASK
from synthetic_kb import synthetic_dataset as _dataset

import metalearn
from metalearn.kb import KnowledgeBase
from metalearn.recommend import (
    AutoStrategy,
    AutoVariant,
    KNNStrategy,
    PerformanceModel,
    PortfolioStrategy,
    Recommender,
    TransferPrior,
    _model,
    normalise_scores,
)
from metalearn.recommend._prior import ranking_loss
from metalearn.space import SearchSpace


def test_normalised_scores_are_zero_to_one_with_failures_at_zero():
    raw = np.array([[0.5, 0.7, np.nan], [0.2, 0.2, 0.2]])
    norm = normalise_scores(raw)
    assert norm[0].tolist() == [0.0, 1.0, 0.0]
    assert norm[1].tolist() == [1.0, 1.0, 1.0]


@pytest.mark.parametrize("strategy", [KNNStrategy(n_neighbors=3), AutoStrategy(variants=[AutoVariant(n_neighbors=3)]),
                                      AutoStrategy(), PerformanceModel(), PortfolioStrategy(n_neighbors=3)])
@pytest.mark.parametrize("kind,family", [("wide", "linear"), ("tall", "hist_gradient_boosting")])
def test_strategies_follow_similar_datasets(ctx, strategy, kind, family):
    query_ds = _dataset(kind, 99)
    strategy.fit(ctx)
    query = strategy.scale(metalearn.extract_metafeatures(query_ds, groups=["general", "statistical"]).values)
    ranking = strategy.rank(query, 3)
    assert ctx.configs[ranking.indices[0]]["family"] == family
    assert len(set(ranking.indices.tolist())) == 3
    assert np.all((ranking.scores >= -0.05) & (ranking.scores <= 1.05))


def test_auto_strategy_chooses_its_recipe_by_cross_validation_over_families(ctx):
    # neighbours decide everything in this KB (wide -> linear, tall -> boosting), so a recipe that
    # looks at them must beat the query-independent global portfolio in the inner cross-validation
    global_only = AutoVariant(blend=0.0, global_weight=1.0, portfolio_global=1.0)
    local = AutoVariant(blend=0.0, global_weight=0.0, n_neighbors=3)
    strat = AutoStrategy(variants=[global_only, local], inner_folds=3).fit(ctx)
    assert strat.variant_ == local
    assert strat.selection_[1][1] < strat.selection_[0][1]
    assert set(strat.selection_[0]) == {1, 3, 5, 10}
    single = AutoStrategy(variants=[global_only], feature_sets={"all": None}).fit(ctx)
    assert single.selection_ == {} and single.feature_selection_ == {}  # nothing to choose: no inner CV


def test_auto_strategy_chooses_the_meta_features_that_tell_the_kinds_apart(ctx):
    # wide vs tall decides the best family here: the number of features separates them, the class
    # mean skewness (about 0 for both) does not, so the inner cross-validation must keep the former
    sets = {"skew": ["MeanSkewnessOfNumericAtts"], "width": ["NumberOfFeatures"], "unknown": ["not_a_metafeature"]}
    strat = AutoStrategy(variants=[AutoVariant(n_neighbors=3)], feature_sets=sets).fit(ctx)
    assert set(strat.feature_selection_) == {"skew", "width"}  # a set of unknown names is not a candidate
    assert strat.feature_set_ == "width" and strat.ctx_.scaler.names == ("NumberOfFeatures",)
    assert strat.feature_selection_["width"] < strat.feature_selection_["skew"]
    assert "1 meta-features (width)" in strat.describe()
    mf = metalearn.extract_metafeatures(_dataset("wide", 98), groups=["general", "statistical"]).values
    assert strat.scale(mf).shape == (1,)
    assert ctx.configs[strat.rank(strat.scale(mf), 1).indices[0]]["family"] == "linear"
    with pytest.raises(metalearn.exceptions.InvalidParameterError, match="feature set"):
        AutoStrategy(feature_sets={}).fit(ctx)
    with pytest.raises(metalearn.exceptions.InvalidParameterError, match="usable meta-feature"):
        AutoStrategy(feature_sets={"typo": ["NumberOfFeaturez"]}).fit(ctx)  # not a silent fall-back to all


def test_a_subset_of_a_feature_restricted_context_stays_restricted(ctx):
    narrow = ctx.subset(np.ones(ctx.n_datasets, bool), ["NumberOfFeatures", "NumberOfInstances"])
    keep = np.arange(narrow.n_datasets) % 3 != 0
    assert narrow.subset(keep).scaler.names == narrow.scaler.names
    assert narrow.subset(keep).mf.shape == (keep.sum(), 2)
    assert ctx.subset(keep).scaler.names == ctx.scaler.names


def test_auto_variant_rejects_bad_weights():
    with pytest.raises(metalearn.exceptions.InvalidParameterError, match="blend \\+ global_weight"):
        AutoVariant(blend=0.8, global_weight=0.5)
    with pytest.raises(metalearn.exceptions.InvalidParameterError, match="temperature"):
        AutoVariant(temperature=0.0)


def test_global_portfolio_is_diverse(ctx):
    ranking = PortfolioStrategy().fit(ctx).rank(np.zeros(len(ctx.scaler.names)), 2)
    families = {ctx.configs[i]["family"] for i in ranking.indices}
    assert families == {"linear", "hist_gradient_boosting"}


def test_recommend_returns_an_explained_frozen_recommendation(kb):
    rec = metalearn.recommend(_dataset("wide", 123), k=4, kb=kb)
    assert rec.configs[0]["family"] == "linear"
    assert len(rec.configs) == len(rec.predicted_scores) == len(rec.evidence) == 4
    assert rec.neighbors and rec.neighbors[0].name.startswith("wide_")
    text = rec.explain()
    assert "Most similar knowledge-base datasets" in text and "evidence:" in text
    # the auto recipe chosen on this KB is spelled out, with how it was chosen
    assert "Order: the first config maximises" in text and "cross-validation over the KB's dataset families" in text
    payload = json.loads(rec.to_json())
    assert payload["rationale"] == rec.rationale
    knn = metalearn.recommend(_dataset("wide", 123), k=2, kb=kb, strategy="knn")
    assert "Order: each of the 10 nearest datasets" in knn.explain()
    assert payload["recommendations"][0]["config"]["family"] == "linear"
    with pytest.raises(AttributeError):
        rec.configs = ()  # frozen


def test_recommended_pipeline_fits(kb):
    ds = _dataset("tall", 5)
    rec = metalearn.recommend(ds, k=2, kb=kb)
    pipe = rec.pipeline(0)
    assert pipe.fit(ds.X, ds.y).score(ds.X, ds.y) > 0.6


def test_recommender_reuses_fitted_strategies(kb):
    rec = Recommender(kb)
    first = metalearn.recommend(_dataset("wide", 7), k=2, kb=rec)
    second = metalearn.recommend(_dataset("wide", 8), k=2, kb=rec)
    assert first.timings["kb_fit"] > 0 and second.timings["kb_fit"] < first.timings["kb_fit"]


def test_recommender_artifact_roundtrip(kb, tmp_path):
    path = Recommender(kb).save(tmp_path / "rec.json", tasks=(TASK,))
    assert path.with_suffix(".npz").is_file()
    loaded = Recommender.load(path, kb)
    assert loaded._stored and not loaded._fitted  # a task is restored only when first used
    a = metalearn.recommend(_dataset("tall", 3), k=3, kb=loaded)
    assert set(loaded._fitted) == {TASK} and not loaded._stored
    b = metalearn.recommend(_dataset("tall", 3), k=3, kb=kb)
    assert a.config_ids == b.config_ids
    assert a.rationale == b.rationale  # the unpacked strategy is the fitted one, recipe and meta-features included


def test_transfer_prior_scores_configs_outside_the_pool(kb):
    ds = _dataset("wide", 11)
    prior = Recommender(kb).prior(TASK, metalearn.extract_metafeatures(ds).values)
    space = metalearn.get_space(TASK)
    outside = [space.sample(np.random.default_rng(s), family="linear") for s in range(3)]
    outside += [space.sample(np.random.default_rng(s), family="hist_gradient_boosting") for s in range(3)]
    mean, std = prior.predict(outside)
    assert mean[:3].mean() > mean[3:].mean()
    assert np.all(std >= 0)
    obs = prior.neighbor_observations(2)
    assert obs and all(0 <= s <= 1 and w > 0 for _, s, w in obs)


def test_transfer_prior_conditioning_moves_weight_to_datasets_that_rank_own_results_alike(kb):
    ds = _dataset("wide", 11)
    prior = Recommender(kb).prior(TASK, metalearn.extract_metafeatures(ds).values)
    norm = prior.ctx.norm
    assert np.isclose(prior.weights.sum(), 1.0)
    row = int(np.argmin(prior.weights))  # the KB dataset least similar by meta-features
    cols = [int(c) for c in np.argsort(norm[row])[::4]]  # spread over its ranking
    configs = [prior.ctx.configs[c] for c in cols]
    own = norm[row, cols] + 1.0  # own results ordered exactly as that dataset orders them
    cond = prior.condition(configs, own)
    assert cond.weights[row] > prior.weights[row] and np.isclose(cond.weights.sum(), 1.0)
    reverse = prior.condition(configs, -own)
    assert reverse.weights[row] < prior.weights[row]
    # fewer than three pool results leave the weights alone; results outside the pool do not count
    assert np.allclose(prior.condition(configs[:2], own[:2]).weights, prior.weights)
    outside = metalearn.get_space(TASK).sample(np.random.default_rng(3), family="mlp")
    assert prior.pool_columns([outside]) == [None]
    assert np.allclose(prior.condition(configs[:2] + [outside], [*own[:2], 9.0]).weights, prior.weights)
    with pytest.raises(metalearn.exceptions.InvalidParameterError, match="one score per configuration"):
        prior.condition(configs, own[:-1])
    unchanged = own.copy()
    prior.condition(configs, own)
    assert np.array_equal(own, unchanged)  # the caller's scores are left alone
    # pool predictions follow the re-weighted table
    mean_before, _ = prior.predict(configs)
    mean_after, _ = cond.predict(configs)
    assert np.corrcoef(mean_after, own)[0, 1] > np.corrcoef(mean_before, own)[0, 1]


def test_transfer_prior_portfolio_gains(kb):
    prior = Recommender(kb).prior(TASK, metalearn.extract_metafeatures(_dataset("tall", 5)).values)
    pool = list(prior.pool_configs)
    outside = metalearn.get_space(TASK).sample(np.random.default_rng(3), family="mlp")
    gains = prior.portfolio_gains(pool + [outside], tried=[])
    assert np.isnan(gains[-1]) and np.all(gains[:-1] > 0)
    best = int(np.nanargmax(gains))
    after = prior.portfolio_gains(pool, tried=[pool[best]])
    assert after[best] == 0 and np.all(after <= gains[:-1] + 1e-12)
    expected = prior.weights @ np.maximum(prior.ctx.norm - prior.ctx.norm[:, [best]], 0)
    assert np.allclose(after, expected)
    direct = TransferPrior(prior.model, prior.query, prior.ctx)  # built without from_context
    assert np.allclose(direct.predict(pool[:4])[0], prior.predict(pool[:4])[0])
    for bad in ({"agreement": -1.0}, {"model_share": 1.5}, {"agreement": float("nan")}):
        with pytest.raises(metalearn.exceptions.InvalidParameterError, match="TransferPrior needs"):
            TransferPrior(prior.model, prior.query, prior.ctx, **bad)


def test_ranking_loss_counts_discordant_pairs(monkeypatch):
    table = np.array([[0.1, 0.5, 0.9], [0.9, 0.5, 0.1], [0.5, 0.5, 0.5]])
    loss, n_pairs = ranking_loss(table, np.array([1.0, 2.0, 3.0]))
    assert n_pairs == 3 and loss.tolist() == [0.0, 1.0, 0.0]
    loss, n_pairs = ranking_loss(table, np.array([1.0, 1.0, 3.0]))  # a tie among own results is no pair
    assert n_pairs == 2 and loss.tolist() == [0.0, 1.0, 0.0]
    rng = np.random.default_rng(0)
    big, own = rng.random((50, 30)), rng.random(30)
    whole = ranking_loss(big, own)[0]
    monkeypatch.setattr(importlib.import_module("metalearn.recommend._prior"), "CHUNK_CELLS", 2000)  # 2 rows a chunk
    assert np.allclose(ranking_loss(big, own)[0], whole)


def test_estimator_warm_starts_from_the_recommendation_then_the_adaptive_portfolio(kb_path):
    ds = _dataset("wide", 21)
    clf = metalearn.MetaLearnClassifier(n_trials=6, cv=2, kb=kb_path, ensemble=False, random_state=0)
    clf.fit(ds.X, ds.y)
    origins = list(clf.history_["origin"])
    assert origins[:3] == ["warm-start"] * 3 and origins[3:] == ["portfolio"] * 3
    rec = clf.recommendation_
    assert len(rec.configs) == 10
    assert list(clf.history_["config"][:3]) == list(rec.configs[:3])
    assert [c["family"] for c in rec.configs[:3]] == ["linear"] * 3  # wide data: linear first


def test_bad_k_and_strategy_are_clear_errors(kb):
    with pytest.raises(metalearn.exceptions.InvalidParameterError, match="k must be a positive integer"):
        metalearn.recommend(_dataset("wide", 1), k=0, kb=kb)
    with pytest.raises(metalearn.exceptions.InvalidParameterError, match="unknown strategy"):
        metalearn.recommend(_dataset("wide", 1), k=2, kb=kb, strategy="magic")


def test_shipped_kb_recommends_for_a_bundled_dataset():
    rec = metalearn.recommend("sklearn:breast_cancer", k=3)
    assert len(rec.configs) == 3
    assert rec.timings["metafeatures"] > 0


def test_user_runs_added_through_the_kb_shape_the_next_recommendation(kb, tmp_path):
    """kb.add_runs copies the KB on first write; the user's dataset becomes a neighbour of similar data."""
    import pandas as pd

    ds = _dataset("wide", 500)
    space = metalearn.get_space(TASK)
    configs = [space.default("knn"), space.default("linear"), space.default("svm")]
    history = pd.DataFrame({"config": configs, "score": [0.99, 0.5, 0.6], "status": ["ok"] * 3,
                            "duration": [0.1] * 3, "origin": ["bo"] * 3})
    user = tmp_path / "user_kb.sqlite"
    stored = kb.add_runs(history, ds, user, metric="balanced_accuracy",
                         metafeatures=metalearn.extract_metafeatures(ds, groups=["general", "statistical"]).values)
    assert stored == 3 and user.exists()
    reopened = KnowledgeBase.open(user)
    assert len(reopened.datasets) == len(kb.datasets) + 1
    assert (reopened.runs["source"] == "user").sum() == 3

    # the user's dataset is the nearest neighbour of a near-copy, and its best observed config leads
    rec = metalearn.recommend(_dataset("wide", 500), k=1, kb=reopened, strategy="knn")
    assert rec.neighbors[0].name.startswith("user_")
    assert rec.configs[0] == space.default("knn")


def test_the_performance_model_ignores_families_the_kb_never_tried(ctx, monkeypatch):
    # a space with more model families (the new ones have no runs here) must give the same model
    query = np.random.default_rng(0).random(ctx.mf.shape[1])
    full = PerformanceModel().fit(ctx)
    tried = {c["family"] for c in ctx.configs}
    space = metalearn.get_space(TASK)
    assert set(space.families) - tried  # the space has families this KB has no runs of
    narrow = SearchSpace(TASK, tuple(space.family(f) for f in space.families if f in tried))
    monkeypatch.setattr(_model, "get_space", lambda task: narrow)
    small = PerformanceModel().fit(ctx)
    assert full.config_codes_.shape == small.config_codes_.shape
    np.testing.assert_array_equal(full.rank(query, 5).indices, small.rank(query, 5).indices)
    np.testing.assert_allclose(full.predict_configs(query, list(ctx.configs[:4]))[0],
                               small.predict_configs(query, list(ctx.configs[:4]))[0])
