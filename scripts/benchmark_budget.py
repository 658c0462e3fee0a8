#!/usr/bin/env python
"""Does ``fit`` hold its time budget, and return a model, from 100 to 100,000 rows?

Each (table, budget) pair runs ``MetaLearnClassifier/Regressor(time_budget=B)``
in a fresh process pinned to one core (``n_jobs=1``), on a 75/25 split, and
reports the wall time of the whole ``fit`` (loading excluded), its ratio to
the budget, whether it ended within 1.1 x budget + 2 s, the test score, the
trials that finished and whether the fallback model was used. The tables
span 100 to 100,000 rows: synthetic ones at the small end and a 28,056-row,
18-class table shaped like krkopt, and real ones from PMLB / UCI.

Each row also says where the fit's time went: before the search (checks,
column plan), the warm start (meta-features, KB lookup), the search, and
after it (refit, ensemble), plus the 1-minute load average when it started.
The test score is ``model.score``: accuracy for classification, R² for regression.

Example::

    taskset -c 1 python scripts/benchmark_budget.py --budgets 10 30 --out benchmarks_out/budget.jsonl
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "datasets"
#: name -> (source, rows): "make:KIND:ROWS:FEATURES:CLASSES" tables are synthetic, the rest are PMLB/UCI names
TABLES = {
    "synthetic_cls_100": "make:cls:100:10:2",
    "synthetic_reg_1000": "make:reg:1000:20:0",
    "magic": "pmlb:magic",
    "synthetic_cls_28056x6_18class": "make:cls:28056:6:18",
    "uci_keggdirected": "uci:uci_keggdirected",
    "sleep_100k": "pmlb:sleep:100000",
}


def load(source: str):
    """The table as ``(X, y, task)``."""
    from sklearn.datasets import make_classification, make_regression

    from metalearn.data import load_pmlb

    kind, *rest = source.split(":")
    if kind == "make":
        task, rows, feats, classes = rest[0], int(rest[1]), int(rest[2]), int(rest[3])
        if task == "cls":
            X, y = make_classification(rows, feats, n_informative=min(feats, 5), n_redundant=0,
                                       n_classes=classes, n_clusters_per_class=1, random_state=0)
            return pd.DataFrame(X), y, "classification"
        X, y = make_regression(rows, feats, noise=10.0, random_state=0)
        return pd.DataFrame(X), y, "regression"
    root = SHARED / ("pmlb" if kind == "pmlb" else "uci_regression")
    ds = load_pmlb(rest[0], root)
    if len(rest) > 1:
        ds = ds.subsample(int(rest[1]), 0)
    return ds.X, ds.y, ds.task


class _Phases:
    """Wall-clock marks inside ``fit``: when the search and its warm start began and ended."""

    def __init__(self) -> None:
        self.marks: dict[str, float] = {}

    def wrap(self, module, name: str, label: str) -> None:
        real = getattr(module, name)

        def timed(*args, **kwargs):
            self.marks[f"{label}_start"] = time.perf_counter()
            try:
                return real(*args, **kwargs)
            finally:
                self.marks[f"{label}_end"] = time.perf_counter()

        setattr(module, name, timed)

    def seconds(self, start: float, end: float) -> dict:
        """Seconds per phase: before the search (checks, column plan), warm start, search, refit + ensemble."""
        m = self.marks
        if "search_start" not in m:
            return {}
        warm = m.get("warm_end", m["search_start"]) - m.get("warm_start", m["search_start"])
        return {"before_s": round(m["search_start"] - start, 2), "warm_start_s": round(warm, 2),
                "search_s": round(m["search_end"] - m["search_start"] - warm, 2),
                "after_s": round(end - m["search_end"], 2)}


def run_one(name: str, budget: float, seed: int, core: int | None) -> dict:
    """Fit one table under one budget in this process (pinned to ``core`` when given)."""
    from sklearn.model_selection import train_test_split

    from metalearn.estimators import MetaLearnClassifier, MetaLearnRegressor

    if core is not None:
        os.sched_setaffinity(0, {core})
    optimize_pkg = importlib.import_module("metalearn.optimize")  # metalearn.optimize is also a function's name
    optimize_module = importlib.import_module("metalearn.optimize._optimize")
    phases = _Phases()
    phases.wrap(optimize_pkg, "optimize", "search")  # fit() imports it from the package when it runs
    phases.wrap(optimize_module, "resolve_warm_start", "warm")
    load_start = time.perf_counter()
    X, y, task = load(TABLES[name])
    load_s = time.perf_counter() - load_start
    strat = y if task == "classification" else None
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, random_state=seed, stratify=strat)
    cls = MetaLearnClassifier if task == "classification" else MetaLearnRegressor
    loadavg = os.getloadavg()[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        model = cls(time_budget=budget, random_state=seed, n_jobs=1).fit(X_tr, y_tr)
        end = time.perf_counter()
        wall = end - start
        score = model.score(X_te, y_te)
    hist = model.history_
    return {"table": name, "rows": int(len(X)), "features": int(X.shape[1]), "task": task, "budget": budget,
            "wall": round(wall, 2), "ratio": round(wall / budget, 3), "within": bool(wall <= 1.1 * budget + 2),
            "model": bool(hasattr(model, "best_pipeline_")), "score": float(score),
            "trials_ok": int((hist["status"] == "ok").sum()),
            "screened": int((hist["status"] == "screened").sum()) if "status" in hist else 0,
            "trials": int(len(hist)), "fallback": bool((hist["origin"] == "fallback").any()),
            "ensemble": getattr(model, "ensemble_", None) is not None, "load_data_s": round(load_s, 2),
            **phases.seconds(start, end), "loadavg_1min": round(loadavg, 2)}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--budgets", nargs="+", type=float, default=[10.0, 30.0])
    ap.add_argument("--tables", nargs="+", default=list(TABLES), choices=list(TABLES))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--core", type=int, default=None,
                    help="pin each fit to this core (default: keep the affinity it was started with, e.g. taskset)")
    ap.add_argument("--out", default="benchmarks_out/budget.jsonl")
    ap.add_argument("--one", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.one:
        print(json.dumps(run_one(args.one[0], float(args.one[1]), args.seed, args.core)), flush=True)
        return
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    done = {(r["table"], r["budget"]) for r in _rows(out)}
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    for name in args.tables:
        for budget in args.budgets:
            if (name, budget) in done:
                continue
            cmd = [sys.executable, __file__, "--one", name, str(budget), "--seed", str(args.seed)]
            cmd += [] if args.core is None else ["--core", str(args.core)]
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
            lines = [x for x in proc.stdout.splitlines() if x.startswith("{")]
            row = json.loads(lines[-1]) if proc.returncode == 0 and lines else \
                {"table": name, "budget": budget, "error": proc.stderr[-500:]}
            with open(out, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(row) + "\n")
            print(json.dumps(row), flush=True)
    report(_rows(out))


def _rows(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()] if path.exists() else []


def report(rows: list[dict]) -> None:
    """The table of the issue: wall time / budget and score per table size and budget, and where the time went."""
    print("\n| table | rows | budget s | fit wall s | wall / budget | within 1.1x+2 s | model | test score "
          "| trials ok / screened / rows | fallback | ensemble | before / warm start / search / after s | load |\n"
          "|---|---:|---:|---:|---:|---|---|---:|---|---|---|---|---:|")
    for r in rows:
        if "error" in r:
            print(f"| {r['table']} | | {r['budget']:g} | failed: {r['error'][-120:]!r} | | | | | | | | | |")
            continue
        phases = " / ".join(f"{r.get(k, float('nan')):.1f}" for k in ("before_s", "warm_start_s", "search_s",
                                                                         "after_s"))
        print(f"| {r['table']} | {r['rows']:,} | {r['budget']:g} | {r['wall']:.1f} | {r['ratio']:.2f} | "
              f"{'yes' if r['within'] else 'NO'} | {'yes' if r.get('model', True) else 'NO'} | {r['score']:.4f} | "
              f"{r['trials_ok']} / {r.get('screened', 0)} / {r['trials']} | {'yes' if r['fallback'] else 'no'} | "
              f"{'yes' if r.get('ensemble') else 'no'} | {phases} | {r.get('loadavg_1min', float('nan')):.1f} |")
    ok = [r for r in rows if "error" not in r]
    if ok:
        print(f"\n{sum(r['within'] for r in ok)} of {len(ok)} fits within 1.1 x budget + 2 s; "
              f"{sum(r['fallback'] for r in ok)} used the fallback; {len(rows) - len(ok)} failed")


if __name__ == "__main__":
    main()
