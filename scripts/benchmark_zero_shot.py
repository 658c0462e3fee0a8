#!/usr/bin/env python
"""Zero-shot warm start: how good are the first k recommended configs? (issue: recommend)

Simulation (default): leave-one-family-out on the dense KB by table lookup. For
every held-out dataset the whole family of near-copies is removed from the KB
(scaling, portfolio and performance model are refitted without it); each
method ranks the pool; regret@k = 1 - best normalised score among its first k
(0 = best pool config on that dataset, 1 = worst).

Live (``--data-dir DIR``): datasets in the PMLB layout (by default 20, one
per family, half classification and half regression, see
``benchmarks.sampling.family_sample``), each with its family removed from the KB and
the recommender refitted; our top-1 and best-of-top-k recommendation are
evaluated with 5-fold CV against the HistGradientBoosting and RandomForest
defaults.

Timing (``--timing``): ``metalearn.recommend()`` end to end on a generated
10,000 x 100 dataset with the shipped KB (as a user calls it: KB opened and
fitted recommender loaded on every call), repeated, with the time split.

Noise floor (``--noise-floor``): how low regret@1 can go when the best pool
config is itself a 3-fold CV estimate, and what choosing on the dataset's own
folds achieves (see ``run_noise_floor``).

Usage::

    python scripts/benchmark_zero_shot.py --kb metalearn/kb_data
    python scripts/benchmark_zero_shot.py --kb metalearn/kb_data --data-dir DIR --k 3
    python scripts/benchmark_zero_shot.py --kb metalearn/kb_data --timing
    python scripts/benchmark_zero_shot.py --kb metalearn/kb_data --noise-floor
    # recompute auto alone (after a change to it), every other method read from an earlier run:
    python scripts/benchmark_zero_shot.py --kb metalearn/kb_data --methods ours:auto --reuse earlier.json \
        --out other.json
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from metalearn.kb import KnowledgeBase
from metalearn.metafeatures import AUTOSKLEARN_FEATURES, FLAML_FEATURES
from metalearn.recommend import (
    AutoStrategy,
    KNNStrategy,
    PerformanceModel,
    PortfolioStrategy,
    TaskContext,
    normalise_scores,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root: benchmarks/ is not installed
from benchmarks.sampling import family_sample
from benchmarks.simulate import by_family, fold_scores, simulate, strategy_method, summarise
from metalearn.space import get_space

KS = (1, 3, 5, 10)


def best_default_method(train: TaskContext):
    """Each family's default config, best mean normalised score on the KB first."""
    space = get_space(train.task)
    default_ids = {space.config_id(c) for c in space.defaults()}
    idx = [i for i, c in enumerate(train.configs) if space.config_id(c) in default_ids]
    order = np.array(idx)[np.argsort(-train.norm[:, idx].mean(axis=0))]
    return lambda row, query, k: order[:k]


def random_method(train: TaskContext):
    """A random pool config (seeded per held-out dataset)."""
    n = train.norm.shape[1]
    return lambda row, query, k: np.random.default_rng(1000 + row).permutation(n)[:k]


def random_neighbors_method(train: TaskContext):
    """Ablation: kNN round-robin, but over 10 random KB datasets instead of the nearest."""

    def rank(row, query, k):
        rng = np.random.default_rng(2000 + row)
        nbrs = rng.choice(train.n_datasets, size=min(10, train.n_datasets), replace=False)
        orders = [np.argsort(-train.norm[d], kind="stable") for d in nbrs]
        chosen: list[int] = []
        for r in range(train.norm.shape[1]):
            for o in orders:
                if int(o[r]) not in chosen:
                    chosen.append(int(o[r]))
            if len(chosen) >= k:
                break
        return np.array(chosen[:k])

    return rank


def methods() -> dict:
    """Ours (auto and each strategy), anchors and ablations."""
    return {
        "ours:auto": strategy_method(AutoStrategy),
        "ours:knn": strategy_method(KNNStrategy),
        "ours:portfolio-knn": strategy_method(lambda: PortfolioStrategy(n_neighbors=20)),
        "ours:model": strategy_method(PerformanceModel),
        "best-fixed-default": best_default_method,
        "random-config": random_method,
        "flaml-1nn-4mf": strategy_method(lambda: KNNStrategy(n_neighbors=1), FLAML_FEATURES),
        "autosklearn-knn-37mf": strategy_method(lambda: KNNStrategy(n_neighbors=25), AUTOSKLEARN_FEATURES),
        "greedy-global-portfolio": strategy_method(PortfolioStrategy),
        "ablation:auto-4mf": strategy_method(AutoStrategy, FLAML_FEATURES),
        "ablation:random-neighbours": random_neighbors_method,
    }


