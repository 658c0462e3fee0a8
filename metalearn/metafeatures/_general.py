"""General meta-features: sizes, feature types, missing values, class balance.

OpenML counts the target as an attribute: ``NumberOfFeatures`` is the number
of predictors plus one, and a nominal (classification) target is one of the
symbolic (and possibly binary) features; a regression target is numeric. The
percentages divide by ``NumberOfFeatures``. ``NumberOfPredictors`` counts the
input columns only.
"""

from __future__ import annotations

import math

import numpy as np

from metalearn.metafeatures._context import ExtractionContext, intermediate
from metalearn.metafeatures._registry import UndefinedMetaFeature, metafeature

G = "general"


def _is_classification(ctx: ExtractionContext) -> bool:
    return ctx.dataset.task == "classification"


def _n_features(ctx: ExtractionContext) -> int:
    return ctx.dataset.n_features + 1


def _n_symbolic(ctx: ExtractionContext) -> int:
    return len(ctx.dataset.columns_of_type("categorical", "boolean", "text")) + int(_is_classification(ctx))


def _n_numeric(ctx: ExtractionContext) -> int:
    return len(ctx.dataset.columns_of_type("numeric")) + int(not _is_classification(ctx))


@intermediate("nominal_distinct_values")
def _nominal_distinct_values(ctx: ExtractionContext) -> np.ndarray:
    """Distinct non-missing values per nominal attribute, the classification target included."""
    codes = ctx.get("nominal_codes")
    counts = [int(codes[:, j].max()) + 1 if codes.shape[0] else 0 for j in range(codes.shape[1])]
    if _is_classification(ctx):
        counts.append(len(ctx.get("class_counts")))
    return np.array(counts, dtype=float)


@intermediate("missing_mask")
def _missing_mask(ctx: ExtractionContext) -> np.ndarray:
    return ctx.dataset.X.isna().to_numpy()


# ---------------------------------------------------------------- sizes


@metafeature("NumberOfInstances", G, description="number of rows", openml=True)
def number_of_instances(ctx: ExtractionContext) -> float:
    return float(ctx.dataset.n_rows)


@metafeature("NumberOfFeatures", G, description="number of attributes, the target included (OpenML)", openml=True)
def number_of_features(ctx: ExtractionContext) -> float:
    return float(_n_features(ctx))


@metafeature("NumberOfPredictors", G, description="number of input columns (target excluded)")
def number_of_predictors(ctx: ExtractionContext) -> float:
    return float(ctx.dataset.n_features)


@metafeature("Dimensionality", G, description="NumberOfFeatures / NumberOfInstances", openml=True)
def dimensionality(ctx: ExtractionContext) -> float:
    return _n_features(ctx) / ctx.dataset.n_rows


@metafeature("LogNumberOfInstances", G, description="natural log of the number of rows")
def log_number_of_instances(ctx: ExtractionContext) -> float:
    return math.log(ctx.dataset.n_rows)


@metafeature("LogNumberOfFeatures", G, description="natural log of the number of predictors")
def log_number_of_features(ctx: ExtractionContext) -> float:
    return math.log(ctx.dataset.n_features)


@metafeature("DatasetRatio", G, description="predictors / rows")
def dataset_ratio(ctx: ExtractionContext) -> float:
    return ctx.dataset.n_features / ctx.dataset.n_rows


@metafeature("LogDatasetRatio", G, description="natural log of predictors / rows")
def log_dataset_ratio(ctx: ExtractionContext) -> float:
    return math.log(ctx.dataset.n_features / ctx.dataset.n_rows)


@metafeature("InverseDatasetRatio", G, description="rows / predictors")
def inverse_dataset_ratio(ctx: ExtractionContext) -> float:
    return ctx.dataset.n_rows / ctx.dataset.n_features


@metafeature("LogInverseDatasetRatio", G, description="natural log of rows / predictors")
def log_inverse_dataset_ratio(ctx: ExtractionContext) -> float:
    return math.log(ctx.dataset.n_rows / ctx.dataset.n_features)


# ---------------------------------------------------------------- feature types


@metafeature("NumberOfNumericFeatures", G, description="numeric attributes (a regression target included)",
             openml=True)
def number_of_numeric_features(ctx: ExtractionContext) -> float:
    return float(_n_numeric(ctx))


@metafeature("NumberOfSymbolicFeatures", G,
             description="nominal (categorical, boolean, text) attributes, a classification target included",
             openml=True)
def number_of_symbolic_features(ctx: ExtractionContext) -> float:
    return float(_n_symbolic(ctx))


@metafeature("NumberOfCategoricalFeatures", G, description="nominal (categorical, boolean, text) predictors")
def number_of_categorical_features(ctx: ExtractionContext) -> float:
    return float(_n_symbolic(ctx) - int(_is_classification(ctx)))


@metafeature("NumberOfBinaryFeatures", G, ("nominal_distinct_values",),
             description="nominal attributes with exactly two observed values, the target included", openml=True)
def number_of_binary_features(ctx: ExtractionContext) -> float:
    return float(np.sum(ctx.get("nominal_distinct_values") == 2))


@metafeature("PercentageOfNumericFeatures", G, description="100 * NumberOfNumericFeatures / NumberOfFeatures",
             openml=True)
def percentage_of_numeric_features(ctx: ExtractionContext) -> float:
    return 100.0 * _n_numeric(ctx) / _n_features(ctx)


@metafeature("PercentageOfSymbolicFeatures", G, description="100 * NumberOfSymbolicFeatures / NumberOfFeatures",
             openml=True)
def percentage_of_symbolic_features(ctx: ExtractionContext) -> float:
    return 100.0 * _n_symbolic(ctx) / _n_features(ctx)


