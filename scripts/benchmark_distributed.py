#!/usr/bin/env python
"""Wall time of the same fixed-``n_trials`` search serially, with ``n_jobs=2`` and on a local Dask cluster.

For each dataset the searches (same seed, same trials) are timed
separately; the Dask cluster is started once, before them, and its start-up
(scheduler, two worker processes, each worker's evaluation forkserver) is
reported apart. The local forkserver is warmed up before timing too, so no
column pays a start-up. A serial search asks one trial at a time, so it
follows another path than two slots do and evaluates other configurations
(some slower, some faster); the speed-ups are therefore taken against
``same configs``: the configurations ``n_jobs=2`` evaluated, run serially in
the same order (the same work). The last columns say whether ``local:2``
evaluated the same configurations and found the same best one as
``n_jobs=2``. Usage::

    nice -n 10 python scripts/benchmark_distributed.py --pmlb-dir ../shared/datasets/pmlb --datasets 12 --n-trials 30
"""

from __future__ import annotations

import argparse
import sys
import time

import metalearn
from metalearn.evaluation import connect, warm_up
from metalearn.kb import ReservedList, pmlb_specs, size_order
from metalearn.optimize import optimize

MODES = ("serial", "n_jobs=2", "same configs", "local:2")


def pick_datasets(pmlb_dir: str, reserved: str, count: int, skip: int) -> list:
    """``count`` non-reserved PMLB datasets spread over the size order, after the ``skip`` smallest."""
    excluded = ReservedList.read(reserved)
    specs = [s for s in size_order(pmlb_specs(pmlb_dir)) if not excluded.excludes(s.name, s.openml_id)][skip:]
    step = max(len(specs) // max(count, 1), 1)
    return specs[::step][:count]


def search(dataset, mode: str, args: argparse.Namespace, client, configs=None) -> tuple[float, object]:
    """Seconds and result of one search in ``mode`` (``same configs``: ``configs`` serially, in order)."""
    extra = {"serial": {}, "n_jobs=2": {"n_jobs": 2}, "same configs": {}, "local:2": {"scheduler": client}}[mode]
    start = time.perf_counter()
    result = optimize(dataset, n_trials=args.n_trials, cv=args.cv,
                      warm_start=configs if mode == "same configs" else args.warm_start,
                      random_state=args.seed, **extra)
    return time.perf_counter() - start, result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pmlb-dir", default="../shared/datasets/pmlb")
    ap.add_argument("--reserved", default="../shared/datasets/reserved.csv")
    ap.add_argument("--datasets", type=int, default=12)
    ap.add_argument("--skip", type=int, default=40, help="smallest datasets skipped (their trials are overhead)")
    ap.add_argument("--n-trials", type=int, default=30)
    ap.add_argument("--cv", type=int, default=3)
    ap.add_argument("--warm-start", default="defaults", help="as in optimize() (default: the family defaults)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--skip-serial", action="store_true",
                    help="leave out the serial search (it is shown for information; no speed-up uses it)")
    ap.add_argument("--names", nargs="+", help="these datasets instead of the picked ones")
    args = ap.parse_args(argv)
    modes = tuple(m for m in MODES if not (args.skip_serial and m == "serial"))
    specs = pick_datasets(args.pmlb_dir, args.reserved, args.datasets, args.skip)
    if args.names:
        specs = [s for s in pick_datasets(args.pmlb_dir, args.reserved, 10**6, 0) if s.name in args.names]
    local_warm_up = warm_up()
    start = time.perf_counter()
    with connect("local:2") as cluster:
        startup = time.perf_counter() - start
        print(f"start-up, not in the columns below: local forkserver {local_warm_up:.1f} s; "
              f"Dask local:2 cluster {startup:.1f} s (scheduler, 2 workers, their forkservers)\n")
        print("| dataset | rows | cols | " + " | ".join(f"{m} (s)" for m in modes)
              + " | speed-up n_jobs=2 | speed-up local:2 (both vs same configs)"
              + " | same configs as n_jobs=2 | same best |")
        print("|---|---:|---:|" + "---:|" * (len(modes) + 2) + "---|---|")
        totals = dict.fromkeys(modes, 0.0)
        all_same = True
        for spec in specs:
            dataset = metalearn.load_dataset(spec.uri, task=spec.task)
            times, results = {}, {}
            for mode in modes:
                configs = list(results["n_jobs=2"].history["config"]) if mode == "same configs" else None
                times[mode], results[mode] = search(dataset, mode, args, cluster.client, configs)
                totals[mode] += times[mode]
            local, remote = results["n_jobs=2"], results["local:2"]
            same = list(remote.history["config_id"]) == list(local.history["config_id"])
            best = remote.best_config == local.best_config
            all_same = all_same and same and best
            print(f"| {spec.name} | {dataset.n_rows} | {dataset.n_features} | "
                  + " | ".join(f"{times[m]:.1f}" for m in modes)
                  + "".join(f" | {times['same configs'] / times[m]:.2f}x" for m in ("n_jobs=2", "local:2"))
                  + f" | {'yes' if same else 'no'} | {'yes' if best else 'no'} |", flush=True)
        print("| **total** | | | " + " | ".join(f"{totals[m]:.1f}" for m in modes)
              + "".join(f" | {totals['same configs'] / totals[m]:.2f}x" for m in ("n_jobs=2", "local:2"))
              + f" | {'yes' if all_same else 'no'} | |")
    print(f"\n{len(specs)} datasets, {args.n_trials} trials each, cv={args.cv}, warm_start={args.warm_start!r}, "
          f"seed {args.seed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
