"""Optimizer internals, the transfer prior, the optimisation loop, ensembles and the user KB."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import metalearn
from metalearn.evaluation import get_metric
from metalearn.exceptions import InvalidParameterError
from metalearn.optimize import (
    HISTORY_COLUMNS,
    AdaptivePrior,
    BayesianOptimizer,
    ForestSurrogate,
    Observation,
    RandomSearch,
    TablePrior,
    Trial,
    TrialResult,
    blend_prior,
    ensemble_selection,
    equivalence_key,
    expected_improvement,
    normalise_rows,
    optimize,
    prior_reliability,
    prior_weight,
    similarity_weights,
)
from metalearn.space import get_space
from metalearn.testing._optimizer_suite import synthetic_score


@pytest.fixture(scope="module")
def space():
    return get_space("classification")


@pytest.fixture(scope="module")
def pool(space):
    rng = np.random.default_rng(0)
    return space.defaults() + [space.sample(rng) for _ in range(60)]


def test_trial_and_result_are_frozen():
    trial, result = Trial(0, {"family": "knn"}, "random"), TrialResult(0.5)
    with pytest.raises(AttributeError):
        trial.number = 1
    with pytest.raises(AttributeError):
        result.score = 1.0
    assert not TrialResult(float("nan")).ok


def test_prior_weight_fades_with_own_observations_and_drops_when_unreliable():
    weights = [prior_weight(n, 1.0, 10.0) for n in (0, 5, 10, 40, 200)]
    assert weights[0] == 1.0 and weights == sorted(weights, reverse=True) and weights[-1] < 0.05
    assert prior_weight(5, -0.5, 10.0) == 0.0


def test_prior_reliability_follows_rank_agreement():
    y = np.arange(10.0)
    assert prior_reliability(y, y, shrinkage=3.0) == pytest.approx(1.0)
    assert prior_reliability(-y, y, shrinkage=3.0) < 0
    assert prior_reliability(y[:2], y[:2], shrinkage=3.0) == 1.0


def test_blend_prior_maps_prior_onto_own_scale():
    prior_at_own = np.array([0.1, 0.5, 0.9])
    y = np.array([0.70, 0.80, 0.90])
    mean, std, w = blend_prior(np.array([0.3, 1.0]), np.array([0.1, 0.1]), None, None, prior_at_own, y)
    assert mean[1] > 0.9 and mean[0] < 0.8 and w == 1.0
    own_mean, own_std = np.array([0.75, 0.75]), np.array([0.01, 0.01])
    m_few, _, w_few = blend_prior(np.array([0.3, 1.0]), np.array([0.1, 0.1]), own_mean, own_std, prior_at_own, y)
    assert 0 < w_few < 1 and m_few[1] > m_few[0]


def test_table_prior_looks_up_known_and_models_unknown_configs(space, pool):
    scores = np.array([[synthetic_score(c) for c in pool], [synthetic_score(c) ** 2 for c in pool]])
    prior = TablePrior(space, pool, scores)
    mean, std = prior.predict(pool[:5] + [space.sample(np.random.default_rng(5))])
    assert mean.shape == (6,) and np.all(std > 0)
    assert np.allclose(mean[:5], normalise_rows(scores).mean(axis=0)[:5])
    assert prior.top(1)[0] == pool[int(np.argmax(prior.mean_))]


def test_normalise_rows_treats_failures_as_worst():
    out = normalise_rows(np.array([[1.0, np.nan, 3.0], [2.0, 2.0, 2.0]]))
    assert out.tolist() == [[0.0, 0.0, 1.0], [0.5, 0.5, 0.5]]


def test_similarity_weights_prefer_close_datasets():
    src = pd.DataFrame({"NumberOfInstances": [100.0, 1000.0, 1e5], "Ratio": [0.1, 0.2, 0.9]})
    w = similarity_weights({"NumberOfInstances": 120.0, "Ratio": 0.1}, src, k=3)
    assert w.argmax() == 0 and w[0] > w[2]
    assert np.all(similarity_weights({"Other": 1.0}, src) == 1.0)


def test_surrogate_and_expected_improvement():
    X = np.linspace(0, 1, 30)[:, None]
    mean, std = ForestSurrogate(random_state=0).fit(X, X[:, 0]).predict(np.array([[0.05], [0.95]]))
    assert mean[1] > mean[0] and np.all(std > 0)
    ei = expected_improvement(np.array([0.5, 0.5]), np.array([0.01, 0.2]), best=0.6)
    assert ei[1] > ei[0] >= 0


def _search(opt, pool_scores, n):
    best = []
    for _ in range(n):
        trial = opt.ask()
        opt.tell(trial, TrialResult(pool_scores[trial.config_id]))
        best.append(max(r.score for _, r in opt.trials))
    return best


def test_bo_exploits_the_better_families_more_than_random_search(space, pool):
    scores = {space.config_id(c): synthetic_score(c) for c in pool}

    def share_good(opt):
        _search(opt, scores, 20)
        return np.mean([scores[t.config_id] >= 0.7 for t, _ in opt.trials])

    bo = np.mean([share_good(BayesianOptimizer(space, candidates=pool, random_state=s)) for s in range(3)])
    rs = np.mean([share_good(RandomSearch(space, candidates=pool, random_state=s)) for s in range(3)])
    assert bo > rs


def test_a_good_prior_finds_the_best_config_at_once(space, pool):
    scores = {space.config_id(c): synthetic_score(c) for c in pool}
    prior = TablePrior(space, pool, np.array([[synthetic_score(c) for c in pool]]))
    opt = BayesianOptimizer(space, prior=prior, candidates=pool, random_state=0)
    assert _search(opt, scores, 1)[0] == max(scores.values())
    _search(opt, scores, 14)
    assert opt.prior_weights_[-1] < opt.prior_weights_[0]


class _TwoDatasetPortfolio:
    """An AdaptivePrior over a table of two KB datasets: one favours config 0, the other config 1."""

    def __init__(self, pool):
        self.pool_configs = tuple(pool)
        self.table = np.full((2, len(pool)), 0.2)
        self.table[0, 0], self.table[1, 1], self.table[:, 2] = 1.0, 0.9, 0.5
        self.conditioned_on = []

    def predict(self, configs):
        cols = [self.pool_configs.index(c) for c in configs]
        return self.table[:, cols].mean(axis=0), np.full(len(cols), 0.1)

    def condition(self, configs, scores, folds=None):
        self.conditioned_on.append(len(scores))
        self.folds = folds
        return self

    def portfolio_gains(self, candidates, tried):
        done = [self.pool_configs.index(c) for c in tried]
        best = self.table[:, done].max(axis=1) if done else np.zeros(2)
        cols = [self.pool_configs.index(c) for c in candidates]
        return 0.5 * np.maximum(self.table[:, cols] - best[:, None], 0).sum(axis=0)


def test_adaptive_prior_leads_with_a_greedy_portfolio_then_hands_over(space):
    pool = space.defaults()
    prior = _TwoDatasetPortfolio(pool)
    assert isinstance(prior, AdaptivePrior)
    opt = BayesianOptimizer(space, prior=prior, candidates=pool, portfolio_trials=2, random_state=0)
    first_two = opt.ask(2)  # greedy: config 0, then the one that covers the other dataset (1, not the mean-best 2)
    assert [t.config_id for t in first_two] == [space.config_id(pool[0]), space.config_id(pool[1])]
    assert {t.origin for t in first_two} == {"portfolio"}
    for trial in first_two:
        opt.tell(trial, TrialResult(0.5))
    assert opt.ask().origin == "bo"  # two finished trials: the acquisition takes over
    assert prior.conditioned_on == [0, 2]
    assert prior.folds is None  # results told without fold scores
    # nothing left to gain in the table: the acquisition decides from the start
    covered = BayesianOptimizer(space, prior=prior, candidates=pool, random_state=0)
    covered.observe([(pool[0], TrialResult(0.9)), (pool[1], TrialResult(0.8))])
    assert covered.ask().origin == "bo"
    assert BayesianOptimizer(space, prior=prior, candidates=pool, portfolio_trials=0).ask().origin == "bo"


def test_bo_validates_its_parameters(space):
    for kwargs in ({"surrogate": "gp"}, {"acquisition": "pi"}, {"random_fraction": 2.0}, {"prior": object()},
                   {"portfolio_trials": -1}, {"portfolio_trials": 2.5}):
        with pytest.raises(InvalidParameterError):
            BayesianOptimizer(space, **kwargs)


@pytest.fixture(scope="module")
def iris():
    return metalearn.load_dataset("sklearn:wine")


def test_optimize_records_history_with_origins(iris, space):
    fake = {}

    def lookup(config):
        fake[config["family"]] = fake.get(config["family"], 0) + 1
        return TrialResult(synthetic_score(config), duration=0.01)

    res = optimize(iris, n_trials=6, warm_start=[space.default("svm")], evaluate_fn=lookup, random_state=0,
                   observations=[Observation(space.default("knn"), TrialResult(0.1))])
    assert list(res.history.columns) == list(HISTORY_COLUMNS)
    assert res.history["origin"].iloc[0] == "warm-start" and len(res.history) == 6
    assert "knn" not in set(res.history["family"]) or res.history["config"].map(str).ne(
        str(space.default("knn"))).all()
    assert res.best_score == res.history["score"].max()


def test_optimize_starts_like_the_estimators_from_the_knowledge_base(iris, space, tmp_path, caplog):
    frame = iris.X.assign(label=iris.y)

    def lookup(config):
        return TrialResult(synthetic_score(config), duration=0.01)

    res = optimize(frame, target="label", n_trials=5, evaluate_fn=lookup, random_state=0)  # warm_start="auto"
    top = metalearn.recommend(iris, k=3).configs
    assert [space.config_id(c) for c in res.history["config"][:3]] == [space.config_id(c) for c in top]
    assert list(res.history["origin"][:4]) == ["warm-start"] * 3 + ["portfolio"]  # the KB's prior continues
    cold = optimize(iris, n_trials=2, evaluate_fn=lookup, warm_start="none", random_state=0)
    assert set(cold.history["origin"]) == {"random"}
    with caplog.at_level("WARNING"):
        fallback = optimize(iris, n_trials=2, evaluate_fn=lookup, kb=tmp_path / "no_kb", random_state=0)
    assert "family defaults" in caplog.text
    assert list(fallback.history["family"]) == ["hist_gradient_boosting", "random_forest"]
    with pytest.raises(InvalidParameterError, match="warm_start must be one of"):
        optimize(iris, n_trials=2, evaluate_fn=lookup, warm_start="sometimes")


@pytest.mark.parametrize(("time_budget", "search"), [(10.0, 5.0), (3.0, 1.0), (0.5, 0.5)])
def test_the_warm_start_is_part_of_the_time_budget(iris, monkeypatch, time_budget, search):
    import importlib

    loop = importlib.import_module("metalearn.optimize._optimize")
    clock = [100.0]
    monkeypatch.setattr(loop.time, "perf_counter", lambda: clock[0])
    real_resolve = loop.resolve_warm_start

    def slow_warm_start(*args, **kwargs):
        clock[0] += 5.0  # the meta-features and the KB lookup take 5 s
        return real_resolve(*args, **kwargs)

    seen = {}

    def fake_loop(optimizer, run, n_trials, budget, *rest):
        seen["budget"] = budget
        return []

    monkeypatch.setattr(loop, "resolve_warm_start", slow_warm_start)
    monkeypatch.setattr(loop, "_loop", fake_loop)
    loop.optimize(iris, n_trials=None, time_budget=time_budget, evaluate_fn=lambda c: TrialResult(0.5))
    assert seen["budget"] == search  # what is left, but at least a second (or the whole budget if smaller)


def test_optimize_stops_at_the_time_budget_and_rejects_no_budget(iris):
    res = optimize(iris, n_trials=None, time_budget=0.3, evaluate_fn=lambda c: TrialResult(0.5, duration=0.1),
                   random_state=0)
    assert len(res.history) >= 1
    with pytest.raises(InvalidParameterError):
        optimize(iris, n_trials=None, time_budget=None)
    with pytest.raises(InvalidParameterError):
        optimize(iris, n_trials=0)


def test_optimize_runs_real_evaluations_in_parallel_batches(iris, space):
    res = optimize(iris, n_trials=4, n_jobs=2, cv=2, isolation="none", random_state=0,
                   warm_start=[space.default("linear"), space.default("knn")])
    assert len(res.history) == 4 and (res.history["status"] == "ok").all()
    assert res.best_score > 0.8


def test_optimize_reports_failures_as_rows(iris):
    res = optimize(iris, n_trials=3, random_state=0,
                   evaluate_fn=lambda c: TrialResult(float("nan"), status="failed", error="boom"))
    assert (res.history["status"] == "failed").all() and res.best_config is None


def test_ensemble_selection_weights_complementary_models():
    y = np.array([0, 1, 0, 1])
    classes = np.array([0, 1])
    good = np.array([[0.9, 0.1], [0.2, 0.8], [0.8, 0.2], [0.4, 0.6]])
    bad = good[:, ::-1]
    w = ensemble_selection([good, bad], y, get_metric("balanced_accuracy", "classification"), classes=classes)
    assert w.tolist() == [1.0, 0.0]


def test_user_kb_is_copy_on_write_and_visible_to_the_reader(tmp_path, iris, space):
    from metalearn.kb import KBStore
    from metalearn.kb._kb import KnowledgeBase
    from metalearn.kb._user import add_runs

    base = tmp_path / "base.sqlite"
    KBStore(base, create=True).close()
    before = base.read_bytes()
    history = pd.DataFrame({"config": [space.default("knn"), space.default("svm")], "score": [0.9, np.nan],
                            "status": ["ok", "failed"], "duration": [0.1, 0.2]})
    user = tmp_path / "user_kb"
    assert add_runs(history, iris, user, metric="balanced_accuracy", metafeatures={"NumberOfInstances": 150.0},
                    base=base) == 2
    assert add_runs(history, iris, user, metric="balanced_accuracy", metafeatures={"NumberOfInstances": 150.0},
                    base=base) == 0
    assert base.read_bytes() == before
    kb = KnowledgeBase.open(user)
    assert set(kb.runs["source"]) == {"user"} and len(kb.runs) == 2
    assert kb.metafeature_matrix("classification").iloc[0]["NumberOfInstances"] == 150.0
    perf = kb.performance("classification")
    assert perf.notna().sum().sum() == 1


def test_equivalence_key_skips_configs_that_differ_only_in_idle_steps():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(60, 3)), columns=["a", "b", "c"])
    y = (X["a"] > 0).astype(int).to_numpy()
    clean = metalearn.load_dataset((X, y), task="classification")
    holes = metalearn.load_dataset((X.mask(rng.random(X.shape) < 0.1), y), task="classification")
    space = get_space("classification")
    first = dict(space.default("linear"), imputer="mean", encoder="onehot")
    twin = dict(first, imputer="median", encoder="ordinal")
    key = equivalence_key(space, clean)
    assert key(first) == key(twin) and key(first) != key(dict(first, C=0.5))
    assert equivalence_key(space, holes)(first) != equivalence_key(space, holes)(twin)  # the imputer acts there
    opt = RandomSearch(space, random_state=0, key=key)
    opt.enqueue([first, twin])
    trials = opt.ask(2)
    assert trials[0].config == first and trials[1].origin == "random"  # the twin was never proposed
    bo = BayesianOptimizer(space, random_state=0, key=key)
    for trial in [bo.ask() for _ in range(4)]:
        bo.tell(trial, TrialResult(score=float(rng.random()), status="ok", duration=0.1))
    proposed = [key(t.config) for t, _ in bo.trials] + [key(c) for c in [bo.ask().config for _ in range(3)]]
    assert len(set(proposed)) == len(proposed)


def test_reserve_stops_the_search_early_enough_to_keep_it_free():
    ds = metalearn.load_dataset("sklearn:wine")
    space = get_space("classification")
    ok = lambda config: TrialResult(score=0.5, status="ok", duration=0.01)  # noqa: E731
    seen = []

    def reserve(history):
        seen.append(len(history))
        return 3600.0 if len(history) >= 2 else 0.0

    res = optimize(ds, n_trials=None, time_budget=3600, evaluate_fn=ok, reserve=reserve, random_state=0,
                   optimizer=RandomSearch(space, random_state=0))
    assert len(res.history) == 2 and seen == [1, 2]  # re-estimated after each trial, stops once it claims all


def test_refit_reserve_grows_with_trial_cost_and_drops_an_unaffordable_ensemble():
    from metalearn.optimize._ensemble import refit_reserve
    from metalearn.optimize._fallback import fallback_candidate

    def history(durations):
        return pd.DataFrame({"status": "ok", "score": np.linspace(1, 0, len(durations)), "duration": durations})

    cheap = refit_reserve(history([1.0] * 6), total=60, cv=5, ensemble=True)
    assert cheap == pytest.approx(1 / 4 + 4 / 4 + 3 + 1)  # the refit and the four other members' refits
    assert refit_reserve(history([1.0] * 6), total=60, cv=5, ensemble=False) == pytest.approx(1 / 4 + 4)
    costly = refit_reserve(history([20.0] * 6), total=60, cv=5, ensemble=True)
    assert costly == pytest.approx(20 / 4 + 4)  # the ensemble would not fit: only the refit is kept free
    assert refit_reserve(history([]), total=60, cv=5, ensemble=True) == pytest.approx(4)
    # refits use all rows: 100,000 against the 20,000 the trials were evaluated on
    assert refit_reserve(history([1.0] * 6), total=60, cv=5, ensemble=False, scale=5.0) == pytest.approx(5 / 4 + 4)
    # nothing full yet: the fit of the best screened candidate (the fallback's choice) is kept free
    screened = pd.DataFrame({"number": [0, 1], "status": "screened", "score": [0.6, 0.8], "duration": [2.0, 16.0],
                             "n_rows": 300})
    assert refit_reserve(screened, total=60, cv=5, ensemble=True) == pytest.approx(16 / 4 + 4)
    # each trial counts at its largest subsample, as the fallback picks: trial 1 (0.8 on 300 rows), not
    # trial 0's 0.9 on 100 rows (it fell to 0.7 on 300)
    rungs = pd.DataFrame({"number": [0, 0, 1], "status": "screened", "score": [0.9, 0.7, 0.8],
                          "duration": [1.0, 30.0, 8.0], "n_rows": [100, 300, 300]})
    assert refit_reserve(rungs, total=60, cv=5, ensemble=True) == pytest.approx(8 / 4 + 4)
    assert fallback_candidate(rungs)["number"] == 1


def test_reserve_must_be_callable_and_finite():
    ds = metalearn.load_dataset("sklearn:wine")
    ok = lambda config: TrialResult(score=0.5, status="ok", duration=0.01)  # noqa: E731
    with pytest.raises(InvalidParameterError, match="reserve must be a callable"):
        optimize(ds, n_trials=2, evaluate_fn=ok, reserve=5.0)
    with pytest.raises(InvalidParameterError, match="finite number of seconds"):
        optimize(ds, n_trials=2, time_budget=60, evaluate_fn=ok, reserve=lambda history: float("nan"))


def test_known_fold_scores_reach_the_adaptive_prior_only_when_every_result_has_the_same_folds(space):
    pool = space.defaults()
    prior = _TwoDatasetPortfolio(pool)
    opt = BayesianOptimizer(space, prior=prior, candidates=pool, portfolio_trials=5, random_state=0)
    assert opt.known_folds() is None  # nothing finished yet
    for folds in ((0.5, 0.6, 0.7), (0.4, 0.4, 0.5)):
        opt.tell(opt.ask(), TrialResult(float(np.mean(folds)), fold_scores=folds))
    failed = opt.ask()
    opt.tell(failed, TrialResult(float("nan"), status="failed"))  # failed trials are not in known()
    np.testing.assert_allclose(opt.known_folds(), [[0.5, 0.6, 0.7], [0.4, 0.4, 0.5]])
    opt.ask()
    np.testing.assert_allclose(prior.folds, opt.known_folds())  # handed to condition()
    odd = BayesianOptimizer(space, prior=prior, candidates=pool, random_state=0)
    odd.observe([(pool[0], TrialResult(0.9, fold_scores=(0.9, 0.9))), (pool[1], TrialResult(0.8))])
    assert odd.known_folds() is None  # one result without folds: no fold table at all


def test_the_portfolio_skips_configurations_of_families_whose_library_is_missing(space, monkeypatch):
    from metalearn.space import model_family

    pool = [space.default("catboost"), *space.defaults()[:2]]  # the prior favours catboost's default most
    prior = _TwoDatasetPortfolio(pool)
    monkeypatch.setattr(type(model_family("catboost")), "available", lambda self: False)
    space = get_space(space.task)  # a space checks which libraries are installed once, on first use
    opt = BayesianOptimizer(space, prior=prior, portfolio_trials=3, random_state=0)
    trials = opt.ask(2)
    assert [t.origin for t in trials] == ["portfolio", "portfolio"]
    assert all(t.config["family"] != "catboost" for t in trials)