@metafeature("PercentageOfBinaryFeatures", G, ("nominal_distinct_values",),
             description="100 * NumberOfBinaryFeatures / NumberOfFeatures", openml=True)
def percentage_of_binary_features(ctx: ExtractionContext) -> float:
    return 100.0 * number_of_binary_features(ctx) / _n_features(ctx)


def _distinct(ctx: ExtractionContext) -> np.ndarray:
    values = ctx.get("nominal_distinct_values")
    if values.size == 0:
        raise UndefinedMetaFeature("no nominal attributes")
    return values


@metafeature("MinNominalAttDistinctValues", G, ("nominal_distinct_values",),
             description="fewest distinct values of a nominal attribute (target included)", openml=True)
def min_nominal_att_distinct_values(ctx: ExtractionContext) -> float:
    return float(_distinct(ctx).min())


@metafeature("MaxNominalAttDistinctValues", G, ("nominal_distinct_values",),
             description="most distinct values of a nominal attribute (target included)", openml=True)
def max_nominal_att_distinct_values(ctx: ExtractionContext) -> float:
    return float(_distinct(ctx).max())


@metafeature("MeanNominalAttDistinctValues", G, ("nominal_distinct_values",),
             description="mean number of distinct values of the nominal attributes (target included)", openml=True)
def mean_nominal_att_distinct_values(ctx: ExtractionContext) -> float:
    return float(_distinct(ctx).mean())


# ---------------------------------------------------------------- missing values


@metafeature("NumberOfMissingValues", G, ("missing_mask",), description="missing feature cells", openml=True)
def number_of_missing_values(ctx: ExtractionContext) -> float:
    return float(ctx.get("missing_mask").sum())


@metafeature("PercentageOfMissingValues", G, ("missing_mask",),
             description="100 * missing cells / (NumberOfInstances * NumberOfFeatures)", openml=True)
def percentage_of_missing_values(ctx: ExtractionContext) -> float:
    return 100.0 * number_of_missing_values(ctx) / (ctx.dataset.n_rows * _n_features(ctx))


@metafeature("NumberOfInstancesWithMissingValues", G, ("missing_mask",),
             description="rows with at least one missing cell", openml=True)
def number_of_instances_with_missing_values(ctx: ExtractionContext) -> float:
    return float(ctx.get("missing_mask").any(axis=1).sum())


@metafeature("PercentageOfInstancesWithMissingValues", G, ("missing_mask",),
             description="100 * rows with a missing cell / rows", openml=True)
def percentage_of_instances_with_missing_values(ctx: ExtractionContext) -> float:
    return 100.0 * number_of_instances_with_missing_values(ctx) / ctx.dataset.n_rows


@metafeature("NumberOfFeaturesWithMissingValues", G, ("missing_mask",),
             description="predictors with at least one missing cell")
def number_of_features_with_missing_values(ctx: ExtractionContext) -> float:
    return float(ctx.get("missing_mask").any(axis=0).sum())


@metafeature("PercentageOfFeaturesWithMissingValues", G, ("missing_mask",),
             description="100 * predictors with a missing cell / predictors")
def percentage_of_features_with_missing_values(ctx: ExtractionContext) -> float:
    return 100.0 * number_of_features_with_missing_values(ctx) / ctx.dataset.n_features


# ---------------------------------------------------------------- classes

C = "classification"


def _class_frequencies(ctx: ExtractionContext) -> np.ndarray:
    counts = ctx.get("class_counts")
    return counts / counts.sum()


@metafeature("NumberOfClasses", G, ("class_counts",), description="number of classes", openml=True, task=C)
def number_of_classes(ctx: ExtractionContext) -> float:
    return float(len(ctx.get("class_counts")))


@metafeature("MajorityClassSize", G, ("class_counts",), description="rows of the most frequent class",
             openml=True, task=C)
def majority_class_size(ctx: ExtractionContext) -> float:
    return float(ctx.get("class_counts").max())


@metafeature("MinorityClassSize", G, ("class_counts",), description="rows of the least frequent class",
             openml=True, task=C)
def minority_class_size(ctx: ExtractionContext) -> float:
    return float(ctx.get("class_counts").min())


@metafeature("MajorityClassPercentage", G, ("class_counts",), description="100 * MajorityClassSize / rows",
             openml=True, task=C)
def majority_class_percentage(ctx: ExtractionContext) -> float:
    return 100.0 * float(_class_frequencies(ctx).max())


@metafeature("MinorityClassPercentage", G, ("class_counts",), description="100 * MinorityClassSize / rows",
             openml=True, task=C)
def minority_class_percentage(ctx: ExtractionContext) -> float:
    return 100.0 * float(_class_frequencies(ctx).min())


@metafeature("ClassProbabilityMin", G, ("class_counts",), description="smallest class frequency", task=C)
def class_probability_min(ctx: ExtractionContext) -> float:
    return float(_class_frequencies(ctx).min())


@metafeature("ClassProbabilityMax", G, ("class_counts",), description="largest class frequency", task=C)
def class_probability_max(ctx: ExtractionContext) -> float:
    return float(_class_frequencies(ctx).max())


@metafeature("ClassProbabilitySTD", G, ("class_counts",),
             description="standard deviation (ddof=1) of the class frequencies (pymfe freq_class.sd)", task=C)
def class_probability_std(ctx: ExtractionContext) -> float:
    return float(np.std(_class_frequencies(ctx), ddof=1))


@metafeature("ClassImbalanceRatio", G, ("class_counts",), description="MinorityClassSize / MajorityClassSize",
             task=C)
def class_imbalance_ratio(ctx: ExtractionContext) -> float:
    counts = ctx.get("class_counts")
    return float(counts.min() / counts.max())
