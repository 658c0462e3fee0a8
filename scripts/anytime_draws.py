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
evaluates a variant of ours (e.g. ``ours_w5_p15``) in its place.

Usage::

    python scripts/benchmark_anytime.py --kb metalearn/kb_data --seeds 5 --cache .work/full.jsonl
    python scripts/anytime_draws.py --kb metalearn/kb_data --seeds 5 --cache .work/full.jsonl --draws 1000 --ceiling
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root: benchmarks/ is not installed
from benchmarks.anytime import (
    METHODS,
    OURS,
    best_of_warm,
    cache_arguments,
    check_cache_arguments,
    draw_summary,
    report_draws,
    scored_rows,
)
from metalearn.kb import KnowledgeBase


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
