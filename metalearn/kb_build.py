"""Command line of the KB builder (``metalearn kb build`` and ``scripts/build_knowledge_base.py``).

It sits above :mod:`metalearn.recommend` because publishing a knowledge base
includes fitting the recommender artifact on it.
"""

from __future__ import annotations

import argparse
import logging
import shlex
import sys
from pathlib import Path

from metalearn.data import load_dataset
from metalearn.kb import (
    DatasetSpec,
    KBStore,
    Protocol,
    ReservedList,
    RetryPolicy,
    build_local,
    import_lcdb,
    import_openml,
    pmlb_specs,
    snapshot,
    tidy,
)
from metalearn.kb._builder import compute_metafeatures
from metalearn.kb._shards import export_shard, restore
from metalearn.kb._sources import LEGACY_POOL_SIZE, PER_NEW_FAMILY
from metalearn.recommend import publish_recommender

logger = logging.getLogger(__name__)

DEFAULT_WORK = ".work/kb.sqlite"
DEFAULT_RESERVED = "../shared/datasets/reserved.csv"


def _add_local(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("local", help="evaluate the candidate pool densely on local datasets")
    p.add_argument("--pmlb-dir", action="append", default=[],
                   help="directory in the PMLB layout (NAME.tsv.gz + manifest.csv); repeat for several "
                        "(e.g. ../shared/datasets/pmlb and ../shared/datasets/uci_regression)")
    p.add_argument("--datasets", help="comma-separated dataset names of the --pmlb-dir directories (default: all)")
    p.add_argument("--files", nargs="*", default=[], help="CSV/TSV/parquet files (target column 'target')")
    p.add_argument("--output", default=DEFAULT_WORK, help=f"SQLite file to create or resume ({DEFAULT_WORK})")
    p.add_argument("--pool-size", type=_positive(int), default=LEGACY_POOL_SIZE,
                   help=f"configurations per task drawn over the original seven model families "
                        f"(default {LEGACY_POOL_SIZE})")
    p.add_argument("--per-family", type=_positive(int, zero=True), default=PER_NEW_FAMILY,
                   help=f"configurations of each model family added since (default {PER_NEW_FAMILY})")
    p.add_argument("--cv", type=_positive(int), default=Protocol.cv)
    p.add_argument("--max-rows", type=_positive(int), default=Protocol.max_rows)
    p.add_argument("--time-limit", type=_positive(float), default=Protocol.time_limit)
    p.add_argument("--memory-limit-mb", type=_positive(int), default=Protocol.memory_limit_mb)
    p.add_argument("--n-jobs", type=_positive(int), default=1, help="local worker processes")
    p.add_argument("--dask-local", type=_positive(int), help="run on a local Dask cluster of N workers")
    p.add_argument("--scheduler", help="address of a Dask scheduler, e.g. tcp://10.0.0.5:8786")
    p.add_argument("--chunk-size", type=_positive(int), default=10,
                   help="configurations sent to a worker at once (local workers store each run as it ends)")
    p.add_argument("--reserved", default=DEFAULT_RESERVED, help="CSV of datasets to keep out of the KB")
    p.add_argument("--no-progress", action="store_true")


def _positive(kind: type, zero: bool = False):
    """An argparse type: a number of ``kind`` above 0 (or at least 0 with ``zero``), else a usage error."""
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a{'n integer' if kind is int else ' number'}") from None
        if value < 0 or (value == 0 and not zero) or value != value:
            raise argparse.ArgumentTypeError(f"must be {'>= 0' if zero else '> 0'}, not {text}")
        return value

    parse.__name__ = kind.__name__
    return parse


def _add_publish(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("publish", help="snapshot a build into a KB directory and write its manifest")
    p.add_argument("--from", dest="db", default=DEFAULT_WORK, help="SQLite file of a build")
    p.add_argument("--to", dest="target", default="metalearn/kb_data",
                   help="KB directory (default metalearn/kb_data, the shipped KB)")


def _add_tidy(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("tidy", help="drop reserved datasets (and aliases) from a build; refresh families")
    p.add_argument("--output", default=DEFAULT_WORK, help=f"SQLite file of a build ({DEFAULT_WORK})")
    p.add_argument("--reserved", default=DEFAULT_RESERVED, help="CSV of datasets to keep out of the KB")


def run_tidy(args: argparse.Namespace) -> int:
    """Run the ``tidy`` maintenance step on a build."""
    if not Path(args.output).exists():
        print(f"no build at {args.output}", file=sys.stderr)
        return 2
    with KBStore(args.output) as store:
        out = tidy(store, ReservedList.read(args.reserved))
        store.vacuum()
    print(f"reserved datasets dropped: {', '.join(out['reserved_dropped']) or 'none'}")
    for name, (old, new) in sorted(out["families_changed"].items()):
        print(f"family of {name}: {old} -> {new}")
    return 0


def _add_metafeatures(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("metafeatures", help="compute missing meta-features of local datasets")
    p.add_argument("--pmlb-dir", required=True, action="append", help="PMLB-layout directory (repeatable)")
    p.add_argument("--output", default=DEFAULT_WORK)
    p.add_argument("--reserved", default=DEFAULT_RESERVED)
    p.add_argument("--no-progress", action="store_true")


def _add_lcdb(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("lcdb", help="import family-default runs and OpenML qualities from LCDB 0.1.0")
    p.add_argument("--lcdb-dir", help="directory with LCDB's datasets.csv and database-accuracy.csv "
                                      "(default: the installed lcdb package)")
    p.add_argument("--output", default=DEFAULT_WORK, help=f"SQLite file to create or extend ({DEFAULT_WORK})")
    p.add_argument("--reserved", default=DEFAULT_RESERVED, help="CSV of datasets to keep out of the KB")


def _add_openml(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("openml", help="import runs of scikit-learn flows on an OpenML suite (needs openml)")
    p.add_argument("--flows", required=True, help="comma-separated OpenML flow ids")
    p.add_argument("--suite", default="99", help="benchmark suite id or alias (default 99, OpenML-CC18)")
    p.add_argument("--functions", default="predictive_accuracy",
                   help="comma-separated measures: predictive_accuracy, area_under_roc_curve")
    p.add_argument("--page-size", type=int, default=1000, help="evaluations per listing request")
    p.add_argument("--max-pages", type=int, help="stop after this many pages per measure")
    p.add_argument("--attempts", type=int, default=4, help="tries per request (transient failures)")
    p.add_argument("--backoff", type=float, default=2.0, help="seconds before the first retry, doubling")
    p.add_argument("--cache-dir", help="root cache directory of openml (default: openml's)")
    p.add_argument("--output", default=DEFAULT_WORK, help=f"SQLite file to create or extend ({DEFAULT_WORK})")
    p.add_argument("--reserved", default=DEFAULT_RESERVED, help="CSV of datasets to keep out of the KB")


def run_lcdb(args: argparse.Namespace, command: str) -> int:
    """Run the ``lcdb`` source."""
    out = import_lcdb(args.output, directory=args.lcdb_dir, reserved=ReservedList.read(args.reserved),
                      command=command)
    print(f"lcdb: {out['datasets']} datasets, {out['runs_added']} new runs in {out['seconds']:.0f} s; "
          f"runs per family: {out['runs_per_family']}; "
          f"reserved datasets dropped: {', '.join(out['reserved_dropped']) or 'none'}")
    return 0


def run_openml(args: argparse.Namespace, command: str) -> int:
    """Run the ``openml`` source."""
    suite: int | str = int(args.suite) if args.suite.isdigit() else args.suite
    out = import_openml(args.output, flows=[int(f) for f in args.flows.split(",") if f.strip()], suite=suite,
                        functions=tuple(f.strip() for f in args.functions.split(",") if f.strip()),
                        reserved=ReservedList.read(args.reserved), page_size=args.page_size,
                        max_pages=args.max_pages, policy=RetryPolicy(args.attempts, args.backoff),
                        cache_dir=args.cache_dir, command=command)
    print(f"openml: {out['evaluations']} evaluations, {out['datasets']} datasets, {out['runs_added']} new runs "
          f"in {out['seconds']:.0f} s; skipped setups: {sum(out['skipped'].values())}; "
          f"reserved datasets dropped: {', '.join(out['reserved_dropped']) or 'none'}")
    return 0


def run_metafeatures(args: argparse.Namespace) -> int:
    """Run the ``metafeatures`` stage on its own (the ``local`` build runs it too)."""
    reserved = ReservedList.read(args.reserved)
    specs = [s for root in args.pmlb_dir for s in pmlb_specs(root) if not reserved.excludes(s.name, s.openml_id)]
    with KBStore(args.output, create=True) as store:
        n = compute_metafeatures(store, specs, progress=not args.no_progress)
    print(f"meta-features computed for {n} dataset(s)")
    return 0


def _add_shards(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("snapshot", help="write a build's new runs to a shard (publish a build in progress)")
    p.add_argument("--from", dest="db", default=DEFAULT_WORK, help="SQLite file of a build")
    p.add_argument("--shards", required=True, help="folder of shards (shard-NNNN.jsonl.gz)")
    p.add_argument("--base", required=True, help="kb.sqlite the build started from")
    p = sub.add_parser("restore", help="recreate a build from its base and its shards (then resume it)")
    p.add_argument("--shards", required=True, help="folder of shards (shard-NNNN.jsonl.gz)")
    p.add_argument("--base", required=True, help="kb.sqlite the build started from")
    p.add_argument("--output", default=DEFAULT_WORK, help=f"SQLite file to create or extend ({DEFAULT_WORK})")


def run_shards(args: argparse.Namespace) -> int:
    """Run ``snapshot`` or ``restore``."""
    if args.command == "snapshot":
        path = export_shard(args.db, args.shards, args.base)
        print(f"wrote {path}" if path else "nothing new to snapshot")
        return 0
    print(f"restored {restore(args.shards, args.output, args.base)} runs into {args.output}")
    return 0


def parser() -> argparse.ArgumentParser:
    """The argument parser of the builder."""
    ap = argparse.ArgumentParser(prog="build_knowledge_base", description=__doc__)
    sub = ap.add_subparsers(dest="command", required=True)
    _add_local(sub)
    _add_publish(sub)
    _add_tidy(sub)
    _add_metafeatures(sub)
    _add_lcdb(sub)
    _add_openml(sub)
    _add_shards(sub)
    return ap


def _file_specs(files: list[str]) -> list[DatasetSpec]:
    specs = []
    for f in files:
        ds = load_dataset(f)
        specs.append(DatasetSpec(name=ds.name, uri=str(Path(f).resolve()), task=ds.task, n_rows=ds.n_rows,
                                 n_features=ds.n_features, n_classes=ds.n_classes or None))
    return specs


def run_local(args: argparse.Namespace, command: str) -> int:
    """Run the ``local`` source."""
    specs: list[DatasetSpec] = []
    wanted = set(args.datasets.split(",")) if args.datasets else None
    for root in args.pmlb_dir:
        found = pmlb_specs(root)
        specs += [s for s in found if wanted is None or s.name in wanted]
    unknown = sorted((wanted or set()) - {s.name for s in specs})
    if unknown:
        print(f"not in any --pmlb-dir: {', '.join(unknown)}", file=sys.stderr)
        return 2
    specs += _file_specs(args.files)
    if not specs:
        print("nothing to evaluate: give --pmlb-dir and/or --files", file=sys.stderr)
        return 2
    protocol = Protocol(cv=args.cv, max_rows=args.max_rows, time_limit=args.time_limit,
                        memory_limit_mb=args.memory_limit_mb)
    out = build_local(args.output, specs, pool_size=args.pool_size, per_family=args.per_family, protocol=protocol,
                      reserved=ReservedList.read(args.reserved), n_jobs=args.n_jobs, scheduler=args.scheduler,
                      dask_local=args.dask_local, chunk_size=args.chunk_size, progress=not args.no_progress,
                      command=command)
    print(f"stored {out['added']} new runs in {out['seconds']:.0f} s; "
          f"reserved datasets dropped: {', '.join(out['skipped_reserved']) or 'none'}")
    return 0


def run_publish(db: str, target: str) -> int:
    """Snapshot the build, fit the recommender artifact on it, and write the manifest."""
    snapshot(db, target)
    manifest = publish_recommender(target)
    print(f"published {target}: {manifest['counts']}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    argv = sys.argv[1:] if argv is None else argv
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = parser().parse_args(argv)
    command = "python scripts/build_knowledge_base.py " + shlex.join(argv)
    if args.command == "local":
        return run_local(args, command)
    if args.command == "metafeatures":
        return run_metafeatures(args)
    if args.command == "tidy":
        return run_tidy(args)
    if args.command == "publish":
        return run_publish(args.db, args.target)
    if args.command == "lcdb":
        return run_lcdb(args, command)
    if args.command == "openml":
        return run_openml(args, command)
    if args.command in ("snapshot", "restore"):
        return run_shards(args)
    return 2
