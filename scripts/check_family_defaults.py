#!/usr/bin/env python
"""Evaluate every family's default configuration on every dataset of a PMLB-layout directory.

Prints each failure with its error and the median evaluation time per family.
Successful runs already stored by a KB build with the same protocol are
reused (``--reuse .work/kb.sqlite``), since the family defaults are the first
members of the candidate pool; runs the build recorded as failed or timed out
are evaluated again here with ``--time-limit`` (default 900 s), so a config
that is merely slow under the build's 60 s limit is told apart from one that
breaks.

Usage::

    python scripts/check_family_defaults.py --pmlb-dir ../shared/datasets/pmlb --reuse .work/kb.sqlite
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import time
from pathlib import Path

import pandas as pd

from metalearn.kb import Protocol, config_key, evaluate_chunk, pmlb_specs
from metalearn.space import get_space


def stored_runs(db: str | None, protocol: Protocol) -> dict[tuple[str, str], dict]:
    """(dataset name, config id) -> run row, from a KB build with the same protocol."""
    if not db or not Path(db).exists():
        return {}
    con = sqlite3.connect(db)
    meta = dict(con.execute("SELECT key, value FROM meta").fetchall())
    if json.loads(meta.get("protocol", "{}")) != protocol.__dict__:
        print(f"not reusing {db}: its protocol differs", file=sys.stderr)
        return {}
    rows = con.execute(
        "SELECT d.name, r.config_id, r.status, r.error, r.duration, r.mean_score FROM runs r "
        "JOIN datasets d ON d.id = r.dataset_id WHERE r.source = 'local'"
    ).fetchall()
    con.close()
    return {(n, c): {"status": s, "error": e, "duration": d, "score": m} for n, c, s, e, d, m in rows if s == "ok"}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pmlb-dir", default="../shared/datasets/pmlb")
    ap.add_argument("--reuse", help="kb.sqlite of a build with the same protocol")
    ap.add_argument("--cv", type=int, default=Protocol.cv)
    ap.add_argument("--max-rows", type=int, default=Protocol.max_rows)
    ap.add_argument("--time-limit", type=float, default=900.0, help="seconds per evaluation run here")
    ap.add_argument("--out", default="benchmarks_out/family_defaults.csv")
    args = ap.parse_args(argv)
    protocol = Protocol(cv=args.cv, max_rows=args.max_rows)
    reuse = stored_runs(args.reuse, protocol)
    protocol = Protocol(cv=args.cv, max_rows=args.max_rows, time_limit=args.time_limit)
    rows = []
    specs = pmlb_specs(args.pmlb_dir)
    start = time.perf_counter()
    for i, spec in enumerate(specs):
        space = get_space(spec.task)
        todo = []
        for config in space.defaults():
            cid = config_key(spec.task, config)
            if (spec.name, cid) in reuse:
                rows.append(
                    {"dataset": spec.name, "family": config["family"], **reuse[(spec.name, cid)], "reused": True}
                )
            else:
                todo.append((cid, config))
        for (_cid, config), run in zip(todo, evaluate_chunk(spec, todo, protocol) if todo else []):
            rows.append(
                {
                    "dataset": spec.name,
                    "family": config["family"],
                    "status": run.status,
                    "error": run.error,
                    "duration": run.duration,
                    "score": run.mean_score,
                    "reused": False,
                }
            )
        print(f"[{i + 1}/{len(specs)}] {spec.name} ({time.perf_counter() - start:.0f} s)", file=sys.stderr)
    frame = pd.DataFrame(rows)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(args.out, index=False)
    failed = frame[frame["status"] != "ok"]
    print(
        f"{len(frame)} evaluations on {frame['dataset'].nunique()} datasets, {len(failed)} not ok "
        f"({frame['reused'].sum()} reused from {args.reuse})"
    )
    for _, r in failed.iterrows():
        print(f"  {r['dataset']} / {r['family']}: {r['status']}: {str(r['error']).splitlines()[0][:160]}")
    print("\n| family | median evaluation time (s) | max (s) | failures |\n|---|---:|---:|---:|")
    for fam, g in frame.groupby("family"):
        print(f"| {fam} | {g['duration'].median():.2f} | {g['duration'].max():.1f} | {(g['status'] != 'ok').sum()} |")
    return 0 if failed.empty else 1


if __name__ == "__main__":
    sys.exit(main())
