"""The ``metalearn`` command line.

Exit codes: 0 success, 1 a metalearn error (bad data, missing KB ...: one
clear line on stderr, with the fix spelled as options of this command;
``--debug`` shows the traceback), 2 bad usage, 141 the reader of the output
went away (e.g. ``| head``).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import shlex
import sys
import time
import traceback
import warnings
from pathlib import Path

import metalearn
from metalearn import neural  # neural.adapt imports torch on first use (PEP 562), never at start-up
from metalearn._version import __version__
from metalearn.data import DataWarning, read_table
from metalearn.data._validation import split_target
from metalearn.estimators import MetaLearnClassifier, MetaLearnRegressor
from metalearn.exceptions import (
    ColumnMismatchError,
    InvalidDatasetError,
    InvalidParameterError,
    MetaLearnError,
    ModelFileError,
    OutputPathError,
)
from metalearn.kb import KnowledgeBase, repair_user_kb
from metalearn.kb_build import main as build_main
from metalearn.neural import FewShotTask, read_image, recommend_backbone
from metalearn.recommend import describe_config

#: exit code after a broken pipe (128 + SIGPIPE, as shells report a process killed by it)
EXIT_BROKEN_PIPE = 141


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


def _column_type(text: str) -> tuple[str, str]:
    """An argparse type: ``NAME=TYPE`` of ``--column-type``."""
    name, sep, kind = text.rpartition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=TYPE, e.g. signup=datetime, not {text!r}")
    return name, kind


def _column_options(p) -> None:
    p.add_argument("--drop", nargs="+", action="extend", default=None, metavar="NAME",
                   help="columns to leave out (identifiers, leaks); repeatable")
    p.add_argument("--column-type", action="append", type=_column_type, default=None, metavar="NAME=TYPE",
                   help="override a column's type: numeric, categorical, boolean, text, datetime or drop")


def _memory_limit(text: str) -> int | str | None:
    """An argparse type: ``auto``, ``none`` or a positive number of MB."""
    if text in ("auto", "none"):
        return None if text == "none" else text
    return _at_least(1)(text)


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
    _column_options(p)


def _optimize_parser(sub) -> None:
    p = sub.add_parser("optimize", help="warm-started Bayesian optimisation; fits and saves the best model")
    p.add_argument("path")
    p.add_argument("--target")
    p.add_argument("--task", choices=["classification", "regression"])
    p.add_argument("--time-budget", type=_positive_seconds, help="seconds for the whole fit (default: no limit)")
    p.add_argument("--n-trials", type=_at_least(1), default=None,
                   help="evaluations (default: 30 without --time-budget, else as many as the budget allows)")
    p.add_argument("--metric")
    p.add_argument("--cv", type=_at_least(2), default=5)
    p.add_argument("--kb")
    p.add_argument("--output", help="save the fitted model with joblib (checked before the search starts)")
    p.add_argument("--seed", type=int, default=0)
    _column_options(p)
    p.add_argument("--json", action="store_true")
    p.add_argument("--n-jobs", type=_at_least(1), default=1, help="trials evaluated at once (default 1)")
    p.add_argument("--scheduler", help="evaluate the trials on Dask: a scheduler address (tcp://HOST:8786) or "
                                       "local:N for a local cluster of N workers (needs metalearn[distributed])")
    p.add_argument("--memory-limit-mb", type=_memory_limit, default="auto",
                   help="memory cap of each evaluation in MB, or 'none' (default: 80%% of the machine's memory "
                        "shared among the evaluations running at once, at least 4096)")


def _predict_parser(sub) -> None:
    p = sub.add_parser("predict", help="predict with a model saved by 'metalearn optimize --output'",
                       description="Read a table with the columns the model was fitted on and write one "
                                   "prediction per row as CSV. Load only model files you saved yourself: "
                                   "joblib files can run code when they are read.")
    p.add_argument("model", help="model file written by 'metalearn optimize --output'")
    p.add_argument("data", help="CSV/TSV(.gz)/parquet file with the model's feature columns")
    p.add_argument("--output", help="CSV file to write (default: standard output)")
    p.add_argument("--proba", action="store_true", help="class probabilities instead of labels (classifiers)")


def _kb_parser(sub) -> None:
    p = sub.add_parser("kb", help="knowledge base: info, repair, build")
    kb_sub = p.add_subparsers(dest="kb_command", required=True)
    info = kb_sub.add_parser("info", help="datasets per task, configs, runs, failures, versions, build command")
    info.add_argument("--kb", help="KB directory or kb.sqlite (default: the shipped one)")
    info.add_argument("--json", action="store_true")
    repair = kb_sub.add_parser("repair", help="bring a user KB interrupted mid-write back to its last whole state")
    repair.add_argument("path", help="user KB directory or .sqlite file")
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
    _predict_parser(sub)
    _kb_parser(sub)
    _few_shot_parser(sub)
    return ap


def cmd_recommend(args: argparse.Namespace) -> int:
    """``metalearn recommend``."""
    ds = _load(args)
    rec = metalearn.recommend(ds, k=args.top, kb=args.kb, strategy=args.strategy)
    if args.json:
        print(rec.to_json(indent=2))
        return 0
    print(ds.describe(), end="\n\n")
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
    """``metalearn kb info|repair|build``."""
    if args.kb_command == "build":
        return build_main(args.builder_args)
    if args.kb_command == "repair":
        for line in repair_user_kb(args.path):
            print(line)
        return 0
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


def _load(args: argparse.Namespace):
    """The dataset of ``args.path`` with the options' overrides."""
    return metalearn.load_dataset(args.path, target=args.target, task=args.task, drop=args.drop,
                                  column_types=dict(args.column_type or []))


