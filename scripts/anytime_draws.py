"""How much #6's simulated targets depend on which dataset represents each family.

The headline anytime table (``benchmark_anytime.py --max-per-family 1``)
scores one held-out dataset per family, drawn once with seed 0. A dataset's
curve does not depend on which others are scored, so the curves of *every*
held-out dataset (``benchmark_anytime.py --cache FILE`` without
``--max-per-family``) hold every possible draw. This script reads them,
draws one dataset per family ``--draws`` times, and reports how often each
target holds (ours best mean rank at every k, regret@10 at most half of cold
BO's, Holm-significant against every baseline at k=10) and which method or
test most often breaks it. Families with a single dataset are the same in
every draw. Nothing is simulated when the cache is complete. With
``--ceiling`` it also reports a reference: ours replaced, dataset by dataset,
by the best of ours and the warm-started baselines. ``--as-ours VARIANT``
evaluates a variant of ours (e.g. ``ours_noise``) in its place.

Usage::

    python scripts/benchmark_anytime.py --kb metalearn/kb_data --seeds 5 --cache .work/full.jsonl
    python scripts/anytime_draws.py --kb metalearn/kb_data --seeds 5 --cache .work/full.jsonl --draws 1000 --ceiling
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections import Counter
from pathlib import Path

import numpy as np
from benchmark_anytime import KS, METHODS, OURS, anytime_targets, scored_rows

from metalearn.kb._kb import KnowledgeBase

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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    cache_arguments(parser)
    parser.add_argument("--as-ours", default="ours", choices=tuple(OURS),
                        help="evaluate this variant of ours in ours' place, against the same baselines")
    parser.add_argument("--ceiling", action="store_true",
                        help="also report the draws with ours replaced by its per-dataset minimum with the "
                             "warm-started baselines (a reference: are the targets within reach?)")
    args = parser.parse_args(argv)
    check_cache_arguments(parser, args)
    logging.basicConfig(level=logging.WARNING)
    kb = KnowledgeBase.open(args.kb)
    for task in args.tasks:
        methods = (args.as_ours, *METHODS[1:]) if args.as_ours != "ours" else METHODS
        regret, families = scored_rows(kb, task, args.seeds, args.min_coverage, methods, args.cache)
        regret = {"ours": regret.pop(args.as_ours), **regret}
        report_draws(task, draw_summary(regret, families, args.draws, args.seed))
        if args.ceiling:
            report_draws(task, draw_summary(best_of_warm(regret), families, args.draws, args.seed),
                         " (ours never worse than a warm-started baseline)")


if __name__ == "__main__":
    sys.exit(main())