def markdown(task: str, n: int, summary: dict, units: str = "held-out datasets") -> str:
    lines = [f"\n### {task} ({n} {units}, leave-one-family-out)\n"]
    for k, rows in summary.items():
        lines.append(f"\n**k = {k}**\n")
        lines.append("| method | mean regret | median regret | mean rank | W/T/L of ours:auto vs it | p (Holm) |")
        lines.append("|---|---:|---:|---:|---|---:|")
        for m, r in sorted(rows.items(), key=lambda kv: kv[1]["mean_rank"]):
            wtl = "/".join(map(str, r["vs_reference"])) if "vs_reference" in r else "-"
            p = f"{r['p_holm']:.2g}" if "p_holm" in r else "-"
            lines.append(
                f"| {m} | {r['mean_regret']:.4f} | {r['median_regret']:.4f} | {r['mean_rank']:.2f} | {wtl} | {p} |"
            )
    return "\n".join(lines)


def compact(task: str, n: int, summary: dict, units: str = "held-out datasets") -> str:
    """One table per task: mean regret (mean rank) at every k, and the p-value of auto vs each method."""
    ks = list(summary)
    methods = sorted(summary[ks[0]], key=lambda m: summary[ks[0]][m]["mean_rank"])
    head = "| method | " + " | ".join(f"k={k}" for k in ks) + " | p vs auto at k=" + "/".join(map(str, ks)) + " |"
    lines = [f"\n{task}, {n} {units}: mean normalised regret (mean rank)\n", head,
             "|---|" + "---:|" * len(ks) + "---|"]
    for m in methods:
        cells = [f"{summary[k][m]['mean_regret']:.3f} ({summary[k][m]['mean_rank']:.2f})" for k in ks]
        ps = "/".join(f"{summary[k][m]['p_holm']:.2g}" if "p_holm" in summary[k][m] else "-" for k in ks)
        lines.append(f"| {m} | " + " | ".join(cells) + f" | {ps} |")
    return "\n".join(lines)


def reused_regret(path: Path | None, task: str, ctx: TaskContext, names: list[str]) -> dict:
    """Per-dataset regret of ``names`` from an earlier run's ``--out`` JSON (same task, datasets and ks)."""
    if path is None or not names:
        return {}
    earlier = json.loads(path.read_text()).get(task)
    if earlier is None or earlier["datasets"] != list(ctx.dataset_names):
        raise SystemExit(f"{path}: no {task} results on the same {ctx.n_datasets} datasets to reuse")
    missing = [m for m in names if m not in earlier["regret"]]
    if missing:
        raise SystemExit(f"{path}: no earlier {task} results for {missing}")
    return {m: np.array(earlier["regret"][m]) for m in names}


def run_simulation(kb: KnowledgeBase, tasks: list[str], min_coverage: float, out: Path | None,
                   only: list[str] | None = None, reuse: Path | None = None, per_family: bool = False) -> None:
    """Simulate every method (or only ``only``, the others' regrets read from ``reuse``) and report.

    With ``per_family`` ranks and tests run over families, each the mean of its held-out datasets.
    """
    report = {}
    for task in tasks:
        t0 = time.perf_counter()
        ctx = TaskContext.from_kb(kb, task, min_coverage=min_coverage)
        every = methods()
        todo = {m: f for m, f in every.items() if only is None or m in only}
        earlier = reused_regret(reuse, task, ctx, [m for m in every if m not in todo])
        fresh = simulate(ctx, todo, KS, progress=True)
        result = replace(fresh, regret={m: fresh.regret[m] if m in todo else earlier[m] for m in every})
        if per_family:
            result = by_family(result, ctx.families)
        summary = summarise(result, "ours:auto")
        n, units = len(result.dataset_names), "families" if per_family else "held-out datasets"
        print(markdown(task, n, summary, units))
        print(compact(task, n, summary, units))
        print(
            f"\n({task}: {ctx.n_datasets} datasets in {len(set(ctx.families))} families, "
            f"{ctx.norm.shape[1]} pool configs, {time.perf_counter() - t0:.0f} s)"
        )
        report[task] = {
            "n_datasets": ctx.n_datasets,
            "summary": {str(k): v for k, v in summary.items()},
            "regret": {m: r.tolist() for m, r in result.regret.items()},
            "datasets": list(result.dataset_names),
            "per_family": per_family,
        }
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=1))


