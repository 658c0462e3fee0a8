"""The recommender artifact of a KB directory: JSON plus ``.npz`` arrays, never a pickle.

``recommender.json`` records the format, the versions it was written with,
the sha256 of the ``kb.sqlite`` it was fitted on, and per task the auto
strategy's choices (meta-feature set, recipe, inner-CV regrets, model
parameters) with the dataset and configuration ids it saw.
``recommender.npz`` holds the performance model's trees
(:class:`~metalearn.recommend._forest.ArrayForest`) and the global means.
The task context itself is rebuilt from the KB, which is cheap; only the
selection and the forest, which are not, are stored.

Both files are read from bytes with ``json.loads`` and
``np.load(..., allow_pickle=False)``, and every value is type-checked, so a
hostile artifact can at worst raise
:class:`~metalearn.exceptions.KnowledgeBaseIntegrityError`. The library
versions are informational: the forest is plain arrays, so an artifact
loads under any scikit-learn and numpy version.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
import sklearn

from metalearn._version import __version__
from metalearn.exceptions import InvalidParameterError, KnowledgeBaseError, KnowledgeBaseIntegrityError
from metalearn.kb import ARTIFACT_FILES
from metalearn.recommend._auto import AutoStrategy, AutoVariant
from metalearn.recommend._base import Strategy
from metalearn.recommend._context import TaskContext
from metalearn.recommend._forest import FIELDS, ArrayForest
from metalearn.recommend._model import PerformanceModel
from metalearn.space import SPACE_VERSION

#: The artifact's files in a KB directory (each listed in its manifest): JSON header, then arrays.
ARTIFACT_JSON, ARTIFACT_ARRAYS = ARTIFACT_FILES
#: Bump when the stored state changes meaning: older artifacts are then refitted.
ARTIFACT_FORMAT = 7


def artifact_payload(strategies: dict[str, AutoStrategy], *, min_coverage: float, params: dict,
                     kb_sha256: str | None) -> tuple[dict, dict[str, np.ndarray]]:
    """The JSON header and the arrays describing fitted auto strategies, one per task."""
    header: dict = {
        "format": ARTIFACT_FORMAT, "space_version": SPACE_VERSION, "strategy": "auto",
        "library_versions": {"metalearn": __version__, "scikit-learn": sklearn.__version__,
                             "numpy": np.__version__, "pandas": pd.__version__},
        "min_coverage": min_coverage, "params": params, "kb_sha256": kb_sha256, "tasks": {},
    }
    arrays: dict[str, np.ndarray] = {}
    for task, strat in strategies.items():
        if not isinstance(strat, AutoStrategy) or not isinstance(strat.model_, PerformanceModel):
            raise InvalidParameterError("only the auto strategy with its own performance model can be saved")
        header["tasks"][task] = {
            "feature_set": strat.feature_set_, "variant": asdict(strat.variant_),
            "selection": {str(i): {str(k): float(v) for k, v in r.items()} for i, r in strat.selection_.items()},
            "feature_selection": {k: float(v) for k, v in strat.feature_selection_.items()},
            "model_params": strat.model_.params(), "dataset_ids": [int(i) for i in strat.ctx_.dataset_ids],
            "config_ids": list(strat.ctx_.config_ids), "features": list(strat.ctx_.scaler.names),
        }
        for name, value in strat.model_.forest_.arrays().items():
            arrays[f"{task}.forest.{name}"] = value
        arrays[f"{task}.global_mean"] = np.asarray(strat.global_mean_, dtype=np.float64)
    return header, arrays


def write_artifact(path: str | Path, header: dict, arrays: dict[str, np.ndarray]) -> tuple[Path, Path]:
    """Write ``path`` (JSON) and the ``.npz`` beside it; returns both paths."""
    path = Path(path)
    npz = path.with_suffix(".npz")
    path.write_text(json.dumps(header, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    npz.write_bytes(buf.getvalue())
    return path, npz


def read_artifact(json_bytes: bytes, npz_bytes: bytes, source: str) -> tuple[dict, dict[str, np.ndarray]]:
    """Parse an artifact's two files from their bytes; checks the header's shape, not its compatibility."""
    try:
        header = json.loads(json_bytes.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise KnowledgeBaseIntegrityError(f"{source} is not valid JSON ({exc})") from None
    if not isinstance(header, dict) or not isinstance(header.get("tasks"), dict):
        raise KnowledgeBaseIntegrityError(f"{source} is not a recommender artifact (no 'tasks' object)")
    try:
        with np.load(io.BytesIO(npz_bytes), allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (ValueError, OSError, EOFError, KeyError, zipfile.BadZipFile) as exc:
        raise KnowledgeBaseIntegrityError(f"the arrays of {source} cannot be read as plain data ({exc})") from None
    return header, arrays


def check_compatible(header: dict, source: str, kb_sha256: str | None) -> None:
    """Raise :class:`KnowledgeBaseError` (refit) when the artifact is of another format, space or KB."""
    found = (header.get("format"), header.get("space_version"))
    if found != (ARTIFACT_FORMAT, SPACE_VERSION):
        raise KnowledgeBaseError(f"{source} is format/space {found}; this metalearn needs "
                                 f"{(ARTIFACT_FORMAT, SPACE_VERSION)}")
    if kb_sha256 is not None and header.get("kb_sha256") != kb_sha256:
        raise KnowledgeBaseError(f"{source} was fitted on another kb.sqlite than the one beside it")


def restore_strategy(ctx: TaskContext, state: object, arrays: dict[str, np.ndarray], source: str) -> AutoStrategy:
    """The auto strategy fitted earlier on ``ctx``, rebuilt from its stored state without refitting.

    Raises :class:`KnowledgeBaseIntegrityError` for malformed state and
    :class:`KnowledgeBaseError` when ``ctx`` is not the context it was fitted on.
    """
    task = ctx.task
    try:
        if not isinstance(state, dict):
            raise TypeError("task state is not an object")
        if f"{task}.global_weights" in arrays:  # family-balanced global parts: this version has plain means only
            raise KnowledgeBaseError(f"{source} was fitted with family-balanced weights, which this metalearn "
                                     "no longer has")
        strat = AutoStrategy()
        Strategy.fit(strat, ctx)  # records the context, fits nothing
        contexts = dict(strat._feature_contexts(ctx))
        name = str(state["feature_set"])
        if name not in contexts:
            raise KnowledgeBaseError(f"{source}: feature set {name!r} does not exist in this KB's {task} context")
        sub = contexts[name]
        if (list(map(int, sub.dataset_ids)) != list(state["dataset_ids"]) or list(sub.config_ids) != list(
                state["config_ids"]) or list(sub.scaler.names) != list(state["features"])):
            raise KnowledgeBaseError(f"{source} was fitted on other {task} datasets, configs or meta-features")
        variant = AutoVariant(**{k: v for k, v in dict(state["variant"]).items()})
        forest = ArrayForest.from_arrays({f: arrays.get(f"{task}.forest.{f}") for f in (*FIELDS, "n_features")
                                          if f"{task}.forest.{f}" in arrays}, source)
        model = PerformanceModel.from_forest(sub, forest, dict(state["model_params"]))
        global_mean = _vector(arrays, f"{task}.global_mean", len(sub.config_ids), source)
        selection = {int(i): {int(k): float(v) for k, v in dict(r).items()}
                     for i, r in dict(state["selection"]).items()}
        feature_selection = {str(k): float(v) for k, v in dict(state["feature_selection"]).items()}
    except (TypeError, ValueError, KeyError, InvalidParameterError) as exc:
        raise KnowledgeBaseIntegrityError(f"{source} holds a malformed {task} state ({exc})") from None
    strat.feature_set_, strat.ctx_, strat.variant_ = name, sub, variant
    strat.selection_, strat.feature_selection_ = selection, feature_selection
    strat.model_, strat.global_mean_ = model, global_mean
    return strat


def _vector(arrays: dict[str, np.ndarray], key: str, length: int, source: str) -> np.ndarray:
    value = arrays.get(key)
    if (not isinstance(value, np.ndarray) or not np.issubdtype(value.dtype, np.floating)
            or value.shape != (length,)):
        raise KnowledgeBaseIntegrityError(f"{source}: array {key!r} is missing or has the wrong type or shape")
    return value.astype(np.float64)
