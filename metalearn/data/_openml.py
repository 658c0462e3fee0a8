"""Datasets from OpenML through the optional ``openml`` package (imported lazily)."""

from __future__ import annotations

import logging

from metalearn.data._dataset import Dataset
from metalearn.data._validation import build_dataset
from metalearn.exceptions import DatasetNotFoundError, DatasetSourceError, InvalidParameterError
from metalearn.utils import import_optional

logger = logging.getLogger(__name__)


def load_openml(dataset_id: int | str, target: str | None = None, task: str | None = None,
                drop: list[str] | None = None, column_types: dict[str, str] | None = None) -> Dataset:
    """Download (or read from openml's cache) dataset ``dataset_id`` and validate it.

    Parameters
    ----------
    dataset_id : int or str
        OpenML dataset id.
    target : str, optional
        Target column; defaults to the dataset's ``default_target_attribute``.
    task : str, optional
        Overrides the inferred task.
    drop : list of str, optional
        Columns to remove; OpenML's ``row_id_attribute`` and
        ``ignore_attribute`` are always removed.
    column_types : dict, optional
        Overrides the decided type of columns (see :func:`metalearn.load_dataset`).

    Examples
    --------
    >>> import metalearn  # doctest: +SKIP
    >>> metalearn.load_dataset("openml:31")  # doctest: +SKIP
    """
    try:
        did = int(dataset_id)
    except (TypeError, ValueError):
        raise InvalidParameterError(f"an OpenML dataset id must be an integer, not {dataset_id!r}") from None
    openml = import_optional("openml", extra="openml")
    try:
        meta = openml.datasets.get_dataset(
            did, download_data=True, download_qualities=False, download_features_meta_data=False
        )
    except openml.exceptions.OpenMLServerException as exc:
        raise DatasetNotFoundError(f"OpenML dataset {did} could not be fetched: {exc}") from None
    except OSError as exc:
        raise DatasetSourceError(f"cannot reach OpenML for dataset {did}: {exc}") from None
    target = target or meta.default_target_attribute
    if not target:
        raise DatasetSourceError(f"OpenML dataset {did} has no default target; pass target=NAME")
    X, y, categorical, names = meta.get_data(target=target)
    ignored = _as_list(meta.ignore_attribute) + _as_list(meta.row_id_attribute)
    hints = {str(n): ("categorical" if c else "numeric") for n, c in zip(names, categorical)}
    X = X.drop(columns=[c for c in ignored if c in X.columns])
    return build_dataset(
        X, y, task=task, name=str(meta.name), source=f"openml:{did}", openml_id=did,
        feature_hints=hints, drop=drop, column_types=column_types,
    )


def _as_list(value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]
