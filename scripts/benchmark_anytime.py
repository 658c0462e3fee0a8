"""Anytime benchmark of the optimizer: simulated (table lookup on the dense KB) and live (held-out data).

Simulated (default): leave-one-family-out on the KB datasets evaluated on at
least ``--min-coverage`` of the pool; the search is restricted to the pool
and each evaluation is a table lookup. Normalised regret (0 = the pool's
best on that dataset, 1 = its worst) and mean rank at k evaluations, over
``--seeds`` seeds, for: ours (the recommendation's top 3, then the adaptive
portfolio and transfer-prior BO, as in the estimators), ours without the prior
(top 5 + cold BO), cold BO, random search, Optuna TPE cold and warm (``enqueue_trial``
of our top configs), kNN warm start + cold BO (auto-sklearn 1) and a greedy
portfolio + cold BO (auto-sklearn 2). Wilcoxon signed-rank with Holm
correction against ours at k = 10 and 25.

Live (``--data-dir DIR``): datasets of a PMLB-layout directory, each with
its family excluded from the KB; 75/25 split; equal wall-clock budget per
method; test metric of MetaLearnClassifier/Regressor vs FLAML AutoML vs
HistGradientBoosting default vs Optuna TPE over our space.

Usage::

    nice -n 10 python scripts/benchmark_anytime.py --kb .work/kb.sqlite --seeds 5
    nice -n 10 python scripts/benchmark_anytime.py --kb .work/kb.sqlite --data-dir ../shared/datasets/pmlb \\
        --budget 60 --max-datasets 20
    # (the ablations of ours' defaults and ours_div3: commands in docs/optimizer.md and docs/benchmarks/anytime.md)
    # every held-out dataset (the default), then the same cached curves with each family counted once:
    python scripts/benchmark_anytime.py --kb metalearn/kb_data --seeds 5 --cache .work/full.jsonl
    python scripts/benchmark_anytime.py --kb metalearn/kb_data --seeds 5 --cache .work/full.jsonl --by-family
    # rerun only our method, the anchors' rows taken from an earlier run's printed output:
    python scripts/benchmark_anytime.py --kb metalearn/kb_data --data-dir ../shared/datasets/pmlb \\
        --live-methods metalearn --reuse-live earlier_live_output.txt
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
import warnings
from collections.abc import Collection
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
from anytime_tpe import run_tpe, suggest_config
from benchmark_zero_shot import fold_scores
from scipy.stats import rankdata

from metalearn.kb._kb import KnowledgeBase
from metalearn.optimize import BayesianOptimizer, RandomSearch, TrialResult
from metalearn.optimize._warm import WARM_START_WITH_PRIOR
from metalearn.recommend import KNNStrategy, PortfolioStrategy, TaskContext, TransferPrior, one_per_family
from metalearn.recommend._auto import make_strategy
from metalearn.recommend._simulate import family_means, wilcoxon_holm
from metalearn.space import get_space

KS = (1, 5, 10, 25, 50)
TEST_KS = (10, 25)
WARM = 5
#: ours and its ablations: (configs enqueued, BayesianOptimizer.portfolio_trials, one per family first?)
OURS = {"ours": (WARM_START_WITH_PRIOR, 25, False), "ours_div3": (WARM_START_WITH_PRIOR, 25, True),
        "ours_w1_p15": (1, 15, False), "ours_w5_p15": (5, 15, False), "ours_w5_p0": (5, 0, False),
        "ours_noise": (WARM_START_WITH_PRIOR, 25, False)}
#: TransferPrior parameters of ours' variants (ours_noise: own results ordered only beyond their fold noise)
PRIOR_PARAMS = {"ours_noise": {"noise_aware": True}}
#: ranked configs the family-diverse warm start (ours_div3) chooses from (the estimators' recommendation size)
RANKED = 10
METHODS = ("ours", "ours_no_prior", "cold_bo", "random", "tpe_cold", "tpe_warm", "knn_bo", "portfolio_bo")
#: not in the default table: cold BO with the random-forest surrogate (the surrogate choice), ablations of ours
EXTRA_METHODS = ("cold_bo_rf", "ours_div3", "ours_w1_p15", "ours_w5_p15", "ours_w5_p0", "ours_noise")
COLD_METHODS = ("cold_bo", "random", "tpe_cold", "cold_bo_rf")


# -- simulated -----------------------------------------------------------------
def run_optimizer(opt, space, pool: list[dict], scores: np.ndarray, n: int,
                  folds: np.ndarray | None = None) -> list[int]:
    """Let ``opt`` pick ``n`` pool configs, each told its KB score (and its KB fold scores when ``folds``)."""
    index = {space.config_id(c): i for i, c in enumerate(pool)}
    tried = []
    for _ in range(n):
        trial = opt.ask()
        j = index[trial.config_id]
        tried.append(j)
        s = scores[j]
        kept = () if folds is None or not np.all(np.isfinite(folds[j])) else tuple(folds[j])
        opt.tell(trial, TrialResult(float(s), fold_scores=kept) if np.isfinite(s)
                 else TrialResult(float("nan"), status="failed"))
    return tried


def simulate_dataset(method: str, train: TaskContext, fitted: dict, row_raw: np.ndarray, query: dict,
                     seed: int, n: int, row_folds: np.ndarray | None = None) -> list[int]:
    """Pool indices tried, in order, by ``method`` on one held-out dataset (``query``: its raw meta-features)."""
    space = get_space(train.task)
    pool = list(train.configs)

    def warm(strategy: str, k: int = WARM, diverse: bool = False) -> list[dict]:
        n_ranked = max(k, RANKED) if diverse else k
        ranked = [pool[int(i)] for i in fitted[strategy].rank(fitted[strategy].scale(query), n_ranked).indices]
        return one_per_family(ranked, k) if diverse else ranked

    if method.startswith("tpe"):
        return run_tpe(space, pool, row_raw, n, seed, warm("auto") if method == "tpe_warm" else [])
    if method == "random":
        return run_optimizer(RandomSearch(space, candidates=pool, random_state=seed), space, pool, row_raw, n,
                             row_folds)
    prior, (n_warm, portfolio_trials, diverse) = None, OURS.get(method, (WARM, 0, False))
    if method in OURS:
        auto = fitted["auto"]  # the prior recommend() hands the optimizer: auto's model and meta-features
        prior = TransferPrior.from_context(auto.ctx_, auto.model_, auto.scale(query), **PRIOR_PARAMS.get(method, {}))
    surrogate = "random_forest" if method == "cold_bo_rf" else "extra_trees"
    opt = BayesianOptimizer(space, prior=prior, surrogate=surrogate, candidates=pool, random_state=seed,
                            portfolio_trials=portfolio_trials)
    first = "auto" if method in OURS else {"ours_no_prior": "auto", "knn_bo": "knn",
                                           "portfolio_bo": "portfolio"}.get(method)
    if first is not None:
        opt.enqueue(warm(first, n_warm, diverse))
    return run_optimizer(opt, space, pool, row_raw, n, row_folds)


def regret_curve(norm_row: np.ndarray, tried: list[int], ks=KS) -> np.ndarray:
    best = np.maximum.accumulate(norm_row[tried])
    return np.array([1.0 - best[min(k, len(best)) - 1] for k in ks])


def _fingerprint(ctx: TaskContext, seeds: int, max_per_family: int | None = None) -> str:
    """Identifies a simulation setting: the datasets and pool configs of the context, the seeds, the subsample."""
    import hashlib

    text = json.dumps([ctx.task, sorted(ctx.dataset_names), list(ctx.config_ids), seeds, list(KS)]
                      + ([max_per_family] if max_per_family else []))
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def _read_cache(path: Path | None, fingerprint: str) -> dict:
    """(dataset, method) -> regret curve stored by an earlier (possibly interrupted) run."""
    if path is None or not path.exists():
        return {}
    out = {}
    for line in path.read_text().splitlines():
        rec = json.loads(line)
        if rec["fingerprint"] == fingerprint:
            out[(rec["dataset"], rec["method"])] = np.array(rec["curve"])
    return out


def held_out_rows(families: np.ndarray, fam: str, max_per_family: int | None, rng: np.random.Generator) -> np.ndarray:
    """Rows of family ``fam`` to evaluate: all, or at most ``max_per_family`` drawn at random.

    The subsample only picks which held-out datasets are scored; the model is
    always trained on every dataset of the other families.
    """
    held = np.flatnonzero(families == fam)
    if max_per_family and len(held) > max_per_family:
        held = np.sort(rng.choice(held, size=max_per_family, replace=False))
    return held


def _fill_from_cache(regret: dict, done: dict, names, rows) -> dict:
    """Copy cached curves of ``rows`` into ``regret`` (rows without a full set of methods stay NaN)."""
    for row in rows:
        if all((names[row], m) in done for m in regret):
            for m in regret:
                regret[m][row] = done[(names[row], m)]
    return regret


def simulate_task(kb, task: str, seeds: int, min_coverage: float, methods: tuple[str, ...],
                  cache: Path | None = None, max_per_family: int | None = None,
                  shard: tuple[int, int] = (0, 1), by_family: bool = False,
                  only_families: Collection[str] | None = None, skip_families: Collection[str] = ()) -> dict:
    """Method -> regret curves of the scored datasets (per family with ``by_family``); see :func:`scored_rows`."""
    regret, families = scored_rows(kb, task, seeds, min_coverage, methods, cache, max_per_family, shard,
                                   only_families, skip_families)
    return family_means(regret, families) if by_family else regret


def scored_rows(kb, task: str, seeds: int, min_coverage: float, methods: tuple[str, ...],
                cache: Path | None = None, max_per_family: int | None = None, shard: tuple[int, int] = (0, 1),
                only_families: Collection[str] | None = None,
                skip_families: Collection[str] = ()) -> tuple[dict, np.ndarray]:
    """LOFO anytime simulation; with ``cache`` (JSONL) every finished dataset is kept and a rerun resumes.

    ``shard = (i, n)`` computes only every n-th family starting at i (the
    others are read from the cache when present), so n processes sharing one
    cache file split the work; a final unsharded run reports the whole table.
    ``only_families`` / ``skip_families`` restrict what is returned (a
    breakdown; the draws and the cache are the same as for the whole run).
    Returns method -> (scored datasets x KS) regret, and each scored dataset's family.
    """
    ctx = TaskContext.from_kb(kb, task, min_coverage=min_coverage)
    families = np.asarray(ctx.families)
    print(f"\n## {task}: {ctx.n_datasets} datasets ({len(set(families))} families) x {len(ctx.configs)} pool "
          f"configs (min_coverage={min_coverage}); scoring "
          f"{'all' if not max_per_family else f'at most {max_per_family} per family'}", flush=True)
    fingerprint = _fingerprint(ctx, seeds, max_per_family)
    folds = fold_scores(kb, ctx)  # told with each result (the noise-aware prior of ours_noise reads them)
    rng = np.random.default_rng(0)
    done = _read_cache(cache, fingerprint)
    regret = {m: np.full((ctx.n_datasets, len(KS)), np.nan) for m in methods}
    n = min(max(KS), len(ctx.configs))
    for f_index, fam in enumerate(sorted(set(families))):
        held = held_out_rows(families, fam, max_per_family, rng)
        if np.sum(families != fam) < 2:
            continue
        if f_index % shard[1] != shard[0]:
            regret = _fill_from_cache(regret, done, ctx.dataset_names, held)
            continue
        todo = [(row, m) for row in held for m in methods if (ctx.dataset_names[row], m) not in done]
        fitted = {}
        if todo:
            train = ctx.subset(families != fam)
        if any(m not in COLD_METHODS for _, m in todo):  # cold methods never look at the KB
            fitted = {"auto": make_strategy("auto").fit(train), "knn": KNNStrategy().fit(train),
                      "portfolio": PortfolioStrategy().fit(train)}
        for row in held:
            pending = [m for m in methods if (ctx.dataset_names[row], m) not in done]
            query = ctx.mf_raw.iloc[row].to_dict() if pending else None
            for m in methods:
                key = (ctx.dataset_names[row], m)
                if m in pending:
                    curves = [regret_curve(ctx.norm[row],
                                           simulate_dataset(m, train, fitted, ctx.raw[row], query, s, n,
                                                            folds[row]))
                              for s in range(seeds)]
                    done[key] = np.mean(curves, axis=0)
                    if cache is not None:
                        with cache.open("a") as fh:
                            fh.write(json.dumps({"fingerprint": fingerprint, "task": task, "dataset": key[0],
                                                 "method": m, "curve": done[key].tolist()}) + "\n")
                regret[m][row] = done[key]
        print(f"  family {fam}: {len(held)} dataset(s) done", flush=True)
    keep = ~np.isnan(regret[methods[0]][:, 0]) & ~np.isin(families, list(skip_families))
    if only_families is not None:
        keep &= np.isin(families, list(only_families))
    if not keep.any():
        raise SystemExit(f"{task}: no scored datasets left (families {sorted(set(families))[:5]}...; "
                         f"only {only_families}, skip {list(skip_families)})")
    return {m: r[keep] for m, r in regret.items()}, families[keep]


def anytime_targets(regret: dict) -> dict:
    """Mean ranks at every k, Wilcoxon-Holm p-values against ``ours`` at TEST_KS, and #6's three targets.

    The significance target counts a baseline only when ours also has the lower mean regret at k=10.

    ``regret`` maps methods (``ours`` first) to (units x KS) regret curves.
    """
    methods = list(regret)
    ranks, tests = {}, {}
    for j, k in enumerate(KS):
        table = np.column_stack([regret[m][:, j] for m in methods])
        ranks[k] = dict(zip(methods, np.apply_along_axis(rankdata, 1, table).mean(axis=0)))
    for k in TEST_KS:
        j = KS.index(k)
        tests[k] = wilcoxon_holm(regret["ours"][:, j], {m: regret[m][:, j] for m in methods[1:]})
    r10 = {m: float(regret[m][:, KS.index(10)].mean()) for m in methods}
    better = {m: p < 0.05 and r10["ours"] < r10[m] for m, p in tests[10].items()}  # the test is two-sided
    return {"ranks": ranks, "holm": tests, "regret10": r10, "significantly_better": better,
            "best_rank": all(min(ranks[k], key=ranks[k].get) == "ours" for k in KS),
            "half_of_cold": r10["ours"] <= r10["cold_bo"] / 2 if "cold_bo" in r10 else None,
            "significant": all(better.values())}


def report_simulated(task: str, regret: dict, unit: str = "held-out datasets") -> dict:
    methods = list(regret)
    n = len(next(iter(regret.values())))
    found = anytime_targets(regret)
    ranks, tests, r10 = found["ranks"], found["holm"], found["regret10"]
    print(f"\n### {task}: normalised regret (mean over {n} {unit}) / mean rank")
    header = "| method | " + " | ".join(f"k={k}" for k in KS) + " |"
    print(header + "\n|" + "---|" * (len(KS) + 1))
    for m in methods:
        cells = [f"{regret[m][:, j].mean():.3f} / {ranks[k][m]:.2f}" for j, k in enumerate(KS)]
        print(f"| {m} | " + " | ".join(cells) + " |")
    for k in TEST_KS:
        print(f"\nWilcoxon-Holm vs ours at k={k}: " + ", ".join(f"{m} p={p:.3g}" for m, p in tests[k].items()))
    cold = (f"regret@10 ours {r10['ours']:.3f} vs cold BO {r10['cold_bo']:.3f} (target <= {r10['cold_bo'] / 2:.3f}): "
            f"{found['half_of_cold']}; " if "cold_bo" in r10 else "")
    print(f"\nTargets: ours best mean rank at every k: {found['best_rank']}; {cold}"
          f"significantly better than all at k=10: {found['significant']}")
    return {"ranks": {str(k): v for k, v in ranks.items()}, "regret": {m: regret[m].mean(axis=0).tolist()
                                                                       for m in methods},
            "holm": {str(k): v for k, v in tests.items()}}


# -- live ----------------------------------------------------------------------
def live_methods(budget: float, seed: int):
    """name -> fit_predict(train Dataset, test X, kb view) -> predictions."""

    def ours(train, X_test, kb):
        from metalearn.estimators import MetaLearnClassifier, MetaLearnRegressor

        cls = MetaLearnClassifier if train.task == "classification" else MetaLearnRegressor
        est = cls(time_budget=budget, n_trials=None, kb=kb, random_state=seed).fit(train.X, train.y)
        return est.predict(X_test)

    def flaml(train, X_test, kb):
        from flaml import AutoML

        automl = AutoML()
        automl.fit(train.X, train.y, task=train.task, time_budget=budget, n_jobs=1, verbose=0, seed=seed)
        return automl.predict(X_test)

    def hgb(train, X_test, kb):
        space = get_space(train.task)
        pipe = space.to_pipeline(space.default("hist_gradient_boosting"), train, random_state=seed)
        return pipe.fit(train.X, train.y).predict(X_test)

    def tpe(train, X_test, kb):
        import optuna

        from metalearn.evaluation import evaluate

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        space = get_space(train.task)
        study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed))
        start = time.perf_counter()
        while time.perf_counter() - start < 0.9 * budget:
            trial = study.ask()
            config = suggest_config(trial, space)
            res = evaluate(config, train, time_limit=max(1.0, 0.9 * budget - (time.perf_counter() - start)),
                           random_state=seed)
            study.tell(trial, res.mean_score) if res.ok else study.tell(trial, state=optuna.trial.TrialState.FAIL)
        best = suggest_config(optuna.trial.FixedTrial(study.best_params), space)
        return space.to_pipeline(best, train, random_state=seed).fit(train.X, train.y).predict(X_test)

    return {"metalearn": ours, "flaml": flaml, "hgb_default": hgb, "optuna_tpe": tpe}


def read_live_rows(path: Path | None) -> dict[str, dict]:
    """Per-dataset result rows (the JSON lines a live run prints) of an earlier run, by dataset name."""
    if path is None:
        return {}
    rows = {}
    for line in path.read_text().splitlines():
        if line.startswith("{"):
            row = json.loads(line)
            rows[row["dataset"]] = row
    return rows


def run_live(kb, data_dir: Path, budget: float, max_datasets: int, seed: int, names: list[str] | None,
             only: list[str] | None = None, earlier: dict[str, dict] | None = None) -> None:
    """Live benchmark; with ``only``, the other methods' results are taken from ``earlier`` rows.

    Rerunning only the method that changed keeps the anchors' measurements
    (same datasets, split and seed) and saves their wall-clock budgets.
    """
    from sklearn.model_selection import train_test_split

    from metalearn.data import load_pmlb, pmlb_manifest
    from metalearn.evaluation import get_metric
    from metalearn.kb import dataset_family, family_sample
    from metalearn.recommend import Recommender

    chosen = names or family_sample(pmlb_manifest(data_dir), max_datasets, random_state=seed)
    methods = live_methods(budget, seed)
    run = [m for m in methods if not only or m in only]
    missing = [n for n in chosen if set(methods) - set(run) and n not in (earlier or {})]
    if missing:
        raise SystemExit(f"--reuse-live has no earlier row for {missing}; run every method on them")
    rows = []
    for name in chosen:
        ds = load_pmlb(name, data_dir)
        family = dataset_family(name)
        view = Recommender(kb.exclude(names=[name], families=[family]))
        view.fitted(ds.task)  # offline work, like the shipped KB's recommender fitted at publish time
        strat = ds.y if ds.task == "classification" else None
        idx_train, idx_test = train_test_split(np.arange(ds.n_rows), test_size=0.25, random_state=seed,
                                               stratify=strat)
        train = replace(ds, X=ds.X.iloc[idx_train].reset_index(drop=True), y=ds.y[idx_train])
        X_test, y_test = ds.X.iloc[idx_test].reset_index(drop=True), ds.y[idx_test]
        metric = get_metric(None, ds.task)
        row = {"dataset": name, "task": ds.task, "excluded_family": family}
        for mname in set(methods) - set(run):
            row[mname], row[f"{mname}_s"] = earlier[name][mname], earlier[name][f"{mname}_s"]
        for mname in run:
            fit_predict = methods[mname]
            t0 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                pred = fit_predict(train, X_test, view)
            row[mname] = float(metric.score(_Const(pred), None, y_test, None))
            row[f"{mname}_s"] = round(time.perf_counter() - t0, 1)
        rows.append(row)
        print(json.dumps(row), flush=True)
    report_live(pd.DataFrame(rows), list(methods))


class _Const:
    def __init__(self, pred) -> None:
        self.pred = np.asarray(pred)

    def predict(self, X):
        return self.pred


def report_live(frame: pd.DataFrame, methods: list[str]) -> None:
    print("\n### live: test metric (balanced accuracy / r2)")
    cols = ["dataset", "task", "excluded_family", *methods]
    print("| " + " | ".join(cols) + " |\n|" + "---|" * len(cols))
    for _, r in frame.iterrows():
        print("| " + " | ".join(f"{r[c]:.4f}" if c in methods else str(r[c]) for c in cols) + " |")
    from scipy.stats import binomtest

    ranks = frame[methods].rank(axis=1, ascending=False).mean()
    print("\n| method | mean rank | metalearn win rate vs it | sign test p (one-sided) |\n|---|---|---|---|")
    for m in methods:
        if m == "metalearn":
            print(f"| {m} | {ranks[m]:.2f} | - | - |")
            continue
        won, lost = int((frame["metalearn"] > frame[m]).sum()), int((frame["metalearn"] < frame[m]).sum())
        wins = (won + 0.5 * (len(frame) - won - lost)) / len(frame)
        p = binomtest(won, won + lost, alternative="greater").pvalue if won + lost else 1.0
        print(f"| {m} | {ranks[m]:.2f} | {wins:.0%} ({won}/{lost}) | {p:.3g} |")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kb", default=None, help="KB directory or kb.sqlite (default: the shipped KB)")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--min-coverage", type=float, default=0.95)
    parser.add_argument("--tasks", nargs="+", default=["classification", "regression"])
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS + EXTRA_METHODS)
    parser.add_argument("--data-dir", type=Path, default=None, help="run the live benchmark on this PMLB dir")
    parser.add_argument("--datasets", nargs="+", default=None, help="live: these dataset names")
    parser.add_argument("--budget", type=float, default=60.0, help="live: seconds per method and dataset")
    parser.add_argument("--max-datasets", type=int, default=20)
    parser.add_argument("--live-methods", nargs="+", default=None, choices=["metalearn", "flaml", "hgb_default",
                                                                         "optuna_tpe"],
                        help="live: run only these methods; the others' rows come from --reuse-live")
    parser.add_argument("--reuse-live", type=Path, default=None,
                        help="live: output of an earlier live run (its JSON lines) for the methods not rerun")
    parser.add_argument("--output", type=Path, default=None, help="write the simulated summary as JSON")
    parser.add_argument("--max-per-family", type=int, default=None,
                        help="simulated: score at most this many held-out datasets per family (random, seed 0); "
                             "training still uses every other family")
    parser.add_argument("--by-family", action="store_true",
                        help="simulated: rank and test per family (mean over its held-out datasets), not per dataset")
    parser.add_argument("--only-families", nargs="+", default=None,
                        help="simulated: report only these families (e.g. friedman)")
    parser.add_argument("--skip-families", nargs="+", default=(), help="simulated: report without these families")
    parser.add_argument("--shard", default="0/1",
                        help="simulated: I/N computes every N-th family from the I-th (processes share --cache)")
    parser.add_argument("--cache", type=Path, default=None,
                        help="simulated: JSONL of finished datasets; an interrupted run resumes from it")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    kb = KnowledgeBase.open(args.kb)
    if args.data_dir is not None:
        run_live(kb, args.data_dir, args.budget, args.max_datasets, 0, args.datasets, args.live_methods,
                 read_live_rows(args.reuse_live))
        return
    methods = tuple(["ours"] + [m for m in args.methods if m != "ours"])
    for path in (args.cache, args.output):
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
    try:
        shard = tuple(int(v) for v in args.shard.split("/"))
    except ValueError:
        shard = ()
    if len(shard) != 2 or not 0 <= shard[0] < shard[1]:
        parser.error(f"--shard must be I/N with 0 <= I < N, not {args.shard!r}")
    summary = {}
    for task in args.tasks:
        regret = simulate_task(kb, task, args.seeds, args.min_coverage, methods, args.cache, args.max_per_family,
                               shard, args.by_family, args.only_families, args.skip_families)
        summary[task] = report_simulated(task, regret, "families" if args.by_family else "held-out datasets")
    if args.output:
        args.output.write_text(json.dumps(summary, indent=1))


if __name__ == "__main__":
    sys.exit(main())
