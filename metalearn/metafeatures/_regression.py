"""Regression-only meta-features: statistics of the target and its linear relation to the attributes."""

from __future__ import annotations

import numpy as np

from metalearn.metafeatures._context import ExtractionContext, intermediate
from metalearn.metafeatures._registry import UndefinedMetaFeature, metafeature

G = "regression"
R = "regression"


@intermediate("target_moments")
def _target_moments(ctx: ExtractionContext) -> dict[str, float]:
    """Mean, sd (ddof=1), skewness G1 and kurtosis G2 of the regression target."""
    y = np.asarray(ctx.dataset.y, dtype=float)
    n = float(y.size)
    d = y - y.mean()
    m2 = float(np.mean(d**2))
    out = {"mean": float(y.mean()), "sd": float(np.sqrt(m2 * n / (n - 1))), "skewness": np.nan, "kurtosis": np.nan}
    if m2 > 0 and n >= 3:
        out["skewness"] = float(np.sqrt(n * (n - 1)) / (n - 2) * np.mean(d**3) / m2**1.5)
    if m2 > 0 and n >= 4:
        out["kurtosis"] = float((n - 1) / ((n - 2) * (n - 3)) * ((n + 1) * np.mean(d**4) / m2**2 - 3 * (n - 1)))
    return out


def _moment(ctx: ExtractionContext, key: str) -> float:
    value = ctx.get("target_moments")[key]
    if not np.isfinite(value):
        raise UndefinedMetaFeature(f"target {key} is undefined (constant target or fewer than 4 rows)")
    return value


@intermediate("target_correlations")
def _target_correlations(ctx: ExtractionContext) -> np.ndarray:
    """|Pearson correlation| of each non-constant numeric attribute with the target (matrix_sample rows)."""
    z = ctx.get("standardized")
    rows = ctx.get("matrix_rows")
    y = np.asarray(ctx.dataset.y if rows is None else ctx.dataset.y[rows], dtype=float)
    if np.ptp(y) == 0:
        raise UndefinedMetaFeature("the target is constant")
    y = (y - y.mean()) / y.std(ddof=1)
    return np.abs(z.T @ y / (len(y) - 1))


@metafeature("TargetSkewness", G, ("target_moments",), task=R, description="skewness (G1) of the target")
def target_skewness(ctx: ExtractionContext) -> float:
    return _moment(ctx, "skewness")


@metafeature("TargetKurtosis", G, ("target_moments",), task=R, description="excess kurtosis (G2) of the target")
def target_kurtosis(ctx: ExtractionContext) -> float:
    return _moment(ctx, "kurtosis")


@metafeature("TargetCoefficientOfVariation", G, ("target_moments",), task=R,
             description="sd / |mean| of the target")
def target_coefficient_of_variation(ctx: ExtractionContext) -> float:
    moments = ctx.get("target_moments")
    if moments["mean"] == 0:
        raise UndefinedMetaFeature("the target mean is 0")
    return moments["sd"] / abs(moments["mean"])


@metafeature("TargetUniqueShare", G, task=R, description="distinct target values / rows")
def target_unique_share(ctx: ExtractionContext) -> float:
    return np.unique(ctx.dataset.y).size / ctx.dataset.n_rows


@metafeature("TargetMaxAbsCorrelation", G, ("target_correlations",), task=R,
             description="largest |Pearson correlation| of a numeric attribute with the target")
def target_max_abs_correlation(ctx: ExtractionContext) -> float:
    return float(ctx.get("target_correlations").max())


@metafeature("TargetMeanAbsCorrelation", G, ("target_correlations",), task=R,
             description="mean |Pearson correlation| of the numeric attributes with the target")
def target_mean_abs_correlation(ctx: ExtractionContext) -> float:
    return float(ctx.get("target_correlations").mean())
