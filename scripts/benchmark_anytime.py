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
    # (the ablations of ours' defaults: commands in docs/optimizer.md and docs/benchmarks/anytime.md)
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
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root: benchmarks/ is not installed
from benchmarks.anytime import EXTRA_METHODS, METHODS, report_simulated, simulate_task
from benchmarks.sampling import family_sample
from benchmarks.stats import sign_test
from benchmarks.tpe import suggest_config
from metalearn.kb import KnowledgeBase
from metalearn.space import get_space


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
    from metalearn.kb import dataset_family
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
    ranks = frame[methods].rank(axis=1, ascending=False).mean()
    print("\n| method | mean rank | metalearn win rate vs it | sign test p (one-sided) |\n|---|---|---|---|")
    for m in methods:
        if m == "metalearn":
            print(f"| {m} | {ranks[m]:.2f} | - | - |")
            continue
        won, lost = int((frame["metalearn"] > frame[m]).sum()), int((frame["metalearn"] < frame[m]).sum())
        wins = (won + 0.5 * (len(frame) - won - lost)) / len(frame)
        p = sign_test(won, lost)
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
