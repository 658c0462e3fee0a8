"""The benchmark scripts' own logic (caching, reuse, reports, noise floor) on the synthetic KB."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
from synthetic_kb import TASK

from benchmarks import anytime
from metalearn.recommend import TaskContext, normalise_scores

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


def _load_script(name: str):
    """Import ``scripts/<name>.py`` as a module (the scripts are not a package; they import benchmarks/)."""
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_anytime_simulation_resumes_from_its_cache(kb, tmp_path, monkeypatch):
    cache = tmp_path / "anytime.jsonl"
    first = anytime.simulate_task(kb, TASK, 1, 0.9, ("ours", "random"), cache)
    assert len(cache.read_text().splitlines()) == 12 * 2  # one line per (dataset, method)

    def no_more_work(*args, **kwargs):
        raise AssertionError("a cached dataset was simulated again")

    monkeypatch.setattr(anytime, "simulate_dataset", no_more_work)
    again = anytime.simulate_task(kb, TASK, 1, 0.9, ("ours", "random"), cache)
    for method in ("ours", "random"):
        np.testing.assert_array_equal(first[method], again[method])
    with pytest.raises(AssertionError, match="simulated again"):  # another seed count is another setting
        anytime.simulate_task(kb, TASK, 2, 0.9, ("ours", "random"), cache)

    # two shards sharing a cache split the families; the unsharded rerun only reads
    monkeypatch.undo()
    shared = tmp_path / "sharded.jsonl"
    halves = [anytime.simulate_task(kb, TASK, 1, 0.9, ("ours", "random"), shared, shard=(i, 2)) for i in (0, 1)]
    assert len(halves[0]["ours"]) == 6 and len(halves[1]["ours"]) == 12  # 3 families each; the 2nd reads the 1st
    monkeypatch.setattr(anytime, "simulate_dataset", no_more_work)
    whole = anytime.simulate_task(kb, TASK, 1, 0.9, ("ours", "random"), shared)
    np.testing.assert_array_equal(whole["random"], first["random"])
    with pytest.raises(AssertionError, match="simulated again"):  # a subsample is another setting
        anytime.simulate_task(kb, TASK, 1, 0.9, ("ours", "random"), shared, max_per_family=1)
    monkeypatch.undo()
    one_each = anytime.simulate_task(kb, TASK, 1, 0.9, ("random",), None, max_per_family=1)
    assert len(one_each["random"]) == 6
    # per family: one row per family (the mean of its datasets), read from the same cache
    monkeypatch.setattr(anytime, "simulate_dataset", no_more_work)
    per_family = anytime.simulate_task(kb, TASK, 1, 0.9, ("ours", "random"), shared, by_family=True)
    assert len(per_family["ours"]) == 6
    np.testing.assert_allclose(per_family["random"].mean(axis=0), whole["random"].mean(axis=0))  # 2 per family
    fams = sorted(set(TaskContext.from_kb(kb, TASK).families))
    only = anytime.simulate_task(kb, TASK, 1, 0.9, ("random",), shared, only_families=fams[:1])
    rest = anytime.simulate_task(kb, TASK, 1, 0.9, ("random",), shared, by_family=True, skip_families=fams[:1])
    assert len(only["random"]) == 2 and len(rest["random"]) == 5
    np.testing.assert_allclose(only["random"].mean(axis=0), per_family["random"][0])
    with pytest.raises(SystemExit, match="no scored datasets left"):
        anytime.simulate_task(kb, TASK, 1, 0.9, ("random",), shared, only_families=["no_such_family"])
    toy = anytime.family_means({"a": np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 0.0]])}, np.array(["y", "x", "y"]))
    np.testing.assert_array_equal(toy["a"], [[3.0, 4.0], [3.0, 1.0]])


def test_zero_shot_benchmark_recomputes_only_the_methods_asked_and_reads_the_rest(kb, tmp_path, monkeypatch):
    bench = _load_script("benchmark_zero_shot")
    first = tmp_path / "first.json"
    bench.run_simulation(kb, [TASK], 0.9, first)
    earlier = json.loads(first.read_text())[TASK]
    assert set(earlier["regret"]) == set(bench.methods()) and len(earlier["datasets"]) == 12

    # recompute the random baseline only; every other method must come from the earlier file
    computed = []
    real_simulate = bench.simulate

    def recording_simulate(ctx, todo, *args, **kwargs):
        computed.append(list(todo))
        return real_simulate(ctx, todo, *args, **kwargs)

    monkeypatch.setattr(bench, "simulate", recording_simulate)
    again = tmp_path / "again.json"
    bench.run_simulation(kb, [TASK], 0.9, again, only=["random-config"], reuse=first)
    assert computed == [["random-config"]]
    assert json.loads(again.read_text())[TASK]["regret"] == earlier["regret"]
    assert json.loads(again.read_text())[TASK]["summary"] == earlier["summary"]
    per_family = tmp_path / "per_family.json"
    bench.run_simulation(kb, [TASK], 0.9, per_family, only=["random-config"], reuse=first, per_family=True)
    families = json.loads(per_family.read_text())[TASK]
    assert families["per_family"] and len(families["datasets"]) == 6  # 12 datasets, 2 in each family
    np.testing.assert_allclose(np.mean(families["regret"]["ours:auto"], axis=0),
                               np.mean(earlier["regret"]["ours:auto"], axis=0))
    other = tmp_path / "other.json"
    other.write_text(json.dumps({TASK: {**earlier, "datasets": earlier["datasets"][::-1]}}))
    with pytest.raises(SystemExit, match="same 12 datasets"):
        bench.run_simulation(kb, [TASK], 0.9, None, only=["random-config"], reuse=other)


def test_live_anytime_rerun_reuses_earlier_rows_only_when_it_has_them(kb, tmp_path):
    bench = _load_script("benchmark_anytime")
    out = tmp_path / "live.txt"
    out.write_text('INFO: some log line\n{"dataset": "a", "flaml": 0.5, "flaml_s": 60.1}\n| a | table |\n')
    assert bench.read_live_rows(out) == {"a": {"dataset": "a", "flaml": 0.5, "flaml_s": 60.1}}
    assert bench.read_live_rows(None) == {}
    with pytest.raises(SystemExit, match="no earlier row for \\['b'\\]"):
        bench.run_live(kb, tmp_path, 1.0, 2, 0, ["a", "b"], ["metalearn"], bench.read_live_rows(out))


def test_noise_floor_scores_own_fold_picks_on_the_other_folds_or_on_the_benchmark_yardstick():
    bench = _load_script("benchmark_zero_shot")
    # one dataset, three configs, three folds: config 0 wins fold 0 only, config 1 the other two
    folds = np.array([[[0.9, 0.1, 0.1], [0.5, 0.8, 0.8], [0.0, 0.0, 0.0]]])
    yardstick = normalise_scores(folds.mean(axis=2))
    own = bench._own_data_regrets(folds, yardstick)
    honest = dict(((size, i), r[0]) for i, (size, r, _) in enumerate(own))
    assert len(honest) == 6  # 3 single folds + 3 pairs
    np.testing.assert_allclose(honest[(1, 0)], 1 - 0.1 / 0.8)  # picked config 0 on fold 0, scored on folds 1-2
    np.testing.assert_allclose(honest[(1, 1)], 0.0)  # picked config 1 on fold 1
    leaky = [r[0] for _, _, r in own]
    np.testing.assert_allclose(leaky[0], 1 - yardstick[0, 0])  # the same pick, on the 3-fold means
    assert 0 < leaky[0] < honest[(1, 0)]


def test_family_draws_score_one_dataset_per_family_and_count_how_often_each_target_holds():
    families = np.array(["b", "a", "b", "c", "a", "b"])
    picks = anytime.family_draws(families, 200, seed=3)
    assert all(sorted(families[rows]) == ["a", "b", "c"] for rows in picks)
    assert {int(rows[1]) for rows in picks} == {0, 2, 5}  # every member of family b is drawn sometime
    np.testing.assert_array_equal(np.vstack(picks), np.vstack(anytime.family_draws(families, 200, seed=3)))

    n_ks, units = len(anytime.KS), 48  # 24 families of 2: enough for Holm p < 0.05 over 7 baselines
    rng = np.random.default_rng(0)
    worse = {m: rng.uniform(0.2, 0.9, (units, n_ks)) for m in anytime.METHODS if m != "ours"}
    fams = np.repeat(np.arange(units // 2).astype(str), 2)
    best = anytime.draw_summary({"ours": np.zeros((units, n_ks)), **worse}, fams, 20)
    assert best["held"]["all three"] == 1.0 and not best["rank_leaders"] and not best["not_significant"]
    # ours worst on every dataset: no target holds, and the leaders and failed tests are named
    worst = anytime.draw_summary({"ours": np.ones((units, n_ks)), **worse}, fams, 20)
    assert worst["held"]["all three"] == 0.0 and worst["held"]["best mean rank at every k"] == 0.0
    assert sum(s for (k, _), s in worst["rank_leaders"].items() if k == 1) == pytest.approx(1.0)
    assert set(worst["not_significant"]) == set(worse) and worst["n_families"] == units // 2
    # ours perfect on the first dataset of each family, worst on the second: the targets depend on the draw
    first = (np.arange(units) % 2 == 0)[:, None]
    mixed = {"ours": np.where(first, 0.0, 1.0) * np.ones((1, n_ks)), **worse}
    share = anytime.draw_summary(mixed, fams, 400)["held"]["regret@10 <= half of cold BO's"]
    assert 0.0 < share < 1.0
    lucky = anytime.anytime_targets({m: r[0::2] for m, r in mixed.items()})  # the draw of every first dataset
    assert lucky["best_rank"] and lucky["half_of_cold"] and lucky["significant"]
    ceiling = anytime.best_of_warm(mixed)
    warm = np.minimum.reduce([mixed[m] for m in ("ours", *anytime.WARM_STARTED)])
    np.testing.assert_array_equal(ceiling["ours"], warm)
    assert ceiling["cold_bo"] is mixed["cold_bo"]


def test_the_simulation_tells_each_pool_config_its_kb_fold_scores(kb):
    ctx = TaskContext.from_kb(kb, TASK, min_coverage=0.9)
    folds = anytime.fold_scores(kb, ctx)
    assert folds.shape[:2] == ctx.raw.shape and folds.shape[2] >= 1  # the synthetic KB stores one fold
    finite = np.isfinite(ctx.raw)
    np.testing.assert_allclose(folds[finite].mean(axis=1), ctx.raw[finite])  # the KB's mean is the folds' mean
    space = anytime.get_space(TASK)
    pool = list(ctx.configs)
    told = []

    class Recording(anytime.RandomSearch):
        def tell(self, trial, result):
            told.append(result.fold_scores)
            return super().tell(trial, result)

    tried = anytime.run_optimizer(Recording(space, candidates=pool, random_state=0), space, pool, ctx.raw[0], 4,
                                folds[0])
    assert [tuple(folds[0, j]) for j in tried] == told


def test_family_draws_refuse_a_missing_cache_and_too_few_draws(tmp_path, capsys):
    draws = _load_script("anytime_draws")
    for script in (draws, _load_script("anytime_select")):
        with pytest.raises(SystemExit):
            script.main(["--cache", str(tmp_path / "no_such.jsonl")])
        assert "does not exist" in capsys.readouterr().err
    (tmp_path / "cache.jsonl").write_text("")
    with pytest.raises(SystemExit):
        draws.main(["--cache", str(tmp_path / "cache.jsonl"), "--draws", "0"])
    assert "at least 1" in capsys.readouterr().err


def test_the_strategy_selector_learns_from_other_families_only(ctx):
    select = _load_script("anytime_select")
    n, n_ks = ctx.n_datasets, 5
    families = np.asarray(ctx.families)
    flat = {m: np.full((n, n_ks), 0.5) for m in select.CANDIDATES}
    assert (select.select_strategies(ctx, flat) == 0).all()  # ties: ours, the first candidate
    better = {**flat, "knn_bo": np.full((n, n_ks), 0.1)}
    assert (select.select_strategies(ctx, better) == select.CANDIDATES.index("knn_bo")).all()
    # best only on one family: that family's datasets cannot see it, so they keep ours
    own = families == families[0]
    leaky = {**flat, "portfolio_bo": np.where(own[:, None], 0.0, 1.0) * np.ones((1, n_ks))}
    assert (select.select_strategies(ctx, leaky)[own] == 0).all()
    chosen = np.arange(n) % len(select.CANDIDATES)
    curves = {m: np.full((n, n_ks), float(i)) for i, m in enumerate(select.CANDIDATES)}
    np.testing.assert_array_equal(select.selected_regret(curves, chosen)[:, 0], chosen)
    assert (select.hindsight_choice(curves) == 0).all() and (select.hindsight_choice(leaky)[own] == 3).all()


def test_budget_benchmark_splits_the_fit_into_phases_and_reports_them(monkeypatch, capsys):
    bench = _load_script("benchmark_budget")
    clock = iter([10.0, 12.0, 13.5, 20.0])  # search start, warm start, warm end, search end
    monkeypatch.setattr(bench.time, "perf_counter", lambda: next(clock))
    target = type("Module", (), {"search": staticmethod(lambda: "done"), "warm": staticmethod(lambda: None)})
    phases = bench._Phases()
    phases.wrap(target, "search", "search")
    phases.wrap(target, "warm", "warm")
    phases.marks["search_start"] = next(clock)
    target.warm()
    phases.marks["search_end"] = next(clock)
    assert phases.seconds(9.0, 21.0) == {"before_s": 1.0, "warm_start_s": 1.5, "search_s": 8.5, "after_s": 1.0}
    row = {"table": "t", "rows": 100, "budget": 10.0, "wall": 12.5, "ratio": 1.25, "within": False, "model": True,
           "score": 0.5, "trials_ok": 1, "screened": 2, "trials": 4, "fallback": True, "ensemble": False,
           **phases.seconds(9.0, 21.0), "loadavg_1min": 3.0}
    bench.report([row, {"table": "u", "budget": 10.0, "error": "boom"}])
    out = capsys.readouterr().out
    assert "| t | 100 | 10 | 12.5 | 1.25 | NO | yes | 0.5000 | 1 / 2 / 4 | yes | no | 1.0 / 1.5 / 8.5 / 1.0 | 3.0 |" \
        in out
    assert "0 of 1 fits within" in out and "1 failed" in out
