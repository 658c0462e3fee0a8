"""The :class:`Dataset` record every part of metalearn consumes."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
import pandas as pd

from metalearn.data._columns import ColumnPlan, DataWarning
from metalearn.exceptions import GroupsError, InvalidParameterError, InvalidTargetError, SampleWeightError

Task = Literal["classification", "regression"]
FeatureType = Literal["numeric", "categorical", "boolean", "text"]

TASKS: tuple[str, ...] = ("classification", "regression")
FEATURE_TYPES: tuple[str, ...] = ("numeric", "categorical", "boolean", "text")
MAX_CLASSES = 1000


@dataclass(frozen=True, eq=False)
class Dataset:
    """A validated supervised learning problem.

    Build one with :func:`metalearn.load_dataset`; the constructor does no
    validation of its own. The frame ``X`` is a private copy with string
    column names; numeric and boolean columns are ``float64``, categorical and
    text columns are ``object`` with ``NaN`` for missing values.

    Parameters
    ----------
    X : pandas.DataFrame
        Features, one column per feature.
    y : numpy.ndarray
        Target. Labels (any hashable) for classification, ``float64`` for
        regression. Never contains missing values.
    task : {"classification", "regression"}
        The learning task.
    feature_types : tuple of str
        One of ``"numeric"``, ``"categorical"``, ``"boolean"``, ``"text"`` per
        column of ``X``.
    name : str
        Human-readable name.
    source : str
        Where the data came from (path, ``openml:ID``, ``array`` ...).
    openml_id : int or None
        OpenML dataset id, when known.
    notes : tuple of str
        What loading changed, e.g. rows dropped because the target was missing.
    plan : ColumnPlan or None
        What became of each raw column (kept, expanded from dates, dropped),
        and the transformation that turns a raw frame into ``X``; None when
        the dataset was built by hand.
    sample_weight : numpy.ndarray or None
        Per-row weights: every pipeline's model is fitted with them and the
        metrics weight the rows (see :meth:`with_weights`).
    groups : numpy.ndarray or None
        Per-row group labels: cross-validation never splits a group across
        training and test rows.

    Examples
    --------
    >>> import metalearn
    >>> ds = metalearn.load_dataset(([[0.0, 1.0], [1.0, 0.0], [0.5, 0.5]] * 5, [0, 1, 0] * 5))
    >>> ds.task, ds.n_rows, ds.n_features
    ('classification', 15, 2)
    """

    X: pd.DataFrame
    y: np.ndarray
    task: Task
    feature_types: tuple[str, ...]
    name: str = "dataset"
    source: str = "array"
    openml_id: int | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)
    plan: ColumnPlan | None = None
    sample_weight: np.ndarray | None = None
    groups: np.ndarray | None = None

    @property
    def n_rows(self) -> int:
        """Number of rows."""
        return int(self.X.shape[0])

    @property
    def n_features(self) -> int:
        """Number of feature columns."""
        return int(self.X.shape[1])

    @property
    def feature_names(self) -> tuple[str, ...]:
        """Column names of ``X``."""
        return tuple(str(c) for c in self.X.columns)

    @property
    def classes(self) -> np.ndarray:
        """Sorted class labels (empty for regression)."""
        if self.task != "classification":
            return np.empty(0)
        return np.unique(self.y)

    @property
    def class_counts(self) -> dict:
        """Mapping class label -> number of rows (empty for regression)."""
        if self.task != "classification":
            return {}
        labels, counts = np.unique(self.y, return_counts=True)
        return {label: int(c) for label, c in zip(labels.tolist(), counts)}

    @property
    def n_classes(self) -> int:
        """Number of classes (0 for regression)."""
        return len(self.class_counts)

    @property
    def n_missing(self) -> int:
        """Number of missing feature cells."""
        return int(self.X.isna().to_numpy().sum())

    def columns_of_type(self, *types: str) -> list[str]:
        """Names of the columns whose feature type is one of ``types``."""
        return [c for c, t in zip(self.feature_names, self.feature_types) if t in types]

    def with_task(self, task: Task) -> Dataset:
        """Return a copy with another task (the target is re-checked)."""
        y = validate_target(pd.Series(self.y), task)
        return replace(self, task=task, y=y)

    def subsample(self, max_rows: int, random_state: int | None = 0) -> Dataset:
        """Return at most ``max_rows`` rows, stratified for classification.

        Every class keeps at least ``min(count, 2)`` rows so cross-validation
        still sees it. Returns ``self`` when already small enough.
        """
        if self.n_rows <= max_rows:
            return self
        idx = subsample_indices(self.y, self.task, max_rows, random_state)
        return replace(
            self,
            X=self.X.iloc[idx].reset_index(drop=True),
            y=self.y[idx],
            notes=self.notes + (f"subsampled {self.n_rows} -> {len(idx)} rows",),
            sample_weight=None if self.sample_weight is None else self.sample_weight[idx],
            groups=None if self.groups is None else self.groups[idx],
        )

    def with_weights(self, sample_weight=None, groups=None) -> Dataset:
        """A copy carrying per-row ``sample_weight`` and ``groups`` (each checked: one value per row).

        Raises
        ------
        SampleWeightError
            Weights that are not finite, non-negative numbers, or all zero.
        GroupsError
            Group labels with missing values.

        Examples
        --------
        >>> import metalearn
        >>> ds = metalearn.load_dataset(([[float(i)] for i in range(8)], [0, 1] * 4))
        >>> sub = ds.with_weights(range(8), groups=list("aabbccdd")).subsample(4, random_state=0)
        >>> len(sub.sample_weight), len(sub.groups)
        (4, 4)
        """
        weights = None if sample_weight is None else _row_weights(sample_weight, self.n_rows)
        labels = None if groups is None else _row_groups(groups, self.n_rows)
        return replace(self, sample_weight=weights, groups=labels)

    def describe(self) -> str:
        """A readable summary: the task, the target, and what was decided for every column.

        Examples
        --------
        >>> import pandas as pd, metalearn
        >>> df = pd.DataFrame({"when": ["2024-01-0%d" % (i % 9 + 1) for i in range(40)],
        ...                    "size": [float(i % 7) for i in range(40)], "y": [0, 1] * 20})
        >>> print(metalearn.load_dataset(df, target="y").describe())  # doctest: +NORMALIZE_WHITESPACE
        Dataset 'dataframe' (dataframe): classification, 40 rows, 2 classes (0: 20, 1: 20)
        6 features from 2 columns:
          when  datetime     strings parsed as dates (%Y-%m-%d) -> when_year, when_month, when_day,
          when_dayofweek, when_elapsed_days
          size  numeric      numbers (float64)
        notes: task inferred as classification
        """
        if self.task == "classification":
            counts = ", ".join(f"{k}: {v}" for k, v in list(self.class_counts.items())[:10])
            target = f"{self.n_classes} classes ({counts}{', ...' if self.n_classes > 10 else ''})"
        else:
            target = f"target from {float(np.min(self.y)):.4g} to {float(np.max(self.y)):.4g}"
        lines = [f"Dataset {self.name!r} ({self.source}): {self.task}, {self.n_rows} rows, {target}"]
        missing = f"; {self.n_missing} missing cells" if self.n_missing else ""
        if self.plan is not None:
            lines.append(f"{self.n_features} features from {len(self.plan.decisions)} columns{missing}:")
            lines.extend("  " + line for line in self.plan.describe())
        else:
            kinds = pd.Series(self.feature_types).value_counts().to_dict()
            lines.append(f"{self.n_features} features ({', '.join(f'{v} {k}' for k, v in kinds.items())}){missing}")
        if self.notes:
            lines.append("notes: " + "; ".join(self.notes))
        return "\n".join(lines)

    def __repr__(self) -> str:
        extra = f", classes={self.n_classes}" if self.task == "classification" else ""
        return (
            f"Dataset(name={self.name!r}, task={self.task!r}, rows={self.n_rows}, "
            f"features={self.n_features}{extra}, missing={self.n_missing})"
        )


def _row_weights(sample_weight, n_rows: int) -> np.ndarray:
    """``sample_weight`` as a float array of ``n_rows`` finite, non-negative values, not all zero."""
    try:
        weights = np.asarray(sample_weight, dtype=float)
    except (TypeError, ValueError):
        raise SampleWeightError("sample_weight must be numbers, one per row of X") from None
    if weights.ndim != 1 or len(weights) != n_rows:
        raise SampleWeightError(f"sample_weight has shape {weights.shape}; pass one weight per row of X "
                                f"({n_rows},)")
    if not np.all(np.isfinite(weights)) or np.any(weights < 0) or not np.any(weights > 0):
        raise SampleWeightError("sample_weight must be finite, non-negative and not all zero; fix or drop those "
                                "rows' weights")
    return weights


def _row_groups(groups, n_rows: int) -> np.ndarray:
    """``groups`` as an array of ``n_rows`` labels without missing values."""
    labels = np.asarray(groups)
    if labels.ndim != 1 or len(labels) != n_rows:
        raise GroupsError(f"groups has shape {labels.shape}; pass one group label per row of X ({n_rows},)")
    if pd.isna(labels).any():
        raise GroupsError(f"groups has {int(pd.isna(labels).sum())} missing labels; give every row a group")
    return labels


def subsample_indices(y: np.ndarray, task: str, max_rows: int, random_state: int | None) -> np.ndarray:
    """Sorted row indices of a (stratified) subsample of size about ``max_rows``.

    For classification each class gets a share proportional to its frequency
    but never fewer than ``min(count, 2)`` rows.
    """
    rng = np.random.default_rng(random_state)
    n = len(y)
    if task != "classification":
        return np.sort(rng.choice(n, size=max_rows, replace=False))
    labels, inverse = np.unique(y, return_inverse=True)
    chosen = []
    for k in range(len(labels)):
        members = np.flatnonzero(inverse == k)
        take = max(min(len(members), 2), int(round(max_rows * len(members) / n)))
        chosen.append(rng.choice(members, size=min(take, len(members)), replace=False))
    return np.sort(np.concatenate(chosen))


def validate_target(y: pd.Series, task: str) -> np.ndarray:
    """Check a (missing-free) target for ``task`` and return it as an array."""
    if task not in TASKS:
        raise InvalidParameterError(f"task must be 'classification' or 'regression', not {task!r}")
    if task == "regression":
        if not pd.api.types.is_numeric_dtype(y):
            numeric = pd.to_numeric(y, errors="coerce")
            bad = y[numeric.isna()].astype(str).unique()[:3].tolist()
            raise InvalidTargetError(
                f"regression target must be numeric, but it holds strings such as {bad}; "
                "convert it to numbers, or use task='classification'"
            )
        values = y.to_numpy(dtype=float)
        if not np.all(np.isfinite(values)):
            raise InvalidTargetError("regression target holds infinite values; remove or clip those rows")
        return values
    kinds = {type(v) for v in y.tolist()}
    if len(kinds) > 1 and not all(issubclass(k, (int, float, np.number, bool)) for k in kinds):
        raise InvalidTargetError(
            f"class labels mix types ({', '.join(sorted(k.__name__ for k in kinds))}); "
            "convert them to one type, e.g. y.astype(str)"
        )
    values = y.to_numpy()
    if values.dtype == object and kinds and all(issubclass(k, str) for k in kinds):
        values = values.astype(str)
    if values.dtype.kind == "f" and np.any(values != np.round(values)):
        example = values[values != np.round(values)][0]
        raise InvalidTargetError(
            "classification labels must be discrete, but the target holds fractional numbers such as "
            f"{float(example)!r}; if it is a numeric quantity use task='regression'"
        )
    counts = np.unique(values, return_counts=True)[1]
    n_classes = len(counts)
    if n_classes < 2:
        raise InvalidTargetError(
            f"the target has only 1 class ({values[0]!r}); classification needs at least two"
        )
    if n_classes > MAX_CLASSES:
        raise InvalidTargetError(
            f"the target has {n_classes} classes, more than the {MAX_CLASSES} metalearn supports; "
            "if it is a numeric quantity use task='regression'"
        )
    rare = int(np.sum(counts < 3))
    if rare > n_classes / 2:
        warnings.warn(
            f"{rare} of the target's {n_classes} classes have fewer than 3 rows, too few to learn or "
            "cross-validate; if the target is a numeric quantity use task='regression'",
            DataWarning, stacklevel=4)
    return values
