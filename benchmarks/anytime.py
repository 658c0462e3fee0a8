"""The simulated anytime benchmark: every method's search on held-out KB datasets, by table lookup.

Used by ``scripts/benchmark_anytime.py`` (which documents the methods and
the protocol), ``scripts/anytime_draws.py`` and ``scripts/anytime_select.py``:
the methods, the simulation with its resumable cache, the targets the
optimizer is held to, and the draws of one held-out dataset per family.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from collections import Counter
from collections.abc import Collection
from pathlib import Path

import numpy as np
from scipy.stats import rankdata

from benchmarks.simulate import family_means, fold_scores
from benchmarks.stats import wilcoxon_holm
from benchmarks.tpe import run_tpe
from metalearn.engine import BayesianOptimizer, RandomSearch, TrialResult
from metalearn.optimize import WARM_START_WITH_PRIOR
from metalearn.recommend import (
    KNNStrategy,
    PortfolioStrategy,
    TaskContext,
    TransferPrior,
    make_strategy,
)
from metalearn.space import get_space

KS = (1, 5, 10, 25, 50)
TEST_KS = (10, 25)
WARM = 5
#: ours and its ablations: (configs enqueued, BayesianOptimizer.portfolio_trials)
OURS = {"ours": (WARM_START_WITH_PRIOR, 25), "ours_w1_p15": (1, 15), "ours_w5_p15": (5, 15), "ours_w5_p0": (5, 0)}
METHODS = ("ours", "ours_no_prior", "cold_bo", "random", "tpe_cold", "tpe_warm", "knn_bo", "portfolio_bo")
#: not in the default table: cold BO with the random-forest surrogate (the surrogate choice), ablations of ours
EXTRA_METHODS = ("cold_bo_rf", "ours_w1_p15", "ours_w5_p15", "ours_w5_p0")
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

    def warm(strategy: str, k: int = WARM) -> list[dict]:
        return [pool[int(i)] for i in fitted[strategy].rank(fitted[strategy].scale(query), k).indices]

    if method.startswith("tpe"):
        return run_tpe(space, pool, row_raw, n, seed, warm("auto") if method == "tpe_warm" else [])
    if method == "random":
        return run_optimizer(RandomSearch(space, candidates=pool, random_state=seed), space, pool, row_raw, n,
                             row_folds)
    prior, (n_warm, portfolio_trials) = None, OURS.get(method, (WARM, 0))
    if method in OURS:
        auto = fitted["auto"]  # the prior recommend() hands the optimizer: auto's model and meta-features
        prior = TransferPrior.from_context(auto.ctx_, auto.model_, auto.scale(query))
    surrogate = "random_forest" if method == "cold_bo_rf" else "extra_trees"
    opt = BayesianOptimizer(space, prior=prior, surrogate=surrogate, candidates=pool, random_state=seed,
                            portfolio_trials=portfolio_trials)
    first = "auto" if method in OURS else {"ours_no_prior": "auto", "knn_bo": "knn",
                                           "portfolio_bo": "portfolio"}.get(method)
    if first is not None:
        opt.enqueue(warm(first, n_warm))
    return run_optimizer(opt, space, pool, row_raw, n, row_folds)


def regret_curve(norm_row: np.ndarray, tried: list[int], ks=KS) -> np.ndarray:
    best = np.maximum.accumulate(norm_row[tried])
    return np.array([1.0 - best[min(k, len(best)) - 1] for k in ks])


def _fingerprint(ctx: TaskContext, seeds: int, max_per_family: int | None = None) -> str:
    """Identifies a simulation setting: the datasets and pool configs of the context, the seeds, the subsample."""
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
    folds = fold_scores(kb, ctx)  # told with each result, as the estimators tell theirs
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


#: the baselines that start from KB knowledge, like ours
WARM_STARTED = ("ours_no_prior", "tpe_warm", "knn_bo", "portfolio_bo")


def family_draws(families: np.ndarray, n_draws: int, seed: int) -> list[np.ndarray]:
    """``n_draws`` sets of row indices, one row per family (uniform within the family), families sorted."""
    rng = np.random.default_rng(seed)
    members = [np.flatnonzero(families == fam) for fam in sorted(set(families))]
    return [np.array([rows[rng.integers(len(rows))] for rows in members]) for _ in range(n_draws)]


def draw_summary(regret: dict, families: np.ndarray, n_draws: int, seed: int = 0) -> dict:
    """Share of draws meeting each target, and how often each method or test breaks one.

    Returns
    -------
    dict
        ``held`` (target -> share of draws), ``rank_leaders`` ((k, method) ->
        share of draws in which that method, not ours, has the best mean rank
        at k), ``not_significant`` (baseline -> share of draws in which ours is
        not significantly better at k=10: Holm p >= 0.05, or a higher mean
        regret), ``n_families`` and ``n_draws``.
    """
    held, leaders, weak = Counter(), Counter(), Counter()
    for rows in family_draws(families, n_draws, seed):
        found = anytime_targets({m: r[rows] for m, r in regret.items()})
        held["best mean rank at every k"] += found["best_rank"]
        held["regret@10 <= half of cold BO's"] += bool(found["half_of_cold"])
        held["significantly better than every baseline at k=10"] += found["significant"]
        held["all three"] += found["best_rank"] and bool(found["half_of_cold"]) and found["significant"]
        for k in KS:
            lead = min(found["ranks"][k], key=found["ranks"][k].get)
            if lead != "ours":
                leaders[(k, lead)] += 1
        weak.update(m for m, better in found["significantly_better"].items() if not better)
    share = {key: value / n_draws for key, value in held.items()}
    return {"held": share, "rank_leaders": {key: v / n_draws for key, v in leaders.most_common()},
            "not_significant": {m: v / n_draws for m, v in weak.most_common()},
            "n_families": len(set(families)), "n_draws": n_draws}


def best_of_warm(regret: dict) -> dict:
    """``regret`` with ours replaced by its per-dataset minimum with the warm-started baselines.

    A reference, not a method: what a method never worse than any of them at
    any k would score, i.e. whether the targets are within the benchmark's reach.
    """
    return {**regret, "ours": np.minimum.reduce([regret[m] for m in ("ours", *WARM_STARTED) if m in regret])}


def report_draws(task: str, summary: dict, label: str = "") -> None:
    print(f"\n### {task}{label}: {summary['n_draws']} draws of one held-out dataset per family "
          f"({summary['n_families']} families)")
    print("| target | share of draws it holds |\n|---|---|")
    for target, share in summary["held"].items():
        print(f"| {target} | {share:.1%} |")
    leaders = ", ".join(f"k={k} {m} {s:.1%}" for (k, m), s in summary["rank_leaders"].items()) or "none"
    weak = ", ".join(f"{m} {s:.1%}" for m, s in summary["not_significant"].items()) or "none"
    print(f"\nBest mean rank taken from ours (share of draws): {leaders}")
    print(f"Not significantly better at k=10 than (share of draws): {weak}")


def cache_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of every script that reads benchmark_anytime.py's every-dataset cache."""
    parser.add_argument("--kb", default=None, help="KB directory or kb.sqlite (default: the shipped KB)")
    parser.add_argument("--cache", type=Path, required=True,
                        help="benchmark_anytime.py's cache of every held-out dataset (missing ones are simulated)")
    parser.add_argument("--seeds", type=int, default=5, help="the seeds the cache was computed with")
    parser.add_argument("--min-coverage", type=float, default=0.95)
    parser.add_argument("--tasks", nargs="+", default=["classification", "regression"])
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0, help="seed of the draws")


def check_cache_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuse too few draws, and a cache that does not exist (a mistyped path would start hours of simulation)."""
    if args.draws < 1:
        parser.error(f"--draws must be at least 1, not {args.draws}")
    if not args.cache.is_file():
        parser.error(f"--cache {args.cache} does not exist; run benchmark_anytime.py --cache {args.cache} first")
