"""Meta-features: a description of a dataset as an ordered ``name -> float`` vector.

:func:`extract_metafeatures` runs every registered meta-feature (see
:func:`metafeature_table` and ``docs/metafeatures.md``) over five groups:
``general``, ``statistical``, ``info-theory``, ``landmarking`` and
``regression``. Names are OpenML data-quality names, with OpenML's definition,
wherever the feature is one (see :data:`OPENML_QUALITIES`).

Each feature is registered with its group and the shared intermediates it
needs (encoded matrices, class counts, column entropies, a standardized copy,
PCA ...); an extraction computes each intermediate at most once. No feature
raises: an undefined one is ``NaN`` with its reason in ``MetaFeatures.undefined``.

Cost bound (subsampling rules; all samples come from ``random_state``):

- counts, missing values, class balance, ``ClassEntropy`` and target statistics use all rows;
- per-column statistics (moments, quartiles, outliers, entropies, mutual
  information) use all rows up to 100,000, fewer when rows x columns passes
  10 million cells (never under 5,000 rows), and at most 1,000 numeric and
  1,000 nominal columns;
- matrix statistics (correlation, covariance, eigenvalues, PCA) use at most
  20,000 rows and 200 numeric columns;
- landmarkers use a (stratified) subsample of at most 1,000 rows and 100
  columns, with at most 5 cross-validation folds.
"""

from metalearn.metafeatures import _general, _info_theory, _landmarking, _regression, _statistical  # noqa: F401
from metalearn.metafeatures._docs import metafeature_table
from metalearn.metafeatures._extract import MetaFeatures, extract_metafeatures
from metalearn.metafeatures._registry import GROUPS, REGISTRY, MetaFeature, UndefinedMetaFeature
from metalearn.metafeatures._scaling import MetaFeatureScaler, scaled_distances

#: FLAML's ``flaml.default`` meta-features (instances, features, classes, share of numeric features).
FLAML_FEATURES: tuple[str, ...] = (
    "NumberOfInstances",
    "NumberOfFeatures",
    "NumberOfClasses",
    "PercentageOfNumericFeatures",
)

#: Our closest names for auto-sklearn 1's meta-features (``NumberOfPredictors`` is its ``NumberOfFeatures``,
#: the ``NominalAttDistinctValues`` family its ``Symbols*``, ``*KurtosisOfNumericAtts`` its ``Kurtosis*`` ...).
AUTOSKLEARN_FEATURES: tuple[str, ...] = (
    "NumberOfInstances", "LogNumberOfInstances", "NumberOfClasses", "NumberOfPredictors", "LogNumberOfFeatures",
    "NumberOfInstancesWithMissingValues", "PercentageOfInstancesWithMissingValues",
    "NumberOfFeaturesWithMissingValues", "PercentageOfFeaturesWithMissingValues", "NumberOfMissingValues",
    "PercentageOfMissingValues", "NumberOfNumericFeatures", "NumberOfCategoricalFeatures", "DatasetRatio",
    "LogDatasetRatio", "InverseDatasetRatio", "LogInverseDatasetRatio", "ClassProbabilityMin",
    "ClassProbabilityMax", "ClassProbabilitySTD", "MinNominalAttDistinctValues", "MaxNominalAttDistinctValues",
    "MeanNominalAttDistinctValues", "MinKurtosisOfNumericAtts", "MaxKurtosisOfNumericAtts",
    "MeanKurtosisOfNumericAtts", "SDKurtosisOfNumericAtts", "MinSkewnessOfNumericAtts", "MaxSkewnessOfNumericAtts",
    "MeanSkewnessOfNumericAtts", "SDSkewnessOfNumericAtts", "ClassEntropy", "LandmarkLDA", "LandmarkNaiveBayes",
    "LandmarkDecisionTree", "LandmarkDecisionNodeLearner", "LandmarkRandomNodeLearner", "Landmark1NN",
    "PCAFractionOfComponentsFor95PercentVariance", "PCAKurtosisFirstPC", "PCASkewnessFirstPC",
)

#: Our names that are OpenML data qualities computed with OpenML's definition.
OPENML_QUALITIES: tuple[str, ...] = tuple(f.name for f in REGISTRY.values() if f.openml)

__all__ = [
    "AUTOSKLEARN_FEATURES",
    "FLAML_FEATURES",
    "GROUPS",
    "MetaFeature",
    "MetaFeatureScaler",
    "MetaFeatures",
    "OPENML_QUALITIES",
    "REGISTRY",
    "UndefinedMetaFeature",
    "extract_metafeatures",
    "metafeature_table",
    "scaled_distances",
]
