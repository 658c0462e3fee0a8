"""Shared intermediates, computed lazily and at most once per extraction.

An :class:`ExtractionContext` wraps one dataset. ``ctx.get(name)`` computes the
intermediate ``name`` with the function registered under that name in
:data:`INTERMEDIATES` (which may itself ``get`` other intermediates), stores
the result on the context and returns it. Nothing is cached at module level:
a new context starts empty. An intermediate that is undefined for the dataset
raises :class:`UndefinedMetaFeature`; the failure is memoised too, so every
feature that needs it records the same reason.

Row and column caps (the cost bound) are module constants here and documented
in :mod:`metalearn.metafeatures`.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from metalearn.data import Dataset
from metalearn.metafeatures._registry import UndefinedMetaFeature

#: Per-column statistics (moments, quartiles, entropies) use at most this many rows ...
MAX_ROWS_COLUMN_STATS = 100_000
#: ... and at most this many cells (rows x columns), never fewer than 5,000 rows.
MAX_CELLS_COLUMN_STATS = 10_000_000
MIN_ROWS_COLUMN_STATS = 5_000
#: At most this many numeric (and this many nominal) columns are summarised.
MAX_COLUMNS = 1_000
#: Matrix statistics (correlation, covariance, eigenvalues, PCA) use at most this many rows and columns.
MAX_ROWS_MATRIX = 20_000
MAX_COLUMNS_MATRIX = 200

NOMINAL_TYPES = ("categorical", "boolean", "text")

IntermediateFunc = Callable[["ExtractionContext"], Any]
INTERMEDIATES: dict[str, IntermediateFunc] = {}


def intermediate(name: str) -> Callable[[IntermediateFunc], IntermediateFunc]:
    """Register the decorated ``func(ctx)`` as the shared intermediate ``name``."""

    def decorate(func: IntermediateFunc) -> IntermediateFunc:
        if name in INTERMEDIATES:
            raise ValueError(f"intermediate {name!r} is registered twice")
        INTERMEDIATES[name] = func
        return func

    return decorate


class ExtractionContext:
    """Lazy, memoised shared intermediates of one extraction.

    Parameters
    ----------
    dataset : Dataset
        The validated dataset.
    seed : int
        Base seed; every sampling intermediate derives its own generator from
        it and its name, so results do not depend on the order of computation.
    """

    def __init__(self, dataset: Dataset, seed: int) -> None:
        self.dataset = dataset
        self.seed = int(seed)
        self.timings: dict[str, float] = {}
        self._values: dict[str, Any] = {}
        self._errors: dict[str, UndefinedMetaFeature] = {}

    def get(self, name: str) -> Any:
        """Return intermediate ``name``, computing it on first use."""
        if name in self._values:
            return self._values[name]
        if name in self._errors:
            raise self._errors[name]
        if name not in INTERMEDIATES:
            raise KeyError(f"unknown intermediate {name!r}; known: {sorted(INTERMEDIATES)}")
        start = time.perf_counter()
        try:
            value = INTERMEDIATES[name](self)
        except UndefinedMetaFeature as exc:
            self._errors[name] = exc
            raise
        finally:
            self.timings[name] = time.perf_counter() - start
        self._values[name] = value
        return value

    def computed(self) -> tuple[str, ...]:
        """Names of the intermediates computed so far (successfully or not)."""
        return tuple(self._values) + tuple(self._errors)

    def rng(self, name: str) -> np.random.Generator:
        """A generator for intermediate ``name``, independent of computation order."""
        return np.random.default_rng([self.seed, zlib.crc32(name.encode())])


# ---------------------------------------------------------------- helpers


def entropy_of_codes(codes: np.ndarray) -> float:
    """Shannon entropy (bits) of non-negative integer codes; negative codes are missing."""
    codes = codes[codes >= 0]
    if codes.size == 0:
        return float("nan")
    counts = np.bincount(codes)
    p = counts[counts > 0] / codes.size
    return float(-(p * np.log2(p)).sum())


def column_means(matrix: np.ndarray) -> np.ndarray:
    """Per-column mean ignoring NaN; 0 for an all-missing column (no warning)."""
    present = ~np.isnan(matrix)
    sums = np.where(present, matrix, 0.0).sum(axis=0)
    counts = present.sum(axis=0)
    return np.divide(sums, counts, out=np.zeros_like(sums), where=counts > 0)


def sample_columns(names: list[str], limit: int, rng: np.random.Generator) -> list[str]:
    """``names`` when at most ``limit``, else a random subset of ``limit`` in original order."""
    if len(names) <= limit:
        return names
    keep = np.sort(rng.choice(len(names), size=limit, replace=False))
    return [names[i] for i in keep]


def sample_rows(n_rows: int, limit: int, rng: np.random.Generator) -> np.ndarray | None:
    """Sorted random row indices when ``n_rows > limit``, else ``None`` (all rows)."""
    if n_rows <= limit:
        return None
    return np.sort(rng.choice(n_rows, size=limit, replace=False))


def _take(frame: pd.DataFrame, rows: np.ndarray | None) -> pd.DataFrame:
    return frame if rows is None else frame.iloc[rows]


# ---------------------------------------------------------------- shared intermediates


@intermediate("numeric_columns")
def _numeric_columns(ctx: ExtractionContext) -> list[str]:
    names = ctx.dataset.columns_of_type("numeric")
    return sample_columns(names, MAX_COLUMNS, ctx.rng("numeric_columns"))


@intermediate("nominal_columns")
def _nominal_columns(ctx: ExtractionContext) -> list[str]:
    names = ctx.dataset.columns_of_type(*NOMINAL_TYPES)
    return sample_columns(names, MAX_COLUMNS, ctx.rng("nominal_columns"))


@intermediate("stats_rows")
def _stats_rows(ctx: ExtractionContext) -> np.ndarray | None:
    width = max(1, len(ctx.get("numeric_columns")) + len(ctx.get("nominal_columns")))
    limit = min(MAX_ROWS_COLUMN_STATS, max(MIN_ROWS_COLUMN_STATS, MAX_CELLS_COLUMN_STATS // width))
    return sample_rows(ctx.dataset.n_rows, limit, ctx.rng("stats_rows"))


@intermediate("numeric_matrix")
def _numeric_matrix(ctx: ExtractionContext) -> np.ndarray:
    cols = ctx.get("numeric_columns")
    if not cols:
        raise UndefinedMetaFeature("no numeric features")
    return _take(ctx.dataset.X[cols], ctx.get("stats_rows")).to_numpy(dtype=float)


@intermediate("sorted_numeric")
def _sorted_numeric(ctx: ExtractionContext) -> tuple[np.ndarray, np.ndarray]:
    """Each numeric column sorted (missing values last) and its count of present values."""
    x = ctx.get("numeric_matrix")
    return np.sort(x, axis=0), (~np.isnan(x)).sum(axis=0)


def column_quantiles(ctx: ExtractionContext, qs: np.ndarray) -> np.ndarray:
    """Quantiles ``qs`` (rows) of every numeric column, linear interpolation, missing values ignored.

    Equals ``numpy.nanquantile(numeric_matrix, qs, axis=0)`` but reuses the sorted columns.
    """
    ordered, counts = ctx.get("sorted_numeric")
    qs = np.asarray(qs, dtype=float)[:, None]
    position = qs * np.maximum(counts - 1, 0)
    lower = np.floor(position).astype(np.int64)
    upper = np.minimum(lower + 1, np.maximum(counts - 1, 0))
    frac = position - lower
    low_values = np.take_along_axis(ordered, lower, axis=0)
    high_values = np.take_along_axis(ordered, upper, axis=0)
    result = low_values + frac * (high_values - low_values)
    return np.where(counts > 0, result, np.nan)


@intermediate("nominal_codes")
def _nominal_codes(ctx: ExtractionContext) -> np.ndarray:
    """Integer codes (``-1`` = missing) of the nominal columns, one column each."""
    cols = ctx.get("nominal_columns")
    frame = _take(ctx.dataset.X[cols], ctx.get("stats_rows"))
    codes = np.empty(frame.shape, dtype=np.int64)
    for j, col in enumerate(cols):
        codes[:, j] = pd.factorize(frame[col], use_na_sentinel=True)[0]
    return codes


@intermediate("class_codes")
def _class_codes(ctx: ExtractionContext) -> np.ndarray:
    """Class index per row of the per-column-statistics rows (classification only)."""
    if ctx.dataset.task != "classification":
        raise UndefinedMetaFeature("classification only")
    codes = np.unique(ctx.dataset.y, return_inverse=True)[1].ravel()
    rows = ctx.get("stats_rows")
    return codes if rows is None else codes[rows]


@intermediate("class_counts")
def _class_counts(ctx: ExtractionContext) -> np.ndarray:
    """Rows per class on the full dataset, in sorted label order."""
    if ctx.dataset.task != "classification":
        raise UndefinedMetaFeature("classification only")
    return np.unique(ctx.dataset.y, return_counts=True)[1]


@intermediate("class_entropy")
def _class_entropy(ctx: ExtractionContext) -> float:
    counts = ctx.get("class_counts")
    p = counts / counts.sum()
    return float(-(p * np.log2(p)).sum())


@intermediate("attribute_entropies")
def _attribute_entropies(ctx: ExtractionContext) -> np.ndarray:
    codes = ctx.get("nominal_codes")
    if codes.shape[1] == 0:
        raise UndefinedMetaFeature("no nominal attributes")
    return np.array([entropy_of_codes(codes[:, j]) for j in range(codes.shape[1])])


@intermediate("matrix_rows")
def _matrix_rows(ctx: ExtractionContext) -> np.ndarray | None:
    """Rows used by the matrix statistics (``None``: all rows)."""
    return sample_rows(ctx.dataset.n_rows, MAX_ROWS_MATRIX, ctx.rng("matrix_rows"))


@intermediate("matrix_sample")
def _matrix_sample(ctx: ExtractionContext) -> np.ndarray:
    """Numeric columns (at most MAX_COLUMNS_MATRIX) on at most MAX_ROWS_MATRIX rows, NaN -> column mean."""
    cols = sample_columns(ctx.get("numeric_columns"), MAX_COLUMNS_MATRIX, ctx.rng("matrix_columns"))
    if not cols:
        raise UndefinedMetaFeature("no numeric features")
    matrix = _take(ctx.dataset.X[cols], ctx.get("matrix_rows")).to_numpy(dtype=float)
    if matrix.shape[0] < 3:
        raise UndefinedMetaFeature("matrix statistics need at least 3 rows")
    missing = np.isnan(matrix)
    if missing.any():
        matrix = np.where(missing, column_means(matrix), matrix)
    return matrix


@intermediate("covariance")
def _covariance(ctx: ExtractionContext) -> np.ndarray:
    return np.atleast_2d(np.cov(ctx.get("matrix_sample"), rowvar=False, ddof=1))


@intermediate("standardized")
def _standardized(ctx: ExtractionContext) -> np.ndarray:
    """Standardized copy of ``matrix_sample`` (ddof=1), constant columns dropped."""
    matrix = ctx.get("matrix_sample")
    sd = matrix.std(axis=0, ddof=1)
    keep = sd > 1e-12 * np.maximum(1.0, np.abs(matrix).max(axis=0))
    if not keep.any():
        raise UndefinedMetaFeature("every numeric feature is constant")
    return (matrix[:, keep] - matrix[:, keep].mean(axis=0)) / sd[keep]


@intermediate("pca")
def _pca(ctx: ExtractionContext) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (descending) and eigenvectors of the correlation matrix."""
    z = ctx.get("standardized")
    corr = np.atleast_2d(z.T @ z / (z.shape[0] - 1))
    values, vectors = np.linalg.eigh(corr)
    order = np.argsort(values)[::-1]
    vectors = vectors[:, order]
    # Fix each eigenvector's arbitrary sign: its largest-magnitude entry is positive.
    signs = np.sign(vectors[np.argmax(np.abs(vectors), axis=0), np.arange(vectors.shape[1])])
    return np.clip(values[order], 0.0, None), vectors * np.where(signs == 0, 1.0, signs)
