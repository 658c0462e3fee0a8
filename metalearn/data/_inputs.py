"""Checks of raw ``X`` inputs that scikit-learn would otherwise reject with its own ``ValueError``.

The estimators call :func:`check_input` on what ``fit`` and ``predict``
receive, before scikit-learn's validation, so the user reads which input was
wrong and how to fix it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import sparse

from metalearn.data._columns import fmt_names
from metalearn.exceptions import (
    ComplexValuesError,
    EmptyDatasetError,
    InfiniteValuesError,
    NonNumericArrayError,
    SparseInputError,
)

_COMPLEX_FIX = ("metalearn will not drop their imaginary part: pass np.real(X) and np.imag(X), or np.abs(X), "
                "as separate columns")


def _first_non_number(arr: np.ndarray) -> object:
    for value in arr.ravel():
        try:
            float(value)
        except (TypeError, ValueError):
            return value
    return None


def _check_array(arr: np.ndarray) -> None:
    if np.iscomplexobj(arr):
        raise ComplexValuesError(f"Complex data not supported: X holds complex numbers; {_COMPLEX_FIX}")
    if arr.dtype.kind in "USO":
        try:
            arr.astype(float)
        except ValueError:
            raise NonNumericArrayError(
                f"X is an array holding strings such as {_first_non_number(arr)!r}; pass a pandas DataFrame, "
                "whose string columns are treated as categories, dates or text, or encode them as numbers"
            ) from None
        return
    if arr.dtype.kind in "fiub" and arr.ndim == 2 and np.isinf(arr.astype(float, copy=False)).any():
        cols = np.flatnonzero(np.isinf(arr.astype(float, copy=False)).any(axis=0)).tolist()
        raise InfiniteValuesError(
            f"infinite values in column(s) {fmt_names(cols)} of X; replace them with NaN "
            "(np.where(np.isinf(X), np.nan, X)) or clip them")


def check_input(X) -> None:
    """Refuse sparse, complex, empty, non-numeric array or infinite ``X`` with a specific error.

    DataFrames are checked for sparse and complex columns only; the data
    layer decides their columns.

    Raises
    ------
    SparseInputError, ComplexValuesError, EmptyDatasetError, NonNumericArrayError, InfiniteValuesError
    """
    if sparse.issparse(X):
        rows, cols = X.shape
        raise SparseInputError(
            f"X is a sparse matrix ({rows} rows x {cols} columns, {X.nnz} stored values); metalearn's pipelines "
            f"need dense data: pass X.toarray() (about {rows * cols * 8 / 2**20:.0f} MiB) or reduce the columns "
            "first, e.g. with TruncatedSVD")
    if isinstance(X, pd.DataFrame):
        dtypes = list(X.dtypes.items())  # by position: duplicate names are reported later, by as_frame
        sparse_cols = [c for c, dtype in dtypes if isinstance(dtype, pd.SparseDtype)]
        if sparse_cols:
            raise SparseInputError(f"column(s) {fmt_names(sparse_cols)} are sparse; pass X.sparse.to_dense()")
        complex_cols = [c for c, dtype in dtypes if pd.api.types.is_complex_dtype(dtype)]
        if complex_cols:
            raise ComplexValuesError(
                f"Complex data not supported: column(s) {fmt_names(complex_cols)} hold complex numbers; "
                f"{_COMPLEX_FIX}")
        if len(X) == 0:
            raise EmptyDatasetError("X is empty (0 rows)")
        return
    if isinstance(X, pd.Series) or not hasattr(X, "__len__") and not hasattr(X, "shape"):
        return
    try:
        arr = np.asarray(X)
    except ValueError:  # ragged rows: scikit-learn's validation says so
        return
    if arr.ndim >= 1 and arr.shape[0] == 0:
        raise EmptyDatasetError(f"X is empty (0 rows, shape {arr.shape})")
    _check_array(arr)


def check_finite(features: pd.DataFrame, types: Sequence[str]) -> None:
    """Refuse infinite values in the numeric columns of a feature frame (at predict time)."""
    numeric = [c for c, t in zip(features.columns, types) if t in ("numeric", "boolean")]
    bad = [c for c in numeric if np.isinf(features[c].to_numpy(dtype=float)).any()]
    if bad:
        raise InfiniteValuesError(
            f"infinite values in column(s) {fmt_names(bad)}; replace them with NaN "
            "(X.replace([np.inf, -np.inf], np.nan)) or clip them")
