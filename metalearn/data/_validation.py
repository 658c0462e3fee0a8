"""Turn user input into a validated :class:`Dataset`, with readable errors.

Policies (documented in the README):

- Rows whose target is missing are dropped with a :class:`DataWarning` that
  says how many; a target that is entirely missing is an error.
- What each column is (numbers, booleans, categories, free text, dates,
  identifiers to drop) is decided by :mod:`metalearn.data._columns`; the user
  can override any decision (``drop=``, ``column_types=``).
- Infinite feature values, object columns that mix Python types, complex
  numbers, duplicate or mixed-type column names and tables whose features are
  all constant are errors: metalearn will not guess what they mean. The message
  names the columns and the fix; problems in several columns come in one error.
- The caller's objects are never modified: everything is copied first.
"""

from __future__ import annotations

import difflib
import logging
import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from metalearn.data._columns import DataWarning, fmt_names, plan_columns
from metalearn.data._dataset import Dataset, validate_target
from metalearn.exceptions import (
    ColumnNamesError,
    ConstantFeaturesError,
    DuplicateColumnsError,
    EmptyDatasetError,
    InvalidParameterError,
    InvalidTargetError,
    LengthMismatchError,
    NoFeaturesError,
    TargetNotFoundError,
    TooFewRowsError,
)

logger = logging.getLogger(__name__)

MIN_ROWS = 2
__all__ = ["DataWarning", "as_frame", "build_dataset", "check_target_fits", "infer_task", "split_target",
           "validate_target"]
_fmt = fmt_names


def as_frame(X: object) -> pd.DataFrame:
    """Copy ``X`` (DataFrame, array, list of rows) into a DataFrame with string column names."""
    if isinstance(X, pd.DataFrame):
        frame = X.copy(deep=True)
        names = list(frame.columns)
        kinds = {isinstance(c, str) for c in names}
        if len(kinds) > 1:
            bad = [c for c in names if not isinstance(c, str)]
            raise ColumnNamesError(
                f"column names mix strings and non-strings (non-string: {_fmt(bad)}); "
                "rename them so all are strings, e.g. X.columns = X.columns.astype(str)"
            )
        frame.columns = [str(c) for c in names]
    elif isinstance(X, pd.Series):
        frame = X.to_frame(name=str(X.name) if X.name is not None else "x0").copy()
    else:
        try:
            arr = np.asarray(X)
        except ValueError as exc:
            raise InvalidParameterError(f"X cannot be read as a table: {exc}") from None
        if arr.ndim == 1:
            arr = arr.reshape(-1, 1)
        if arr.ndim != 2:
            raise InvalidParameterError(f"X must be 2-dimensional (rows x features); got shape {arr.shape}")
        frame = pd.DataFrame(arr.copy(), columns=[f"x{i}" for i in range(arr.shape[1])])
    dupes = sorted({c for c in frame.columns if list(frame.columns).count(c) > 1})
    if dupes:
        raise DuplicateColumnsError(f"duplicate column names: {_fmt(dupes)}; every column needs a unique name")
    return frame


#: column names suggested when no target is given (case-insensitive)
USUAL_TARGET_NAMES = ("target", "class", "label", "y")


def check_target_fits(y, n_rows: int) -> None:
    """Refuse a target that is not one value for each of ``n_rows`` rows, or no rows at all.

    A one-column 2-D ``y`` counts as one-dimensional (it is ravelled).

    Raises
    ------
    InvalidParameterError, LengthMismatchError, EmptyDatasetError
    """
    shape = None if y is None else y.shape if hasattr(y, "shape") else np.asarray(y).shape
    if shape is None or not (len(shape) == 1 or (len(shape) == 2 and shape[1] == 1)):
        raise InvalidParameterError(f"y must be one-dimensional (one target per row); got shape {shape}")
    if shape[0] != n_rows:
        raise LengthMismatchError(f"X has {n_rows} rows but y has {shape[0]}; they must match")
    if n_rows == 0:
        raise EmptyDatasetError("the dataset is empty (0 rows)")


def split_target(frame: pd.DataFrame, target: str | None) -> tuple[pd.DataFrame, pd.Series]:
    """Split ``frame`` into features and the ``target`` column, suggesting close names."""
    if target is None:
        usual = [c for c in frame.columns if str(c).lower() in USUAL_TARGET_NAMES]
        hint = f"did you mean target={usual[0]!r}? " if usual else ""
        raise TargetNotFoundError(
            f"no target column given; {hint}pass target=NAME; columns are: "
            f"{_fmt(list(frame.columns), 10)}"
        )
    if target not in frame.columns:
        close = difflib.get_close_matches(str(target), [str(c) for c in frame.columns], n=1, cutoff=0.5)
        hint = f"; did you mean {close[0]!r}?" if close else f"; columns are: {_fmt(list(frame.columns), 10)}"
        raise TargetNotFoundError(f"target column {target!r} not found{hint}")
    return frame.drop(columns=[target]), frame[target].copy()


