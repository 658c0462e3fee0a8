#!/usr/bin/env python
"""Wall time of a small KB build serially, with joblib (2 processes) and on a local Dask cluster (2 workers).

Also checks that the three builds store identical runs. Usage::

    python scripts/benchmark_kb_build.py --pmlb-dir ../shared/datasets/pmlb --datasets 8 --pool-size 16
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from metalearn.kb import Protocol, ReservedList, build_local, pmlb_specs, size_order


def runs(db: Path) -> pd.DataFrame:
    con = sqlite3.connect(db)
    frame = pd.read_sql_query("SELECT d.name, r.config_id, r.fold_scores, r.status FROM runs r JOIN datasets d "
                              "ON d.id = r.dataset_id ORDER BY d.name, r.config_id", con)
    con.close()
    return frame


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pmlb-dir", default="../shared/datasets/pmlb")
    ap.add_argument("--datasets", type=int, default=8, help="how many of the cheapest non-reserved datasets")
    ap.add_argument("--pool-size", type=int, default=16)
    ap.add_argument("--reserved", default="../shared/datasets/reserved.csv")
    args = ap.parse_args(argv)
    reserved = ReservedList.read(args.reserved)
    specs = [s for s in size_order(pmlb_specs(args.pmlb_dir)) if not reserved.excludes(s.name, s.openml_id)]
    specs = specs[40:40 + args.datasets]  # skip the very smallest, whose runs are mostly overhead
    protocol = Protocol()
    times, frames = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for mode, kwargs in (("serial", {}), ("joblib-2", {"n_jobs": 2}), ("dask-local-2", {"dask_local": 2})):
            db = Path(tmp) / f"{mode}.sqlite"
            start = time.perf_counter()
            build_local(db, specs, pool_size=args.pool_size, per_family=0, protocol=protocol, progress=False,
                        chunk_size=4, **kwargs)
            times[mode] = time.perf_counter() - start
            frames[mode] = runs(db)
    same = all(frames[m].equals(frames["serial"]) for m in frames)
    n = len(frames["serial"])
    print(f"{n} evaluations ({len(specs)} datasets x {args.pool_size} configs): "
          + ", ".join(f"{m} {t:.1f} s" for m, t in times.items()))
    print(f"speed-up joblib-2 {times['serial'] / times['joblib-2']:.2f}x, "
          f"dask-local-2 {times['serial'] / times['dask-local-2']:.2f}x; identical runs: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