def _training_data(args: argparse.Namespace, ds) -> tuple:
    """``(X, y, fit options)`` for the estimator.

    A file is fitted from its raw columns, so the saved model reads the same
    file layout in ``metalearn predict``; other sources from the loaded
    features, with their types pinned so they are not decided twice.
    """
    path = Path(args.path).expanduser()
    if ds.source != str(path) or not path.is_file():
        return ds.X, ds.y, {"column_types": dict(zip(ds.feature_names, ds.feature_types))}
    frame = read_table(path)
    target = args.target or ("target" if "target" in frame.columns else None)
    X, y = split_target(frame, target)
    keep = y.notna().to_numpy()  # rows load_dataset dropped, with a warning
    return X.loc[keep], y.loc[keep], {"drop": args.drop, "column_types": dict(args.column_type or [])}


def check_output_path(path: str, option: str = "--output") -> None:
    """Refuse an output file that cannot be written, before any work is done."""
    target = Path(path).expanduser()
    parent = target.parent
    if target.is_dir():
        raise OutputPathError(f"{option} {path} is a directory; give a file name, e.g. {target / 'model.joblib'}")
    if not parent.is_dir():
        raise OutputPathError(f"{option} {path}: the folder {parent} does not exist; create it first")
    if not os.access(parent, os.W_OK) or (target.exists() and not os.access(target, os.W_OK)):
        raise OutputPathError(f"{option} {path}: no permission to write there; choose another path")


def cmd_optimize(args: argparse.Namespace) -> int:
    """``metalearn optimize``: fit MetaLearnClassifier/Regressor and optionally save it."""
    start = time.perf_counter()
    if args.output:
        check_output_path(args.output)
    ds = _load(args)
    if not args.json and not args.quiet:
        print(ds.describe(), end="\n\n", flush=True)
    X, y, options = _training_data(args, ds)
    cls = MetaLearnClassifier if ds.task == "classification" else MetaLearnRegressor
    n_trials = 30 if args.n_trials is None and args.time_budget is None else args.n_trials
    model = cls(time_budget=args.time_budget, n_trials=n_trials, metric=args.metric, cv=args.cv,
                kb=args.kb, random_state=args.seed, verbose=0 if args.quiet or args.json else 1, n_jobs=args.n_jobs,
                scheduler=args.scheduler, memory_limit_mb=args.memory_limit_mb)
    model.fit(X, y, **options)
    trials = int(model.history_["number"].nunique())  # a screened trial has a row per rung
    elapsed = time.perf_counter() - start
    if args.json:
        print(json.dumps({"best_config": model.best_config_, "metric": model.metric_,
                          "best_cv_score": float(model.best_score_), "n_trials": trials,
                          "elapsed_s": round(elapsed, 3)}, indent=2))
    else:
        print(f"best configuration: {describe_config(model.best_config_)}")
        print(f"best CV {model.metric_}: {model.best_score_:.4f} after {trials} trials "
              f"in {elapsed:.1f} s")
    if args.output:
        import joblib

        joblib.dump(model, args.output)
        print(f"saved the fitted model to {args.output}", file=sys.stderr if args.json else sys.stdout)
    return 0


def _read_model(path: str):
    import joblib

    if not Path(path).is_file():
        raise ModelFileError(f"no model file {path}; write one with: metalearn optimize DATA --output {path}")
    try:
        model = joblib.load(path)  # noqa: S301 - a model file the user saved; the help says so
    except Exception as exc:  # noqa: BLE001 - unpickling raises anything; re-raised as one error
        raise ModelFileError(f"cannot read the model {path}: {type(exc).__name__}: {exc}") from None
    if not isinstance(model, (MetaLearnClassifier, MetaLearnRegressor)):
        raise ModelFileError(f"{path} holds a {type(model).__name__}, not a model saved by metalearn optimize")
    return model


