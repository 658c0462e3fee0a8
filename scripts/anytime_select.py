"""Choose a warm-start strategy per dataset from other families' anytime curves (a policy selector).

auto-sklearn 2 picks its search policy per dataset with a selector meta-learned
on how each policy fared on the KB datasets. This script evaluates the same
idea over the product's own warm-start strategies (``ours``, ``ours_no_prior``,
``knn_bo``, ``portfolio_bo``) on the simulated anytime benchmark, from the
cached curves of every held-out dataset (nothing is simulated):

* each (dataset, strategy) is scored by its regret curve's mean over k;
* for a held-out dataset of family f, the 10 nearest datasets of the other
  families (meta-feature distance, :class:`~metalearn.recommend.KNNStrategy`'s
  scaling fitted without f) predict each strategy's score by their
  inverse-distance weighted mean; the lowest prediction is chosen (ties: the
  order above);
* the dataset's curve is then the chosen strategy's, and the #6 targets are
  counted over one-per-family draws as in ``anytime_draws.py``; so are they
  for a reference that is not a method, each dataset's best strategy chosen
  in hindsight (what a perfect selector would reach).

The neighbours' curves were simulated with knowledge bases that contained f,
so the selection is not fully independent of the held-out family (a
second-order leak, to be kept in mind when reading the figures).

Usage::

    python scripts/anytime_select.py --kb metalearn/kb_data --seeds 5 --cache .work/full.jsonl --draws 1000
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root: benchmarks/ is not installed
from benchmarks.anytime import (
    METHODS,
    cache_arguments,
    check_cache_arguments,
    draw_summary,
    report_draws,
    scored_rows,
)
from benchmarks.simulate import family_means
from metalearn.kb import KnowledgeBase
from metalearn.recommend import KNNStrategy, TaskContext, inverse_distance_weights, nearest

#: the strategies the selector chooses from, in order of preference on ties
CANDIDATES = ("ours", "ours_no_prior", "knn_bo", "portfolio_bo")


def strategy_scores(regret: dict, candidates: tuple[str, ...] = CANDIDATES) -> np.ndarray:
    """Datasets x candidates: each strategy's regret curve averaged over k."""
    return np.column_stack([np.nanmean(regret[m], axis=1) for m in candidates])


def select_strategies(ctx: TaskContext, regret: dict, candidates: tuple[str, ...] = CANDIDATES,
                      n_neighbors: int = 10) -> np.ndarray:
    """Index into ``candidates`` of the strategy chosen for each dataset of ``ctx``.

    ``regret`` maps each candidate to its (datasets x k) regret curves in
    ``ctx``'s dataset order. A dataset's choice reads only other families' rows.
    """
    families = np.asarray(ctx.families)
    score = strategy_scores(regret, candidates)
    chosen = np.zeros(ctx.n_datasets, dtype=int)
    for fam in sorted(set(families)):
        others = np.flatnonzero(families != fam)
        known = others[np.all(np.isfinite(score[others]), axis=1)]
        if len(known) == 0:
            continue
        train = ctx.subset(np.isin(np.arange(ctx.n_datasets), known))
        knn = KNNStrategy(n_neighbors=n_neighbors).fit(train)
        for row in np.flatnonzero(families == fam):
            nbrs, dist = nearest(train, knn.scale(ctx.mf_raw.iloc[row].to_dict()), n_neighbors)
            predicted = inverse_distance_weights(dist) @ score[known[nbrs]]
            chosen[row] = int(np.argmin(np.round(predicted, 12)))  # argmin keeps the first of equal values
    return chosen


def hindsight_choice(regret: dict, candidates: tuple[str, ...] = CANDIDATES) -> np.ndarray:
    """Index of the candidate with the lowest mean regret over k on each dataset, known after the fact.

    A reference, not a method: the choice a perfect selector would make (ties: the first candidate).
    """
    return np.argmin(np.round(strategy_scores(regret, candidates), 12), axis=1)


def selected_regret(regret: dict, chosen: np.ndarray, candidates: tuple[str, ...] = CANDIDATES) -> np.ndarray:
    """Each dataset's curve taken from its chosen strategy."""
    stacked = np.stack([regret[m] for m in candidates])  # candidates x datasets x k
    return stacked[chosen, np.arange(len(chosen))]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    cache_arguments(parser)
    args = parser.parse_args(argv)
    check_cache_arguments(parser, args)
    logging.basicConfig(level=logging.WARNING)
    kb = KnowledgeBase.open(args.kb)
    for task in args.tasks:
        regret, families = scored_rows(kb, task, args.seeds, args.min_coverage, METHODS, args.cache)
        ctx = TaskContext.from_kb(kb, task, min_coverage=args.min_coverage)
        chosen = select_strategies(ctx, regret)
        counts = Counter(CANDIDATES[i] for i in chosen)
        print(f"\nChosen per dataset: {', '.join(f'{m} {counts[m]}' for m in CANDIDATES)}")
        both = {"ours_select": selected_regret(regret, chosen), "ours": regret["ours"]}
        for name, means in family_means(both, families).items():
            print(f"{name}: per-family mean regret at k = {' / '.join(f'{v:.4f}' for v in means.mean(axis=0))}; "
                  f"mean over k {means.mean():.4f}")
        best = hindsight_choice(regret)
        print(f"The choice is the hindsight best on {np.mean(chosen == best):.1%} of datasets "
              f"(always choosing ours: {np.mean(best == 0):.1%})")
        for label, picks in ((" (ours_select as ours)", chosen), (" (hindsight best strategy as ours)", best)):
            swapped = {**regret, "ours": selected_regret(regret, picks)}
            report_draws(task, draw_summary(swapped, families, args.draws, args.seed), label)


if __name__ == "__main__":
    sys.exit(main())
