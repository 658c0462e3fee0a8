#!/usr/bin/env python
"""Datasets of a knowledge base per task and source, split into real and synthetic, with their runs and configs.

It also prints each model family's win share: over the datasets on which
every model family's configurations were (at least 90 % of them) evaluated, the share of datasets
whose best run belongs to that family (ties share the win), and the family's
mean best score relative to the dataset's best (1.0 = always the best).

Example::

    python scripts/kb_counts.py --kb .work/kb2/kb.sqlite
"""

from __future__ import annotations

import argparse

import pandas as pd

from metalearn.kb import KnowledgeBase, is_synthetic


def counts(kb: KnowledgeBase) -> pd.DataFrame:
    """One row per (task, source, real/synthetic): datasets, those with runs, runs, configs evaluated."""
    ds = kb.datasets.assign(kind=[("synthetic" if is_synthetic(n) else "real") for n in kb.datasets["name"]])
    runs = kb.runs.merge(ds[["id", "task", "source", "kind"]], left_on="dataset_id", right_on="id",
                         suffixes=("", "_ds"))
    rows = []
    for (task, source, kind), part in ds.groupby(["task", "source", "kind"]):
        mine = runs.loc[runs["dataset_id"].isin(part["id"])]
        rows.append({"task": task, "source": source, "kind": kind, "datasets": len(part),
                     "with_runs": int(mine["dataset_id"].nunique()), "runs": len(mine),
                     "configs": int(mine["config_id"].nunique())})
    return pd.DataFrame(rows)


def family_wins(kb: KnowledgeBase) -> pd.DataFrame:
    """Win share and mean relative best score per (task, model family), on datasets where every family ran."""
    runs = kb.runs.merge(kb.configs[["id", "family"]], left_on="config_id", right_on="id")
    runs = runs.merge(kb.datasets[["id", "task", "name"]], left_on="dataset_id", right_on="id",
                      suffixes=("", "_ds"))
    tried = runs.groupby(["dataset_id", "family"]).size().unstack("family")
    complete = tried.ge(0.9 * tried.max()).all(axis=1)  # every family's pool (nearly) all evaluated
    runs = runs.loc[(runs["status"] == "ok") & runs["dataset_id"].isin(complete.index[complete])]
    rows = []
    for task, part in runs.groupby("task"):
        best = part.groupby(["dataset_id", "family"])["mean_score"].max().unstack("family")
        best = best.dropna()  # and every family has an ok run
        if best.empty:
            continue
        top = best.max(axis=1)
        winners = best.eq(top, axis=0)
        share = winners.div(winners.sum(axis=1), axis=0).mean()
        # scores are balanced accuracy / R² (higher is better); relative to the best family on each dataset
        low = best.min(axis=1)
        spread = (top - low).where(top > low, 1.0)
        closeness = best.sub(low, axis=0).div(spread, axis=0)
        closeness = closeness.mask(top.eq(low), 1.0, axis=0).mean()  # all families equal: all are best
        for family in best.columns:
            rows.append({"task": task, "family": family, "datasets": len(best),
                         "win_share": round(float(share[family]), 3),
                         "mean_closeness": round(float(closeness[family]), 3)})
    return pd.DataFrame(rows).sort_values(["task", "win_share"], ascending=[True, False])


def _print_markdown(table: pd.DataFrame) -> None:
    print("| " + " | ".join(table.columns) + " |\n|" + "---|" * len(table.columns))
    for row in table.itertuples(index=False):
        print("| " + " | ".join(map(str, row)) + " |")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kb", help="KB directory or kb.sqlite (default: the shipped one)")
    args = ap.parse_args(argv)
    kb = KnowledgeBase.open(args.kb, accept_modified=True) if args.kb else KnowledgeBase.open()
    _print_markdown(counts(kb))
    per_family = kb.configs.groupby(["task", "family"]).size().unstack(0)
    print("\nconfigurations per model family:\n" + per_family.to_string())
    print("\nwin share per model family (datasets on which every family ran; closeness: the family's best "
          "score between the dataset's worst (0) and best (1) family):")
    _print_markdown(family_wins(kb))


if __name__ == "__main__":
    main()
