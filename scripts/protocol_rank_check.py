#!/usr/bin/env python
"""Does the knowledge base's cheap protocol rank configurations the way evaluation on more data does?

The KB evaluates every configuration with 3-fold CV on at most 2,000 rows.
This script takes datasets with at least ``--large`` rows, evaluates the same
configurations (a seeded sample of the dense pool, every model family
represented) at 2,000 and at ``--large`` rows, and reports per dataset the
Spearman rank correlation of the two score vectors, whether the 2k-best
configuration is the large-sample best, and the large-sample regret of
picking by the 2k scores. Results are appended to a JSON-lines file, so the
run resumes.

Example::

    python scripts/protocol_rank_check.py --datasets 4 --configs 20 --out benchmarks_out/protocol.jsonl
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from metalearn.data import load_pmlb, pmlb_manifest
from metalearn.evaluation import evaluate
from metalearn.kb import ReservedList, candidate_pool, dataset_family
from metalearn.space import get_space

REPO = Path(__file__).resolve().parents[1]
DATA_DIRS = (REPO.parent / "shared/datasets/pmlb", REPO.parent / "shared/datasets/uci_regression")
RESERVED = REPO.parent / "shared/datasets/reserved.csv"


def large_datasets(n: int, min_rows: int, seed: int) -> list[tuple[str, Path]]:
    """``n`` datasets with at least ``min_rows`` rows, one per dataset family, alternating tasks."""
    reserved = ReservedList.read(RESERVED)
    rows = []
    for root in DATA_DIRS:
        man = pmlb_manifest(root)
        rows += [(name, root, man.at[name, "task"]) for name in man.index
                 if man.at[name, "n_rows"] >= min_rows and not reserved.excludes(name)]
    rng = np.random.default_rng(seed)
    by_task: dict[str, dict[str, tuple]] = {}
    for i in rng.permutation(len(rows)):
        name, root, task = rows[i]
        by_task.setdefault(task, {}).setdefault(dataset_family(name), (name, root))
    pools = [list(v.values()) for _, v in sorted(by_task.items())]
    picked = [p[i] for i in range(max(map(len, pools))) for p in pools if i < len(p)]
    return picked[:n]


def configs_for(task: str, n: int, seed: int) -> list[dict]:
    """``n`` configurations of the dense pool: every family's default, then a seeded sample of the rest."""
    pool = candidate_pool(task)
    space = get_space(task)
    defaults = space.defaults()
    rest = [c for c in pool if c not in defaults]
    rng = np.random.default_rng(seed)
    return (defaults + [rest[i] for i in rng.permutation(len(rest))])[:n]


def run(args: argparse.Namespace) -> None:
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    done = {(r["dataset"], r["rows"], r["config"]) for r in _rows(out)}
    for name, root in large_datasets(args.datasets, args.large, args.seed):
        full = load_pmlb(name, root)
        configs = configs_for(full.task, args.configs, args.seed)
        for rows in (2000, args.large):
            data = full.subsample(rows, 0)
            for i, config in enumerate(configs):
                if (name, rows, i) in done:
                    continue
                res = evaluate(config, data, cv=3, time_limit=args.time_limit, random_state=0, max_rows=None,
                               isolation="process", n_threads=1)
                row = {"dataset": name, "task": full.task, "rows": rows, "config": i, "family": config["family"],
                       "score": res.mean_score if res.ok else None, "status": res.status,
                       "seconds": round(res.duration, 2)}
                with open(out, "a", encoding="utf-8") as fh:
                    fh.write(json.dumps(row) + "\n")
                print(json.dumps(row), flush=True)
    report(_rows(out), args.large)


def _rows(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()] if path.exists() else []


def report(rows: list[dict], large: int) -> None:
    """Per dataset: Spearman rho of 2k vs large-sample scores, top-1 agreement, regret, cost ratio."""
    frame = pd.DataFrame(rows)
    print(f"\n| dataset | task | configs | Spearman rho (2k vs {large:,}) | same best | regret of 2k pick | "
          "cost ratio |\n|---|---|---:|---:|---|---:|---:|")
    rhos = []
    for name, part in frame.groupby("dataset"):
        wide = part.pivot_table(index="config", columns="rows", values="score", aggfunc="first").dropna()
        cost = part.groupby("rows")["seconds"].sum()
        if len(wide) < 3 or large not in wide or 2000 not in wide:
            continue
        rho = spearmanr(wide[2000], wide[large]).statistic
        rhos.append(rho)
        pick, best = wide[2000].idxmax(), wide[large].idxmax()
        regret = wide.at[best, large] - wide.at[pick, large]
        print(f"| {name} | {part['task'].iloc[0]} | {len(wide)} | {rho:.3f} | {'yes' if pick == best else 'no'} "
              f"| {regret:.4f} | {cost.get(large, np.nan) / cost.get(2000, np.nan):.1f}x |")
    if rhos:
        print(f"\nmean Spearman rho {np.mean(rhos):.3f}, median {np.median(rhos):.3f} over {len(rhos)} datasets")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--datasets", type=int, default=4)
    ap.add_argument("--configs", type=int, default=20)
    ap.add_argument("--large", type=int, default=10_000, help="rows of the reference evaluation (default 10,000)")
    ap.add_argument("--time-limit", type=float, default=300.0, help="seconds per evaluation (default 300)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="benchmarks_out/protocol.jsonl")
    ap.add_argument("--report", action="store_true", help="only print the report of --out")
    args = ap.parse_args(argv)
    if args.report:
        report(_rows(Path(args.out)), args.large)
    else:
        run(args)


if __name__ == "__main__":
    main()