def run_live(kb: KnowledgeBase, data_dir: str, k: int, max_datasets: int | None,
             names: list[str] | None = None) -> None:
    """Our top-k vs the HGB and RF defaults (5-fold CV) on datasets whose family is kept out of the KB.

    Each dataset's family of near-copies (and the dataset itself) is excluded
    from the KB and the recommender refitted before recommending, so the
    datasets act as unseen ones even when they come from the same collection.
    """
    import metalearn
    from metalearn.data import pmlb_manifest
    from metalearn.kb import dataset_family
    from metalearn.recommend import Recommender

    names = names or family_sample(pmlb_manifest(data_dir), max_datasets or 20)
    wins = {"top1": {"hist_gradient_boosting": 0, "random_forest": 0},
            "topk": {"hist_gradient_boosting": 0, "random_forest": 0}}
    print(f"| dataset | task | excluded family | ours top-1 | ours best of top-{k} | HGB default | RF default |")
    print("|---|---|---|---:|---:|---:|---:|")
    for name in names:
        ds = metalearn.load_pmlb(name, root=data_dir)
        family = dataset_family(name)
        view = Recommender(kb.exclude(names=[name], families=[family]))
        rec = metalearn.recommend(ds, k=k, kb=view)
        scores = [metalearn.evaluate(c, ds, cv=5).mean_score for c in rec.configs]
        ours = {"top1": scores[0], "topk": max(scores)}
        space = get_space(ds.task)
        base = {f: metalearn.evaluate(space.default(f), ds, cv=5).mean_score for f in wins["top1"]}
        for kind, score in ours.items():
            for f, b in base.items():
                wins[kind][f] += float(score > b) + 0.5 * float(score == b)
        print(f"| {name} | {ds.task} | {family} | {ours['top1']:.4f} | {ours['topk']:.4f} "
              f"| {base['hist_gradient_boosting']:.4f} | {base['random_forest']:.4f} |", flush=True)
    n = max(len(names), 1)
    for kind, label in (("top1", "top-1"), ("topk", f"best of top-{k}")):
        print(f"win rate of ours ({label}) vs HGB default: {wins[kind]['hist_gradient_boosting'] / n:.0%}, "
              f"vs RF default: {wins[kind]['random_forest'] / n:.0%} over {len(names)} datasets")


def _own_data_regrets(folds: np.ndarray, yardstick: np.ndarray) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """Regret@1 per dataset of picking the best config on some of its own CV folds, for every fold subset.

    Each pick is scored twice: on the remaining folds (normalised there), and
    on ``yardstick`` (the benchmark's normalised 3-fold means, which contain
    the folds the pick saw). Returns ``(folds picked on, held-out regret,
    yardstick regret)`` per subset.
    """
    n_folds = folds.shape[2]
    ok = ~np.isnan(folds).any(axis=2)
    out = []
    for size in range(1, n_folds):
        for chosen in itertools.combinations(range(n_folds), size):
            pick = np.nanargmax(np.where(ok, folds[:, :, list(chosen)].mean(axis=2), -np.inf), axis=1)
            rest = [f for f in range(n_folds) if f not in chosen]
            held = normalise_scores(np.where(ok, folds[:, :, rest].mean(axis=2), np.nan))
            rows = np.arange(len(pick))
            out.append((size, 1 - held[rows, pick], 1 - yardstick[rows, pick]))
    return out


def run_noise_floor(kb: KnowledgeBase, tasks: list[str], min_coverage: float, seed: int = 0) -> None:
    """How low regret@1 can go when the 'best pool config' is itself measured with CV noise.

    Three estimates per task: (a) *own-data selection*: pick the config with
    the best score on some CV folds of the held-out dataset itself and score it
    on the remaining folds (every split), which needs the dataset's own runs;
    (b) a *perfect predictor of expected scores*: per-fold noise (fold effects
    removed) is redrawn around each config's mean and the config with the best
    mean is scored against the redrawn 3-fold means (200 draws); (c) *own data
    on the benchmark's yardstick*: the pick of (a) scored like every method of
    the benchmark, on the normalised 3-fold means, although those contain the
    folds it was picked on (so (c) is optimistic for it).
    """
    for task in tasks:
        ctx = TaskContext.from_kb(kb, task, min_coverage=min_coverage)
        folds = fold_scores(kb, ctx)
        n_folds = folds.shape[2]
        ok = ~np.isnan(folds).any(axis=2)
        own = _own_data_regrets(folds, ctx.norm)
        own_means = [float(np.nanmean(r)) for _, r, _ in own]
        mean = np.where(ok, folds.mean(axis=2), np.nan)
        effect = np.nanmedian(folds - mean[:, :, None], axis=1)
        resid = folds - mean[:, :, None] - effect[:, None, :]
        sigma = np.sqrt(np.nansum(resid ** 2, axis=2) / max(n_folds - 1, 1))
        best = np.nanargmax(mean, axis=1)
        rng = np.random.default_rng(seed)
        draws = [normalise_scores(mean + rng.standard_normal(mean.shape) * sigma / np.sqrt(n_folds))
                 for _ in range(200)]
        perfect = np.mean([1 - d[np.arange(len(best)), best] for d in draws], axis=0)
        print(f"{task} ({ctx.n_datasets} datasets, {n_folds}-fold runs): regret@1 of (a) own-data selection "
              f"{min(own_means):.3f}-{max(own_means):.3f} over {len(own_means)} fold splits; "
              f"(b) perfect predictor of expected scores {np.nanmean(perfect):.3f}")
        leaky: dict[int, list[float]] = {}
        for size, _, regret in own:
            leaky.setdefault(size, []).append(float(np.mean(regret)))
        print("  (c) own-data selection scored on the benchmark's 3-fold means (which include the folds it saw): "
              + "; ".join(f"picked on {size} of {n_folds} folds {min(v):.3f}-{max(v):.3f}"
                          for size, v in sorted(leaky.items())))


