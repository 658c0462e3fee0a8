"""KB source ``lcdb``: family-default runs from the Learning-Curve Database (LCDB 0.1.0, MIT).

LCDB (Mohr et al., 2022) trained 20 scikit-learn classifiers at their defaults on
growing subsamples of 219 OpenML datasets, 5 outer x 5 inner seeds (more on
some datasets). The ``lcdb`` package ships the learning curves as CSV files;
this module reads them at build time only (never at run time, and without
importing ``lcdb``, whose import pulls in unrelated dependencies).

What is imported
----------------
- one run per (dataset, mapped learner): the test score at the learner's largest
  training size on that dataset, averaged over the seeds that reached it
  (``fold_scores`` holds the per-seed scores, ``n_rows_used`` the training size,
  ``fit_time`` the mean training time); ``metric="accuracy"``, ``source="lcdb"``;
- the configuration is our family's default (:meth:`SearchSpace.default`), and only
  for learners that are the same scikit-learn estimator at its defaults
  (:data:`LCDB_LEARNERS`); the other learners are listed in the KB meta;
- datasets without any run of a mapped learner are left out (listed in the KB meta); a name
  shared by several OpenML ids (LCDB holds binarised versions) becomes ``"{openmlid}_{name}"``;
- meta-features are LCDB's OpenML data qualities (``datasets.csv``), kept under
  their OpenML names and only where we compute the same quality
  (:data:`metalearn.metafeatures.OPENML_QUALITIES`), so LCDB datasets and new
  datasets are described by one vocabulary; the other quality columns are
  listed in the KB meta.

Reserved datasets (``reserved.csv``) are dropped by OpenML id or name.
"""

from __future__ import annotations

import importlib.util
import logging
import math
import time
from pathlib import Path

import pandas as pd

from metalearn.exceptions import KnowledgeBaseError
from metalearn.kb._schema import RunRecord, config_row
from metalearn.kb._sources import ReservedList, dataset_family
from metalearn.kb._store import KBStore
from metalearn.metafeatures import OPENML_QUALITIES
from metalearn.space import family_versions, get_space

logger = logging.getLogger(__name__)

LCDB_VERSION = "0.1.0"
SOURCE = "lcdb"
TASK = "classification"
METRIC_FILES = {"accuracy": "database-accuracy.csv"}

#: LCDB learner name -> our family, only where LCDB's model is that family's estimator at scikit-learn
#: defaults. ``GradientBoostingClassifier`` is not our HistGradientBoosting, and the other learners
#: (LDA, QDA, naive Bayes, single trees, other SVC kernels, SGD, ...) have no family.
LCDB_LEARNERS: dict[str, str] = {
    "sklearn.ensemble.RandomForestClassifier": "random_forest",
    "sklearn.ensemble.ExtraTreesClassifier": "extra_trees",
    "sklearn.linear_model.LogisticRegression": "linear",
    "SVC_rbf": "svm",
    "sklearn.neural_network.MLPClassifier": "mlp",
    "sklearn.neighbors.KNeighborsClassifier": "knn",
}

_COLUMNS = ["openmlid", "learner", "size_train", "outer_seed", "inner_seed", "traintime", "score_test"]


def lcdb_dir(path: str | Path | None = None) -> Path:
    """Directory holding LCDB's CSV files: ``path``, or the installed ``lcdb`` package (not imported).

    Raises
    ------
    KnowledgeBaseError
        When no directory is given and ``lcdb`` is not installed, or ``datasets.csv`` is missing.
    """
    if path is None:
        spec = importlib.util.find_spec("lcdb")
        locations = list(spec.submodule_search_locations or []) if spec is not None else []
        if not locations:
            raise KnowledgeBaseError(
                "LCDB is not installed: pip install 'metalearn[bench]' (lcdb==0.1.0) or pass --lcdb-dir"
            )
        path = locations[0]
    directory = Path(path)
    if not (directory / "datasets.csv").is_file():
        raise KnowledgeBaseError(f"{directory} has no datasets.csv: not an LCDB {LCDB_VERSION} directory")
    return directory


