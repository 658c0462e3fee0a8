#!/usr/bin/env python
"""Live race: metalearn's estimators against AutoGluon, FLAML and the HistGradientBoosting default.

Every system gets the same 75/25 split, the same wall-clock budget and one
CPU core (each fit runs in a fresh process pinned to one core, with one
BLAS/OpenMP thread), and is told the metric it is judged on: balanced
accuracy in classification, R² in regression. metalearn's knowledge base
leaves out each dataset's whole dataset family (near-copies included). The
datasets are drawn one per dataset family, half per task, from PMLB and the
UCI regression folder, between 300 and 20,000 rows; reserved datasets are
never used.

Results go to a JSON-lines file, one line per (dataset, system); a rerun
with the same ``--out`` skips what is there, so a long race resumes.

Examples
--------
The benchmark needs the ``bench`` extra (AutoGluon requires pandas < 2.4, so
it lives in its own virtualenv: ``make bench-venv``)::

    .venv-bench/bin/python scripts/benchmark_live.py --budget 30 --datasets-per-task 15 \\
        --out benchmarks_out/live-30s.jsonl
    .venv-bench/bin/python scripts/benchmark_live.py --report benchmarks_out/live-30s.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root: benchmarks/ is not installed
from benchmarks.sampling import family_sample
from benchmarks.stats import sign_test

REPO = Path(__file__).resolve().parents[1]
DATA_DIRS = (REPO.parent / "shared/datasets/pmlb", REPO.parent / "shared/datasets/uci_regression")
RESERVED = REPO.parent / "shared/datasets/reserved.csv"
SYSTEMS = ("metalearn", "autogluon", "flaml", "hgb_default")
#: a run is flagged when its fit and prediction took longer than this share of the budget
OVERRUN = 1.2


def choose_datasets(per_task: int, seed: int) -> list[tuple[str, Path]]:
    """One dataset per dataset family, ``per_task`` per task, sizes spread over 300-20,000 rows."""
    from metalearn.data import pmlb_manifest
    from metalearn.kb import ReservedList

    reserved = ReservedList.read(RESERVED)
    frames = []
    for root in DATA_DIRS:
        manifest = pmlb_manifest(root).assign(root=str(root))
        keep = [not reserved.excludes(n) for n in manifest.index]
        frames.append(manifest.loc[keep])
    manifest = pd.concat(frames)
    names = family_sample(manifest, 2 * per_task, random_state=seed)
    return [(n, Path(manifest.loc[n, "root"])) for n in names]


def split(name: str, root: Path, seed: int):
    """The dataset's 75/25 split (stratified in classification): train Dataset, test X, test y."""
    from sklearn.model_selection import train_test_split

    from metalearn.data import load_pmlb

    ds = load_pmlb(name, root)
    strat = ds.y if ds.task == "classification" else None
    tr, te = train_test_split(np.arange(ds.n_rows), test_size=0.25, random_state=seed, stratify=strat)
    train = replace(ds, X=ds.X.iloc[tr].reset_index(drop=True), y=ds.y[tr])
    return train, ds.X.iloc[te].reset_index(drop=True), ds.y[te]


# -- the systems (each runs in its own process) ----------------------------------------------------
def fit_metalearn(train, X_test, budget: float, seed: int, kb_path: str | None):
    from metalearn.estimators import MetaLearnClassifier, MetaLearnRegressor
    from metalearn.kb import KnowledgeBase, dataset_family
    from metalearn.recommend import Recommender

    kb = KnowledgeBase.open(kb_path).exclude(names=[train.name], families=[dataset_family(train.name)])
    view = Recommender(kb)
    view.fitted(train.task)  # offline work: the shipped KB's recommender is fitted when it is published
    start = time.perf_counter()
    cls = MetaLearnClassifier if train.task == "classification" else MetaLearnRegressor
    est = cls(time_budget=budget, n_trials=None, kb=view, random_state=seed, n_jobs=1).fit(train.X, train.y)
    return est.predict(X_test), start