def run_timing(kb_path: str, repeats: int = 5) -> None:
    """Wall time of recommend() on 10k x 100 (classification and regression), median over ``repeats``."""
    from sklearn.datasets import make_classification, make_regression

    import metalearn

    data = {
        "classification": make_classification(n_samples=10_000, n_features=100, n_informative=20, random_state=0),
        "regression": make_regression(n_samples=10_000, n_features=100, n_informative=20, random_state=0),
    }
    print("| task | total (s) | load | meta-features | KB open + recommender | rank |")
    print("|---|---:|---:|---:|---:|---:|")
    for task, (X, y) in data.items():
        runs = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            rec = metalearn.recommend((X, y), task=task, k=10, kb=kb_path)
            total = time.perf_counter() - t0
            t = rec.timings
            runs.append((total, t["load"], t["metafeatures"], t["kb_open"] + t["kb_fit"], t["rank"]))
        med = np.median(np.array(runs), axis=0)
        print(f"| {task} (median of {repeats}) | " + " | ".join(f"{v:.3f}" for v in med) + " |")
        print(f"| {task} (first call) | " + " | ".join(f"{v:.3f}" for v in runs[0]) + " |")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kb", default="metalearn/kb_data", help="KB directory or kb.sqlite")
    ap.add_argument("--task", choices=["classification", "regression"], action="append")
    ap.add_argument("--min-coverage", type=float, default=0.9)
    ap.add_argument("--out", type=Path, default=Path("benchmarks_out/zero_shot.json"))
    ap.add_argument("--data-dir", help="live mode: PMLB-layout directory (each dataset's family kept out of the KB)")
    ap.add_argument("--k", type=int, default=3, help="live mode: recommendations evaluated")
    ap.add_argument("--max-datasets", type=int, help="live mode: datasets sampled (default 20)")
    ap.add_argument("--datasets", nargs="+", help="live mode: these dataset names instead of the sample")
    ap.add_argument("--methods", nargs="+", help="simulation: compute only these methods (others from --reuse)")
    ap.add_argument("--reuse", type=Path, help="simulation: an earlier run's --out JSON for the methods not computed")
    ap.add_argument("--by-family", action="store_true",
                    help="simulation: rank and test per family (the mean of its held-out datasets)")
    ap.add_argument("--timing", action="store_true", help="time recommend() on a 10k x 100 dataset instead")
    ap.add_argument("--noise-floor", action="store_true",
                    help="how low regret@1 can go given the CV noise of the KB's runs, instead")
    args = ap.parse_args(argv)
    if args.timing:
        run_timing(args.kb)
        return 0
    kb = KnowledgeBase.open(args.kb)
    if args.noise_floor:
        run_noise_floor(kb, args.task or ["classification", "regression"], args.min_coverage)
    elif args.data_dir:
        run_live(kb, args.data_dir, args.k, args.max_datasets, args.datasets)
    else:
        unknown = sorted(set(args.methods or ()) - set(methods()))
        if unknown:
            ap.error(f"unknown methods {unknown}; choose from {list(methods())}")
        if args.methods and args.reuse is None and set(args.methods) != set(methods()):
            ap.error("--methods without every method needs --reuse for the others")
        run_simulation(kb, args.task or ["classification", "regression"], args.min_coverage, args.out,
                       args.methods, args.reuse, args.by_family)
    return 0


if __name__ == "__main__":
    sys.exit(main())