def read_lcdb_datasets(directory: Path) -> pd.DataFrame:
    """``datasets.csv``: one row per OpenML dataset (``openmlid``, ``Name`` and OpenML qualities)."""
    frame = pd.read_csv(directory / "datasets.csv")
    missing = {"openmlid", "Name"} - set(frame.columns)
    if missing:
        raise KnowledgeBaseError(f"{directory / 'datasets.csv'} lacks column(s) {sorted(missing)}")
    return frame


def read_lcdb_scores(directory: Path, metric: str = "accuracy", *,
                     chunksize: int = 500_000) -> tuple[pd.DataFrame, list[str]]:
    """Final-anchor scores of the mapped learners, and the names of all learners seen.

    The CSV is read in chunks, with only the needed columns, keeping rows of mapped learners.

    Returns
    -------
    scores : DataFrame
        One row per (``openmlid``, ``learner``): ``size_train`` (the largest), ``scores`` (per seed,
        ordered by outer then inner seed), ``mean_score`` and ``fit_time`` (mean training seconds).
    learners : list of str
        Every learner name in the file (mapped or not).
    """
    if metric not in METRIC_FILES:
        raise KnowledgeBaseError(f"LCDB metric must be one of {sorted(METRIC_FILES)}, not {metric!r}")
    path = directory / METRIC_FILES[metric]
    if not path.is_file():
        raise KnowledgeBaseError(f"no {METRIC_FILES[metric]} in {directory}")
    parts, learners = [], set()
    try:
        reader = pd.read_csv(path, usecols=_COLUMNS, chunksize=chunksize)
        for chunk in reader:
            learners.update(chunk["learner"].unique())
            parts.append(chunk.loc[chunk["learner"].isin(LCDB_LEARNERS)])
    except ValueError as exc:  # missing columns, unparsable numbers
        raise KnowledgeBaseError(f"{path} is not in LCDB's format: {exc}") from exc
    rows = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=_COLUMNS)
    largest = rows.groupby(["openmlid", "learner"])["size_train"].transform("max")
    final = rows.loc[rows["size_train"] == largest].sort_values(["openmlid", "learner", "outer_seed", "inner_seed"])
    scores = (final.groupby(["openmlid", "learner"], sort=True)
              .agg(size_train=("size_train", "first"), scores=("score_test", list),
                   mean_score=("score_test", "mean"), fit_time=("traintime", "mean"))
              .reset_index())
    return scores, sorted(str(name) for name in learners)


def _metafeatures(row: pd.Series, keep: tuple[str, ...]) -> dict[str, float | None]:
    values = {}
    for name in keep:
        value = row.get(name)
        values[name] = None if value is None or pd.isna(value) else float(value)
    return values


def _count(row: pd.Series, column: str, minus: int = 0) -> int | None:
    value = row.get(column)
    return None if value is None or pd.isna(value) else int(value) - minus


def _default_configs(store: KBStore) -> dict[str, str]:
    """Store our family defaults used by LCDB runs; return learner -> config id."""
    space = get_space(TASK)
    ids, rows = {}, []
    for learner, family in LCDB_LEARNERS.items():
        config = space.default(family)
        rows.append(config_row(TASK, config))
        ids[learner] = rows[-1][0]
    store.add_configs(rows)
    return ids


def _store_datasets(store: KBStore, datasets: pd.DataFrame, reserved: ReservedList,
                    keep: tuple[str, ...]) -> tuple[dict[int, int], list[str]]:
    """Add the non-reserved datasets; return openmlid -> KB id, and the reserved names dropped.

    A name shared by several OpenML ids is stored as ``"{openmlid}_{name}"`` for each of them (the
    leading id is ignored by :func:`dataset_family` and :class:`ReservedList`, so copies share a family).
    """
    ids, dropped = {}, []
    repeated = set(datasets["Name"][datasets["Name"].duplicated()])
    for _, row in datasets.iterrows():
        oid, name = int(row["openmlid"]), str(row["Name"])
        if reserved.excludes(name, oid):
            dropped.append(f"{name} ({oid})")
            continue
        if name in repeated:  # several OpenML versions (often binarised copies) share a name
            name = f"{oid}_{name}"
        did = store.add_dataset(
            name=name, source=SOURCE, task=TASK, family=dataset_family(name), openml_id=oid,
            n_rows=_count(row, "NumberOfInstances"), n_features=_count(row, "NumberOfFeatures", minus=1),
            n_classes=_count(row, "NumberOfClasses"),
        )
        store.set_metafeatures(did, _metafeatures(row, keep))
        ids[oid] = did
    return ids, sorted(dropped)