def _is_missing(values: pd.Series) -> np.ndarray:
    return values.isna().to_numpy()


def infer_task(y: pd.Series) -> str:
    """Guess the task from the target values.

    Strings, booleans and categories are classification; non-integer numbers
    are regression; integer numbers are classification when they take few
    distinct values (at most 20 and at most a tenth of the rows, or two).
    """
    if not pd.api.types.is_numeric_dtype(y) or pd.api.types.is_bool_dtype(y):
        return "classification"
    values = y.to_numpy(dtype=float)
    if not np.all(np.isfinite(values)) or np.any(values != np.round(values)):
        return "regression"
    n_unique = len(np.unique(values))
    if n_unique <= 2 or n_unique <= min(20, max(2, len(values) // 10)):
        return "classification"
    return "regression"


def _drop_missing_target(X: pd.DataFrame, y: pd.Series, notes: list[str]) -> tuple[pd.DataFrame, pd.Series]:
    missing = _is_missing(y)
    if missing.all():
        raise InvalidTargetError("every value of the target is missing (NaN); nothing to learn from")
    if missing.any():
        msg = f"dropped {int(missing.sum())} of {len(y)} rows whose target is missing"
        warnings.warn(msg, DataWarning, stacklevel=4)
        notes.append(msg)
        keep = ~missing
        X, y = X.loc[keep].reset_index(drop=True), y.loc[keep].reset_index(drop=True)
    return X, y


def _check_constant(frame: pd.DataFrame) -> None:
    if all(frame[c].nunique(dropna=False) <= 1 for c in frame.columns):
        raise ConstantFeaturesError(
            f"all {frame.shape[1]} feature column(s) are constant; there is nothing to learn from"
        )


def _infer_task(target: pd.Series, name: str, notes: list[str]) -> str:
    """:func:`infer_task`, with a :class:`DataWarning` when integer labels are taken as a quantity."""
    task = infer_task(target)
    notes.append(f"task inferred as {task}")
    logger.info("%s: task inferred as %s", name, task)
    if task == "regression" and pd.api.types.is_integer_dtype(target):
        n_unique = int(target.nunique())
        warnings.warn(
            f"the target holds {n_unique} distinct integers, so it is taken as a quantity (regression); "
            "if they are class labels pass task='classification'", DataWarning, stacklevel=5)
    return task


def build_dataset(
    X: object,
    y: object,
    *,
    task: str | None = None,
    name: str = "dataset",
    source: str = "array",
    openml_id: int | None = None,
    feature_hints: Mapping[str, str] | None = None,
    drop: Sequence[str] | None = None,
    column_types: Mapping[str, str] | None = None,
) -> Dataset:
    """Validate features and target and assemble a :class:`Dataset`.

    ``drop`` and ``column_types`` override the decisions of
    :func:`metalearn.data._columns.plan_columns` (``column_types`` maps a
    column to ``numeric``, ``categorical``, ``boolean``, ``text``,
    ``datetime`` or ``drop``); the plan is kept as ``Dataset.plan``.

    Raises a subclass of :class:`metalearn.exceptions.InvalidDatasetError`
    describing the problem when the data cannot be used.
    """
    notes: list[str] = []
    frame = as_frame(X)
    check_target_fits(y, len(frame))
    target = y.copy() if isinstance(y, pd.Series) else pd.Series(np.asarray(y).ravel().copy())
    if frame.shape[1] == 0:
        raise NoFeaturesError("the dataset has no feature columns besides the target")
    frame, target = frame.reset_index(drop=True), target.reset_index(drop=True)
    frame, target = _drop_missing_target(frame, target, notes)
    if len(frame) < MIN_ROWS:
        raise TooFewRowsError(
            f"the dataset has {len(frame)} row (1 sample); at least {MIN_ROWS} are needed, "
            "and cross-validation needs many more"
        )
    task = _infer_task(target, name, notes) if task is None else task
    y_arr = validate_target(target, task)
    plan = plan_columns(frame, hints=feature_hints, column_types=column_types, drop=drop)
    if not plan.feature_names:
        raise NoFeaturesError(
            f"no feature column is left: {_fmt(plan.dropped)} dropped; keep one with "
            f"column_types={{{plan.dropped[0]!r}: 'numeric'}}")
    features = plan.transform(frame)
    _check_constant(features)
    return Dataset(
        X=features, y=y_arr, task=task, feature_types=plan.feature_types, name=name, source=source,
        openml_id=openml_id, notes=tuple(notes), plan=plan,
    )
