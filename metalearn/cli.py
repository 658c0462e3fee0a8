"""The ``metalearn`` command line.

Exit codes: 0 success, 1 a metalearn error (bad data, missing KB ...: one
clear line on stderr; ``--debug`` shows the traceback), 2 bad usage.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import traceback
from pathlib import Path

from metalearn._version import __version__
from metalearn.exceptions import InvalidDatasetError, MetaLearnError


def _at_least(minimum: int):
    """An argparse type: an integer of at least ``minimum`` (bad usage, exit 2, otherwise)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, not {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, not {text}")
        return value

    return parse


def _positive_seconds(text: str) -> float:
    """An argparse type: a positive, finite number of seconds."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, not {text!r}")
    return value


def _recommend_parser(sub) -> None:
    p = sub.add_parser("recommend", help="rank pipeline configurations to try first on a dataset",
                       description="Characterise the dataset, consult the knowledge base and print ranked "
                                   "warm-start configurations with the evidence behind them.")
    p.add_argument("path", help="CSV/TSV(.gz)/parquet file, pmlb-dir:DIR/NAME, openml:ID or sklearn:NAME")
    p.add_argument("--target", help="target column (default: a column named 'target')")
    p.add_argument("--task", choices=["classification", "regression"], help="override the inferred task")
    p.add_argument("--top", type=_at_least(1), default=5, help="number of configurations (default 5)")
    p.add_argument("--strategy", default="auto", choices=["auto", "knn", "portfolio", "portfolio-knn", "model"])
    p.add_argument("--kb", help="knowledge base directory (default: the shipped one)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--drop", nargs="*", default=None, help="columns to drop (e.g. identifiers)")


def _optimize_parser(sub) -> None:
    p = sub.add_parser("optimize", help="warm-started Bayesian optimisation; fits and saves the best model")
    p.add_argument("path")
    p.add_argument("--target")
    p.add_argument("--task", choices=["classification", "regression"])
    p.add_argument("--time-budget", type=_positive_seconds, help="seconds (default: stop after --n-trials)")
    p.add_argument("--n-trials", type=_at_least(1), default=30)
    p.add_argument("--metric")
    p.add_argument("--cv", type=_at_least(2), default=5)
    p.add_argument("--kb")
    p.add_argument("--output", help="save the fitted model with joblib")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--drop", nargs="*", default=None)
    p.add_argument("--json", action="store_true")


def _kb_parser(sub) -> None:
    p = sub.add_parser("kb", help="knowledge base: info, build")
    kb_sub = p.add_subparsers(dest="kb_command", required=True)
    info = kb_sub.add_parser("info", help="datasets per task, configs, runs, failures, versions, build command")
    info.add_argument("--kb", help="KB directory or kb.sqlite (default: the shipped one)")
    info.add_argument("--json", action="store_true")
    build = kb_sub.add_parser("build", help="run the offline builder (same as scripts/build_knowledge_base.py)",
                              add_help=False)
    build.add_argument("builder_args", nargs=argparse.REMAINDER)


def _few_shot_parser(sub) -> None:
    p = sub.add_parser("few-shot", help="few-shot tasks: recommend a meta-learned backbone, adapt, predict")
    fs = p.add_subparsers(dest="fs_command", required=True)
    rec = fs.add_parser("recommend", help="characterise an image folder (one sub-folder per class) and "
                                          "recommend a backbone + adaptation recipe")
    rec.add_argument("folder")
    rec.add_argument("--json", action="store_true")
    pred = fs.add_parser("predict", help="adapt the recommended backbone on a support folder, label query images")
    pred.add_argument("support", help="folder with support/<class>/*.png and query/*.png, or one sub-folder of "
                                      "images per class (then give the queries, or put them in its query/)")
    pred.add_argument("queries", nargs="*", help="image files or folders to label (default: the folder's query/)")


def parser() -> argparse.ArgumentParser:
    """The argument parser of ``metalearn``."""
    ap = argparse.ArgumentParser(prog="metalearn", description="Meta-learning warm-start AutoML.")
    ap.add_argument("--version", action="version", version=f"metalearn {__version__}")
    ap.add_argument("--debug", action="store_true", help="show tracebacks and debug logging")
    ap.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    sub = ap.add_subparsers(dest="command", required=True)
    _recommend_parser(sub)
    _optimize_parser(sub)
    _kb_parser(sub)
    _few_shot_parser(sub)
    return ap


def cmd_recommend(args: argparse.Namespace) -> int:
    """``metalearn recommend``."""
    import metalearn

    ds = metalearn.load_dataset(args.path, target=args.target, task=args.task, drop=args.drop)
    rec = metalearn.recommend(ds, k=args.top, kb=args.kb, strategy=args.strategy)
    if args.json:
        print(rec.to_json(indent=2))
        return 0
    print(f"{ds!r}")
    print(format_table(rec))
    print()
    print(rec.explain(top=args.top))
    t = rec.timings
    kb_time = t.get("kb_open", 0) + t.get("kb_fit", 0)
    print(f"\n(meta-features {t.get('metafeatures', 0):.2f} s, knowledge base {kb_time:.2f} s, "
          f"ranking {t.get('rank', 0):.3f} s)")
    return 0


def format_table(rec) -> str:
    """The recommendation as an aligned text table."""
    from metalearn.recommend import describe_config

    rows = [("rank", "configuration", "predicted", f"expected {rec.metric}", "best evidence")]
    for i, cfg in enumerate(rec.configs):
        mean, spread = rec.predicted_scores[i]
        exp = rec.expected_scores[i][0]
        ev = rec.evidence[i][0] if rec.evidence[i] else None
        ev_text = f"{ev.score:.3f} on {ev.neighbor}" if ev else "-"
        rows.append((str(i + 1), describe_config(cfg), f"{mean:.2f} ± {spread:.2f}", f"{exp:.3f}", ev_text))
    widths = [max(len(r[j]) for r in rows) for j in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)


def cmd_kb(args: argparse.Namespace) -> int:
    """``metalearn kb info|build``."""
    if args.kb_command == "build":
        from metalearn.kb._build_cli import main as build_main

        return build_main(args.builder_args)
    from metalearn.kb import KnowledgeBase

    kb = KnowledgeBase.open(args.kb)
    summary = kb.summary()
    if args.json:
        print(json.dumps(summary, indent=2, default=str))
        return 0
    print(f"knowledge base: {summary['path']}")
    print(f"datasets per task: {summary['n_datasets_per_task']} (per source: {summary['n_datasets_per_source']}, "
          f"with runs: {summary['n_datasets_with_runs']})")
    print(f"configurations per task: {summary['n_configs_per_task']}; datasets evaluated on every one: "
          f"{summary['n_datasets_fully_evaluated']}")
    print(f"runs: {summary['n_runs']} {summary['runs_per_source']}; density of local runs {summary['density']:.1%}; "
          f"failed/timeout share {summary['failed_share']:.1%}; "
          f"local evaluations took {summary['local_evaluation_hours']:.1f} core-hours")
    print(f"versions: schema {summary['schema_version']}, search space {summary['space_version']}, "
          f"libraries {summary['library_versions']}")
    print(f"evaluation protocol: {summary['protocol']}")
    print(f"reserved datasets excluded: {summary['reserved_exclusion']}")
    print(f"build command: {summary['build_command']}")
    return 0


def cmd_optimize(args: argparse.Namespace) -> int:
    """``metalearn optimize``: fit MetaLearnClassifier/Regressor and optionally save it."""
    import metalearn
    from metalearn.estimators import MetaLearnClassifier, MetaLearnRegressor

    ds = metalearn.load_dataset(args.path, target=args.target, task=args.task, drop=args.drop)
    cls = MetaLearnClassifier if ds.task == "classification" else MetaLearnRegressor
    model = cls(time_budget=args.time_budget, n_trials=args.n_trials, metric=args.metric, cv=args.cv,
                kb=args.kb, random_state=args.seed, verbose=0 if args.quiet else 1)
    model.fit(ds.X, ds.y)
    best = model.history_.sort_values("score", ascending=False).iloc[0]
    if args.json:
        print(json.dumps({"best_config": model.best_config_, "best_cv_score": float(best["score"]),
                          "n_trials": int(len(model.history_))}, indent=2))
    else:
        from metalearn.recommend import describe_config

        print(f"best configuration: {describe_config(model.best_config_)}")
        print(f"best CV score: {best['score']:.4f} after {len(model.history_)} trials")
    if args.output:
        import joblib

        joblib.dump(model, args.output)
        print(f"saved the fitted model to {args.output}")
    return 0


def cmd_few_shot(args: argparse.Namespace) -> int:
    """``metalearn few-shot recommend|predict`` (needs the ``neural`` extra for ``predict``)."""
    from metalearn.neural import FewShotTask, recommend_backbone

    task = FewShotTask.from_image_folder(args.folder if args.fs_command == "recommend" else args.support)
    rec = recommend_backbone(task)
    if args.fs_command == "recommend":
        print(json.dumps(rec.to_dict(), indent=2, default=str) if args.json else rec.explain())
        return 0
    import numpy as np

    from metalearn.neural import adapt, read_image

    labels = task.metadata.get("classes") or [str(i) for i in range(int(task.support_y.max()) + 1)]
    if args.queries:
        queries = _query_files(args.queries)
        images = np.stack([read_image(q) for q in queries]).astype(np.float32)
    else:
        queries, images = task.metadata.get("query_files", []), task.query_x
        if not queries:
            raise InvalidDatasetError(f"no query images: put them in {args.support}/query/ or name them after it")
    model = adapt(rec.backbone, task.support_x, task.support_y, recipe=rec.recipe)
    for query, label in zip(queries, model.predict(images)):  # one call: Conv-4 uses the batch's statistics
        print(f"{query}\t{labels[int(label)]}")
    return 0


def _query_files(paths: list[str]) -> list[str]:
    """Image files named on the command line, folders expanded to their files (sorted)."""
    files: list[str] = []
    for name in paths:
        path = Path(name)
        files += sorted(str(f) for f in path.iterdir() if f.is_file()) if path.is_dir() else [name]
    if not files:
        raise InvalidDatasetError(f"no query images in {' '.join(paths)}")
    return files


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``metalearn`` command; returns the exit code."""
    args = parser().parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    commands = {"recommend": cmd_recommend, "kb": cmd_kb, "optimize": cmd_optimize, "few-shot": cmd_few_shot}
    try:
        return commands[args.command](args)
    except MetaLearnError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"metalearn: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("metalearn: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