def fit_autogluon(train, X_test, budget: float, seed: int, preset: str):
    from autogluon.tabular import TabularPredictor

    start = time.perf_counter()
    frame = train.X.assign(__target__=train.y)
    metric = "balanced_accuracy" if train.task == "classification" else "r2"
    kind = ("binary" if len(np.unique(train.y)) == 2 else "multiclass") if train.task == "classification" \
        else "regression"
    out = Path(os.environ.get("TMPDIR", "/tmp")) / f"ag-{os.getpid()}"
    predictor = TabularPredictor(label="__target__", eval_metric=metric, problem_type=kind, path=str(out),
                                 verbosity=0)
    predictor.fit(frame, time_limit=budget, presets=preset, num_cpus=1, num_gpus=0)
    return predictor.predict(X_test).to_numpy(), start


def _flaml_balanced_accuracy(X_val, y_val, estimator, labels, X_train, y_train, *args, **kwargs):
    from sklearn.metrics import balanced_accuracy_score

    score = balanced_accuracy_score(y_val, estimator.predict(X_val))
    return 1.0 - score, {"balanced_accuracy": score}


def fit_flaml(train, X_test, budget: float, seed: int):
    from flaml import AutoML

    start = time.perf_counter()
    automl = AutoML()
    metric = _flaml_balanced_accuracy if train.task == "classification" else "r2"
    automl.fit(train.X, train.y, task=train.task, metric=metric, time_budget=budget, n_jobs=1, verbose=0,
               seed=seed)
    return automl.predict(X_test), start


def fit_hgb(train, X_test, budget: float, seed: int):
    from metalearn.space import get_space

    start = time.perf_counter()
    space = get_space(train.task)
    pipe = space.to_pipeline(space.default("hist_gradient_boosting"), train, random_state=seed)
    return pipe.fit(train.X, train.y).predict(X_test), start


def run_one(args: argparse.Namespace) -> dict:
    """Fit one system on one dataset in this process; the result row."""
    from metalearn.evaluation import get_metric

    os.sched_setaffinity(0, {args.core})
    train, X_test, y_test = split(args.dataset, Path(args.root), args.seed)
    system, preset = (args.system.split(":") + [""])[:2]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if system == "metalearn":
            pred, start = fit_metalearn(train, X_test, args.budget, args.seed, args.kb)
        elif system == "autogluon":
            pred, start = fit_autogluon(train, X_test, args.budget, args.seed, preset or "medium_quality")
        elif system == "flaml":
            pred, start = fit_flaml(train, X_test, args.budget, args.seed)
        else:
            pred, start = fit_hgb(train, X_test, args.budget, args.seed)
    seconds = time.perf_counter() - start
    score = get_metric(None, train.task).score(_Fixed(pred), None, y_test, None)
    return {"dataset": args.dataset, "task": train.task, "system": args.system, "budget": args.budget,
            "score": float(score), "seconds": round(seconds, 2), "status": "ok"}


class _Fixed:
    """A fitted-model stand-in that returns given predictions (so the project's scorer can be reused)."""

    def __init__(self, pred) -> None:
        self.pred = np.asarray(pred)

    def predict(self, X):
        return self.pred


# -- the race ---------------------------------------------------------------------------------------
def race(args: argparse.Namespace) -> None:
    """Run every (dataset, system) not yet in ``--out``, each in a pinned one-thread subprocess."""
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    done = {(r["dataset"], r["system"], r["budget"]) for r in read_rows(out)}
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    datasets = choose_datasets(args.datasets_per_task, args.seed)
    for name, root in datasets:
        for system in args.systems:
            if (name, system, args.budget) in done:
                continue
            cmd = [sys.executable, __file__, "--one", "--dataset", name, "--root", str(root), "--system", system,
                   "--budget", str(args.budget), "--seed", str(args.seed), "--core", str(args.core)]
            if args.kb:
                cmd += ["--kb", args.kb]
            row = _run_subprocess(cmd, env, timeout=3 * args.budget + 300)
            row = {"dataset": name, "system": system, "budget": args.budget, **row}
            with open(out, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(row) + "\n")
            print(json.dumps(row), flush=True)
    report(read_rows(out), [s for s in args.systems])


def _run_subprocess(cmd: list[str], env: dict, timeout: float) -> dict:
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"status": "failed", "error": f"killed after {timeout:.0f} s", "process_seconds": timeout}
    elapsed = round(time.perf_counter() - start, 1)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        return {"status": "failed", "error": (proc.stderr or proc.stdout)[-600:], "process_seconds": elapsed}
    return {**json.loads(lines[-1]), "process_seconds": elapsed}


