"""Statistical meta-features of the numeric attributes, summarised across columns.

Per-column moments follow OpenML (Apache Commons Math): the sample standard
deviation (ddof=1), the bias-corrected skewness G1 and excess kurtosis G2,
missing values ignored, and 0 skewness/kurtosis for a constant column. Matrix
statistics (correlation, covariance, eigenvalues, PCA) use the mean-imputed
``matrix_sample`` intermediate.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from metalearn.metafeatures._context import ExtractionContext, column_quantiles, intermediate
from metalearn.metafeatures._registry import UndefinedMetaFeature, metafeature, register_summaries

G = "statistical"


@intermediate("numeric_moments")
def _numeric_moments(ctx: ExtractionContext) -> dict[str, np.ndarray]:
    """Per numeric column: count, mean, sd (ddof=1), skewness G1, kurtosis G2 (NaN-aware)."""
    x = ctx.get("numeric_matrix")
    present = ~np.isnan(x)
    n = present.sum(axis=0).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(present, x, 0.0).sum(axis=0) / n
        d = np.where(present, x - mean, 0.0)
        d2 = d * d
        m2, m3, m4 = d2.sum(axis=0) / n, (d2 * d).sum(axis=0) / n, (d2 * d2).sum(axis=0) / n
        sd = np.sqrt(m2 * n / (n - 1))
        constant = m2 * n / (n - 1) < 1e-19
        g1 = np.sqrt(n * (n - 1)) / (n - 2) * m3 / m2**1.5
        g2 = (n - 1) / ((n - 2) * (n - 3)) * ((n + 1) * m4 / m2**2 - 3 * (n - 1))
    skew = np.where(n < 3, np.nan, np.where(constant, 0.0, g1))
    kurt = np.where(n < 4, np.nan, np.where(constant, 0.0, g2))
    sd = np.where(n < 2, np.nan, sd)
    return {"count": n, "mean": mean, "sd": sd, "skewness": skew, "kurtosis": kurt}


def _moment_vector(key: str) -> Callable[[ExtractionContext], np.ndarray]:
    def compute(ctx: ExtractionContext) -> np.ndarray:
        return ctx.get("numeric_moments")[key]

    return compute


for _name, _key in (("numeric_means", "mean"), ("numeric_sds", "sd"), ("numeric_skewness", "skewness"),
                    ("numeric_kurtosis", "kurtosis")):
    intermediate(_name)(_moment_vector(_key))


@intermediate("coefficient_of_variation")
def _coefficient_of_variation(ctx: ExtractionContext) -> np.ndarray:
    moments = ctx.get("numeric_moments")
    mean = np.abs(moments["mean"])
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(mean > 0, moments["sd"] / mean, np.nan)


def _lower_triangle(matrix: np.ndarray) -> np.ndarray:
    return matrix[np.tril_indices(matrix.shape[0], k=-1)]


@intermediate("abs_correlations")
def _abs_correlations(ctx: ExtractionContext) -> np.ndarray:
    """|Pearson correlation| of each pair of non-constant numeric columns."""
    z = ctx.get("standardized")
    return np.abs(_lower_triangle(np.atleast_2d(z.T @ z / (z.shape[0] - 1))))


@intermediate("abs_covariances")
def _abs_covariances(ctx: ExtractionContext) -> np.ndarray:
    return np.abs(_lower_triangle(ctx.get("covariance")))


@intermediate("covariance_eigenvalues")
def _covariance_eigenvalues(ctx: ExtractionContext) -> np.ndarray:
    return np.linalg.eigvalsh(ctx.get("covariance"))


@intermediate("tukey_outliers")
def _tukey_outliers(ctx: ExtractionContext) -> tuple[np.ndarray, np.ndarray]:
    """Per numeric column: any value beyond the 1.5 IQR fences, and the share of such values."""
    x = ctx.get("numeric_matrix")
    with np.errstate(invalid="ignore"):
        q0, q1, q3, q4 = column_quantiles(ctx, np.array([0.0, 0.25, 0.75, 1.0]))
        iqr = 1.5 * (q3 - q1)
        has = np.logical_or(q1 - iqr > q0, q3 + iqr < q4)
        outside = (x < q1 - iqr) | (x > q3 + iqr)
        share = outside.sum(axis=0) / np.maximum(1, (~np.isnan(x)).sum(axis=0))
    return has, share


register_summaries("MeansOfNumericAtts", G, "numeric_means", description="the means of the numeric attributes",
                   openml=True)
register_summaries("StdDevOfNumericAtts", G, "numeric_sds",
                   description="the standard deviations (ddof=1) of the numeric attributes", openml=True)
register_summaries("SkewnessOfNumericAtts", G, "numeric_skewness",
                   description="the skewness (bias-corrected G1) of the numeric attributes", openml=True)
register_summaries("KurtosisOfNumericAtts", G, "numeric_kurtosis",
                   description="the excess kurtosis (bias-corrected G2) of the numeric attributes", openml=True)
register_summaries("CoefficientOfVariation", G, "coefficient_of_variation", summaries=("Mean", "Max", "SD"),
                   description="sd / |mean| of the numeric attributes (columns with mean 0 skipped)")
register_summaries("AbsCorrelation", G, "abs_correlations", summaries=("Mean", "SD", "Max"),
                   description="|Pearson correlation| over pairs of numeric attributes (pymfe cor)")
register_summaries("AbsCovariance", G, "abs_covariances", summaries=("Mean", "SD"),
                   description="|covariance| (ddof=1) over pairs of numeric attributes (pymfe cov)")
register_summaries("CovarianceEigenvalues", G, "covariance_eigenvalues", summaries=("Mean", "SD", "Max"),
                   description="the eigenvalues of the covariance matrix (pymfe eigenvalues)")


@metafeature("NumberOfAttsWithOutliers", G, ("tukey_outliers",),
             description="numeric attributes with a value beyond 1.5 IQR of the quartiles (pymfe nr_outliers)")
def number_of_atts_with_outliers(ctx: ExtractionContext) -> float:
    return float(ctx.get("tukey_outliers")[0].sum())


@metafeature("MeanOutlierShare", G, ("tukey_outliers",),
             description="mean over numeric attributes of the share of values beyond 1.5 IQR of the quartiles")
def mean_outlier_share(ctx: ExtractionContext) -> float:
    return float(ctx.get("tukey_outliers")[1].mean())


@metafeature("PCAFractionOfComponentsFor95PercentVariance", G, ("pca",),
             description="share of principal components (of the correlation matrix) needed for 95% of the variance")
def pca_fraction_for_95(ctx: ExtractionContext) -> float:
    values = ctx.get("pca")[0]
    ratio = np.cumsum(values) / values.sum()
    return float((np.searchsorted(ratio, 0.95 - 1e-12) + 1) / values.size)


@metafeature("PCAFirstComponentVarianceRatio", G, ("pca",),
             description="share of the variance explained by the first principal component")
def pca_first_component_ratio(ctx: ExtractionContext) -> float:
    values = ctx.get("pca")[0]
    return float(values[0] / values.sum())


def _first_pc(ctx: ExtractionContext) -> np.ndarray:
    scores = ctx.get("standardized") @ ctx.get("pca")[1][:, 0]
    if np.ptp(scores) == 0:
        raise UndefinedMetaFeature("the first principal component is constant")
    return scores


def _moment_ratio(x: np.ndarray, order: int) -> float:
    d = x - x.mean()
    return float(np.mean(d**order) / np.mean(d**2) ** (order / 2))


@metafeature("PCASkewnessFirstPC", G, ("pca", "standardized"),
             description="skewness (biased, m3 / m2^1.5) of the data projected on the first principal component")
def pca_skewness_first_pc(ctx: ExtractionContext) -> float:
    return _moment_ratio(_first_pc(ctx), 3)


@metafeature("PCAKurtosisFirstPC", G, ("pca", "standardized"),
             description="excess kurtosis (biased, m4 / m2^2 - 3) of the data projected on the first principal "
                         "component")
def pca_kurtosis_first_pc(ctx: ExtractionContext) -> float:
    return _moment_ratio(_first_pc(ctx), 4) - 3.0
