"""One fit of the live anytime benchmark, with its trial history printed.

Same setting as ``benchmark_anytime.py --data-dir``: the dataset and its
family are excluded from the KB, 75/25 split (seed 0, stratified for
classification), ``MetaLearnClassifier/Regressor(time_budget=BUDGET,
n_trials=None, random_state=0)``. Prints each trial's origin, family, CV
score, status and duration, then the test score. Used to see why a live
result came out as it did (which configs ran, which ones timed out).

Usage::

    python scripts/live_fit_history.py Hill_Valley_with_noise --budget 60
    python scripts/live_fit_history.py letter --data-dir ../shared/datasets/pmlb
"""

from __future__ import annotations

import argparse
import time
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split

from metalearn.data import load_pmlb
from metalearn.estimators import MetaLearnClassifier, MetaLearnRegressor
from metalearn.kb import KnowledgeBase, dataset_family
from metalearn.recommend import Recommender


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", help="PMLB dataset name")
    parser.add_argument("--data-dir", type=Path, default=Path("../shared/datasets/pmlb"))
    parser.add_argument("--kb", default="metalearn/kb_data")
    parser.add_argument("--budget", type=float, default=60.0)
    args = parser.parse_args(argv)

    ds = load_pmlb(args.dataset, args.data_dir)
    view = Recommender(KnowledgeBase.open(args.kb).exclude(names=[args.dataset],
                                                           families=[dataset_family(args.dataset)]))
    view.fitted(ds.task)  # offline work, as in the benchmark
    strat = ds.y if ds.task == "classification" else None
    train_idx, test_idx = train_test_split(np.arange(ds.n_rows), test_size=0.25, random_state=0, stratify=strat)
    train = replace(ds, X=ds.X.iloc[train_idx].reset_index(drop=True), y=ds.y[train_idx])
    cls = MetaLearnClassifier if ds.task == "classification" else MetaLearnRegressor
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = cls(time_budget=args.budget, n_trials=None, kb=view, random_state=0).fit(train.X, train.y)
    print(f"fit: {time.perf_counter() - t0:.1f} s")
    for _, row in est.history_.iterrows():
        print(f"{row['origin']:10s} {row['config']['family']:24s} {row['score']:.4f} {row['status']:8s} "
              f"{row['duration']:.1f} s")
    X_test = ds.X.iloc[test_idx].reset_index(drop=True)
    print(f"test score: {est.score(X_test, ds.y[test_idx]):.4f}")


if __name__ == "__main__":
    main()