def read_rows(path: Path) -> list[dict]:
    """The result rows of a race file (none if it does not exist)."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def report(rows: list[dict], systems: list[str]) -> None:
    """Per-dataset table, then per task and budget: win/tie/loss, win rate, mean rank, sign test; overruns."""
    frame = pd.DataFrame(rows)
    if "task" in frame:  # a failed fit's row has no task: take it from the dataset's other rows
        frame["task"] = frame.groupby("dataset")["task"].transform("first")
    for (task, budget), part in frame.groupby(["task", "budget"]) if "task" in frame else ():
        scores = part.pivot_table(index="dataset", columns="system", values="score", aggfunc="first")
        seconds = part.pivot_table(index="dataset", columns="system", values="seconds", aggfunc="first")
        ran = part.pivot_table(index="dataset", columns="system", values="status", aggfunc="first")
        present = [s for s in systems if s in scores.columns]
        print(f"\n### {task}, {budget:g} s: test {'balanced accuracy' if task == 'classification' else 'R²'} "
              "(wall seconds)\n")
        print("| dataset | " + " | ".join(present) + " |\n|---|" + "---:|" * len(present))
        for name in scores.index:
            cells = [f"{scores.at[name, s]:.4f} ({seconds.at[name, s]:.0f})" if pd.notna(scores.at[name, s])
                     else ("not run" if pd.isna(ran.at[name, s]) else "failed") for s in present]
            print(f"| {name} | " + " | ".join(cells) + " |")
        complete = ran.reindex(columns=present).notna().all(axis=1)  # datasets every system ran on
        filled = scores.reindex(index=ran.index, columns=present).loc[complete].fillna(-np.inf)  # failed: last
        ranks = filled.rank(axis=1, ascending=False).mean()
        print(f"\n{int(complete.sum())} datasets every system ran on:")
        print("\n| system | mean rank | metalearn win/tie/loss | win rate | sign test p (one-sided) |\n"
              "|---|---:|---|---:|---:|")
        for s in present:
            if s == "metalearn" or "metalearn" not in present:
                print(f"| {s} | {ranks[s]:.2f} | - | - | - |")
                continue
            won = int((filled["metalearn"] > filled[s]).sum())
            lost = int((filled["metalearn"] < filled[s]).sum())
            tied = len(filled) - won - lost
            p = sign_test(won, lost)
            print(f"| {s} | {ranks[s]:.2f} | {won}/{tied}/{lost} | {(won + tied / 2) / len(filled):.0%} | {p:.3g} |")
    _report_problems(frame)


def _report_problems(frame: pd.DataFrame) -> None:
    failed = frame.loc[frame["status"] != "ok"] if len(frame) else frame
    over = frame.loc[(frame["status"] == "ok") & (frame["seconds"] > OVERRUN * frame["budget"])] if len(frame) \
        else frame
    print(f"\nfailed fits: {len(failed)}; fits over {OVERRUN:.0%} of the budget: {len(over)}")
    for _, r in pd.concat([failed, over]).iterrows():
        print(f"- {r['dataset']} / {r['system']} / {r['budget']:g} s: {r['status']}, "
              f"{r.get('seconds', float('nan'))} s {str(r.get('error', ''))[:200]}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--budget", type=float, default=30.0, help="wall-clock seconds per fit (default 30)")
    ap.add_argument("--datasets-per-task", type=int, default=15, help="datasets per task (default 15)")
    ap.add_argument("--systems", nargs="+", default=["metalearn", "autogluon:medium_quality", "flaml", "hgb_default"],
                    help="systems to run; autogluon:PRESET picks the preset (best_quality at long budgets)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--core", type=int, default=0, help="the CPU core every fit is pinned to")
    ap.add_argument("--kb", help="knowledge base of metalearn (default: the shipped one)")
    ap.add_argument("--out", default="benchmarks_out/live.jsonl", help="JSON-lines results (resumed if present)")
    ap.add_argument("--report", help="only print the report of this results file")
    ap.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--dataset", help=argparse.SUPPRESS)
    ap.add_argument("--root", help=argparse.SUPPRESS)
    ap.add_argument("--system", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.one:
        print(json.dumps(run_one(args)), flush=True)
    elif args.report:
        rows = read_rows(Path(args.report))
        report(rows, list(dict.fromkeys(r["system"] for r in rows)))
    else:
        race(args)


if __name__ == "__main__":
    main()