def cmd_predict(args: argparse.Namespace) -> int:
    """``metalearn predict MODEL DATA``: one prediction (or probability row) per row, as CSV."""
    import numpy as np
    import pandas as pd

    if args.output:
        check_output_path(args.output)
    model = _read_model(args.model)
    if args.proba and not hasattr(model, "predict_proba"):
        raise InvalidParameterError("--proba needs a classifier; this model is a regressor")
    frame = read_table(Path(args.data).expanduser())
    names = [str(n) for n in getattr(model, "feature_names_in_", [f"x{i}" for i in range(model.n_features_in_)])]
    for name in set(model.column_plan_.dropped) - set(frame.columns):
        frame[name] = np.nan  # a column the model drops may be absent
    missing = [n for n in names if n not in frame.columns]
    if missing:
        raise ColumnMismatchError(
            f"{args.data} lacks column(s) {', '.join(map(repr, missing[:5]))} the model was fitted on; "
            f"it needs: {', '.join(names[:10])}{' ...' if len(names) > 10 else ''}")
    X = frame[names] if hasattr(model, "feature_names_in_") else frame[names].to_numpy()
    if args.proba:
        out = pd.DataFrame(model.predict_proba(X), columns=[f"proba_{c}" for c in model.classes_])
    else:
        out = pd.DataFrame({"prediction": model.predict(X)})
    out.to_csv(args.output if args.output else sys.stdout, index=False)
    if args.output:
        print(f"wrote {len(out)} predictions to {args.output}", file=sys.stderr)
    return 0


def cmd_few_shot(args: argparse.Namespace) -> int:
    """``metalearn few-shot recommend|predict`` (needs the ``neural`` extra for ``predict``)."""
    task = FewShotTask.from_image_folder(args.folder if args.fs_command == "recommend" else args.support)
    rec = recommend_backbone(task)
    if args.fs_command == "recommend":
        print(json.dumps(rec.to_dict(), indent=2, default=str) if args.json else rec.explain())
        return 0
    import numpy as np

    labels = task.metadata.get("classes") or [str(i) for i in range(int(task.support_y.max()) + 1)]
    if args.queries:
        queries = _query_files(args.queries)
        images = np.stack([read_image(q) for q in queries]).astype(np.float32)
    else:
        queries, images = task.metadata.get("query_files", []), task.query_x
        if not queries:
            raise InvalidDatasetError(f"no query images: put them in {args.support}/query/ or name them after it")
    model = neural.adapt(rec.backbone, task.support_x, task.support_y, recipe=rec.recipe)
    for query, label in zip(queries, model.predict(images)):  # one call: Conv-4 uses the batch's statistics
        print(f"{query}\t{labels[int(label)]}")
    return 0


_QUOTED = re.compile(r"'((?:[^'\\]|\\.)*)'")
_CLI_SPELLING = (
    (re.compile(r"column_types=\{([^}]*)\}"),
     lambda m: " ".join(f"--column-type {shlex.quote(f'{k}={v}')}"
                        for k, v in re.findall(r"'([^']*)':\s*'([^']*)'", m.group(1))) or "--column-type NAME=TYPE"),
    (re.compile(r"column_types="), lambda m: "--column-type NAME=TYPE"),
    (re.compile(r"drop=\[([^\]]*)\]"),
     lambda m: "--drop " + (" ".join(shlex.quote(n) for n in _QUOTED.findall(m.group(1))) or "NAME")),
    (re.compile(r"\b(task|target|metric)=(?:'([^']*)'|([A-Z]+)\b)"),
     lambda m: f"--{m.group(1)} {shlex.quote(m.group(2)) if m.group(2) is not None else m.group(3)}"),
)


def cli_spelling(message: str) -> str:
    """``message`` on one line, with Python keyword fixes (``drop=['a']``) spelled as options (``--drop a``)."""
    text = " ".join(str(message).split())
    for pattern, spell in _CLI_SPELLING:
        text = pattern.sub(spell, text)
    return text


def _show_warning(seen: set):
    """A ``warnings.showwarning`` printing each DataWarning once, on one line, in the CLI's spelling."""
    default = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        if not issubclass(category, DataWarning):
            return default(message, category, filename, lineno, file, line)
        text = cli_spelling(str(message))
        if text not in seen:
            seen.add(text)
            print(f"metalearn: warning: {text}", file=sys.stderr)
        return None

    return show


def _parse(argv: list[str]) -> argparse.Namespace:
    """Parse ``argv``; everything after ``kb build`` (``--help`` included) goes to the builder."""
    ap = parser()
    args, extra = ap.parse_known_args(argv)
    if args.command == "kb" and args.kb_command == "build":
        args.builder_args = extra + list(args.builder_args)
    elif extra:
        ap.error(f"unrecognized arguments: {' '.join(extra)}")
    return args


def _quiet_broken_pipe() -> int:
    """The reader went away (``| head``): stop without a traceback, and without flushing into the pipe."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return EXIT_BROKEN_PIPE


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
    args = _parse(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    commands = {"recommend": cmd_recommend, "kb": cmd_kb, "optimize": cmd_optimize, "predict": cmd_predict,
                "few-shot": cmd_few_shot}
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning(set())
            code = commands[args.command](args)
        sys.stdout.flush()
        return code
    except MetaLearnError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"metalearn: error: {cli_spelling(str(exc))}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        return _quiet_broken_pipe()
    except KeyboardInterrupt:
        print("metalearn: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
