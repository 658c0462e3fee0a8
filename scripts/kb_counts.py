#!/usr/bin/env python
"""Datasets of a knowledge base per task and source, split into real and synthetic, with their runs and configs.

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


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kb", help="KB directory or kb.sqlite (default: the shipped one)")
    args = ap.parse_args(argv)
    kb = KnowledgeBase.open(args.kb, accept_modified=True) if args.kb else KnowledgeBase.open()
    table = counts(kb)
    print("| " + " | ".join(table.columns) + " |\n|" + "---|" * len(table.columns))
    for row in table.itertuples(index=False):
        print("| " + " | ".join(map(str, row)) + " |")
    per_family = kb.configs.groupby(["task", "family"]).size().unstack(0)
    print("\nconfigurations per model family:\n" + per_family.to_string())


if __name__ == "__main__":
    main()
