"""Datasets: loading from every supported source, validation, task inference."""

from metalearn.data._columns import ColumnDecision, ColumnPlan
from metalearn.data._dataset import FEATURE_TYPES, TASKS, Dataset, subsample_indices
from metalearn.data._sources import load_dataset, load_pmlb, load_sklearn, pmlb_manifest, read_table
from metalearn.data._validation import DataWarning, infer_task

__all__ = [
    "ColumnDecision",
    "ColumnPlan",
    "Dataset",
    "DataWarning",
    "FEATURE_TYPES",
    "TASKS",
    "infer_task",
    "load_dataset",
    "load_pmlb",
    "load_sklearn",
    "pmlb_manifest",
    "read_table",
    "subsample_indices",
]