def _runs(scores: pd.DataFrame, dataset_ids: dict[int, int], config_ids: dict[str, str],
          metric: str) -> list[RunRecord]:
    runs = []
    for row in scores.itertuples(index=False):
        did = dataset_ids.get(int(row.openmlid))
        if did is None:
            continue
        mean = float(row.mean_score)
        ok = math.isfinite(mean)
        runs.append(RunRecord(
            did, config_ids[row.learner], metric, tuple(float(s) for s in row.scores), mean,
            float(row.fit_time), "ok" if ok else "failed", SOURCE, error="" if ok else "no finite LCDB score",
            n_rows_used=int(row.size_train), library_versions={"lcdb": LCDB_VERSION},
        ))
    return runs


def import_lcdb(output: str | Path, *, directory: str | Path | None = None, reserved: ReservedList | None = None,
                metric: str = "accuracy", command: str = "") -> dict:
    """Import LCDB's family-default runs and OpenML qualities into a KB file.

    Parameters
    ----------
    output : path
        ``kb.sqlite`` to create or extend (runs already stored are kept; re-running adds nothing).
    directory : path, optional
        Directory with ``datasets.csv`` and ``database-accuracy.csv`` (default: the installed package).
    reserved : ReservedList, optional
        Datasets that must never enter the KB.
    metric : str
        LCDB metric to import (``"accuracy"``).
    command : str
        The command line, recorded in the KB meta.

    Returns
    -------
    dict
        ``datasets`` (kept), ``runs_added``, ``runs_per_family``, ``reserved_dropped``,
        ``unmapped_learners``, ``seconds``.
    """
    start = time.perf_counter()
    reserved = reserved or ReservedList(frozenset(), frozenset())
    root = lcdb_dir(directory)
    datasets = read_lcdb_datasets(root)
    keep = tuple(q for q in OPENML_QUALITIES if q in datasets.columns)
    scores, learners = read_lcdb_scores(root, metric)
    without_runs = sorted(set(datasets["openmlid"].astype(int)) - set(scores["openmlid"].astype(int)))
    datasets = datasets.loc[~datasets["openmlid"].astype(int).isin(without_runs)]
    with KBStore(output, create=True) as store:
        store.record_family_versions(family_versions())
        config_ids = _default_configs(store)
        dataset_ids, dropped = _store_datasets(store, datasets, reserved, keep)
        runs = _runs(scores, dataset_ids, config_ids, metric)
        added = store.add_runs(runs)
        family_of = {cid: LCDB_LEARNERS[learner] for learner, cid in config_ids.items()}
        per_family: dict[str, int] = {}
        for run in runs:
            per_family[family_of[run.config_id]] = per_family.get(family_of[run.config_id], 0) + 1
        summary = {
            "version": LCDB_VERSION, "directory": str(root), "metric": metric, "datasets": len(dataset_ids),
            "runs": len(runs), "runs_per_family": dict(sorted(per_family.items())),
            "mapped_learners": LCDB_LEARNERS,
            "unmapped_learners": [name for name in learners if name not in LCDB_LEARNERS],
            "reserved_file": reserved.path, "reserved_dropped": dropped,
            "datasets_without_mapped_runs": without_runs,
            "metafeatures": "OpenML qualities of datasets.csv that metalearn also computes",
            "qualities_not_stored": sorted(set(datasets.columns) - set(keep) - {"openmlid", "Name"}),
            "build_command": command,
        }
        store.set_meta({"source_lcdb": summary})
    if dropped:
        logger.info("lcdb: dropped %d reserved dataset(s): %s", len(dropped), ", ".join(dropped))
    return {"datasets": len(dataset_ids), "runs_added": added, "runs_per_family": summary["runs_per_family"],
            "reserved_dropped": dropped, "unmapped_learners": summary["unmapped_learners"],
            "seconds": time.perf_counter() - start}
