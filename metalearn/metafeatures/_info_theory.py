"""Information-theoretic meta-features (entropies in bits).

Two families:

* OpenML's, over the *nominal* attributes only (``MeanAttributeEntropy``,
  ``MeanMutualInformation``, ``EquivalentNumberOfAtts``,
  ``MeanNoiseToSignalRatio`` ...): undefined when there is no nominal attribute.
* pymfe's, over *all* attributes after discretizing each numeric one into
  ``floor(n ** (1/3))`` equal-frequency bins (``...Discretized...``,
  ``MeanJointEntropy``): defined for numeric-only data too.

Missing values are left out of every entropy (per attribute).
"""

from __future__ import annotations

import math

import numpy as np

from metalearn.metafeatures._context import (
    ExtractionContext,
    column_quantiles,
    entropy_of_codes,
    intermediate,
)
from metalearn.metafeatures._registry import UndefinedMetaFeature, metafeature, register_summaries

G = "info-theory"
C = "classification"


def _mutual_informations(codes: np.ndarray, classes: np.ndarray, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Mutual information with the class and joint entropy, per column of ``codes`` (-1 = missing)."""
    mi, joint = np.empty(codes.shape[1]), np.empty(codes.shape[1])
    for j in range(codes.shape[1]):
        present = codes[:, j] >= 0
        a, c = codes[present, j], classes[present]
        h_joint = entropy_of_codes(a * n_classes + c)
        joint[j] = h_joint
        mi[j] = entropy_of_codes(a) + entropy_of_codes(c) - h_joint
    return mi, joint


@intermediate("mutual_information")
def _mutual_information(ctx: ExtractionContext) -> np.ndarray:
    """Mutual information of each nominal attribute with the class."""
    classes, codes = ctx.get("class_codes"), ctx.get("nominal_codes")
    if codes.shape[1] == 0:
        raise UndefinedMetaFeature("no nominal attributes")
    return _mutual_informations(codes, classes, int(classes.max()) + 1)[0]


def equal_frequency_codes(x: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Bin index per value and column given per-column quantile ``edges`` (pymfe's rule); -1 where missing."""
    codes = np.full(x.shape, -1, dtype=np.int64)
    missing = np.isnan(x)
    for j in range(x.shape[1]):
        col_edges = edges[:, j]
        if np.isnan(col_edges).all():
            continue
        col_edges = col_edges[np.append(True, np.diff(col_edges) > 1e-8)]
        binned = np.digitize(x[:, j], np.unique(col_edges), right=True)
        codes[:, j] = np.where(missing[:, j], -1, binned)
    return codes


@intermediate("discretized_codes")
def _discretized_codes(ctx: ExtractionContext) -> np.ndarray:
    """Nominal codes next to ``floor(rows ** (1/3))`` equal-frequency bins of each numeric attribute."""
    parts = [ctx.get("nominal_codes")]
    if ctx.get("numeric_columns"):
        x = ctx.get("numeric_matrix")
        n_bins = max(1, int(x.shape[0] ** (1 / 3)))
        edges = column_quantiles(ctx, np.linspace(0, 1, n_bins + 1)[1:])
        parts.append(equal_frequency_codes(x, edges))
    return np.hstack(parts)


@intermediate("discretized_entropies")
def _discretized_entropies(ctx: ExtractionContext) -> np.ndarray:
    codes = ctx.get("discretized_codes")
    return np.array([entropy_of_codes(codes[:, j]) for j in range(codes.shape[1])])


@intermediate("discretized_information")
def _discretized_information(ctx: ExtractionContext) -> tuple[np.ndarray, np.ndarray]:
    """(mutual information with the class, joint entropy with the class) per discretized attribute."""
    classes = ctx.get("class_codes")
    return _mutual_informations(ctx.get("discretized_codes"), classes, int(classes.max()) + 1)


@intermediate("discretized_mutual_information")
def _discretized_mutual_information(ctx: ExtractionContext) -> np.ndarray:
    return ctx.get("discretized_information")[0]


@intermediate("joint_entropies")
def _joint_entropies(ctx: ExtractionContext) -> np.ndarray:
    return ctx.get("discretized_information")[1]


@metafeature("ClassEntropy", G, ("class_entropy",), description="entropy of the class distribution (bits)",
             openml=True, task=C)
def class_entropy(ctx: ExtractionContext) -> float:
    return ctx.get("class_entropy")


@metafeature("NormalizedClassEntropy", G, ("class_entropy", "class_counts"),
             description="ClassEntropy / log2(NumberOfClasses): 1 for balanced classes", task=C)
def normalized_class_entropy(ctx: ExtractionContext) -> float:
    return ctx.get("class_entropy") / math.log2(len(ctx.get("class_counts")))


register_summaries("AttributeEntropy", G, "attribute_entropies", openml=True,
                   description="the entropies (bits) of the nominal attributes")
register_summaries("MutualInformation", G, "mutual_information", openml=True, task=C,
                   description="the mutual information (bits) of each nominal attribute with the class")
register_summaries("DiscretizedAttributeEntropy", G, "discretized_entropies", summaries=("Mean", "SD"),
                   description="the entropies of all attributes, numeric ones discretized (pymfe attr_ent)")
register_summaries("DiscretizedMutualInformation", G, "discretized_mutual_information", summaries=("Mean", "SD"),
                   task=C, description="the mutual information of all attributes with the class, numeric ones "
                                       "discretized (pymfe mut_inf)")
register_summaries("JointEntropy", G, "joint_entropies", summaries=("Mean", "SD"), task=C,
                   description="the joint entropy of each attribute (numeric ones discretized) and the class "
                               "(pymfe joint_ent)")


def _mean_positive(ctx: ExtractionContext, vector: str) -> float:
    values = ctx.get(vector)
    values = values[np.isfinite(values)]
    if values.size == 0:
        raise UndefinedMetaFeature(f"no attributes for {vector}")
    mean = float(values.mean())
    if mean <= 1e-12:
        raise UndefinedMetaFeature("the attributes carry no information about the class (mutual information 0)")
    return mean


def _mean_finite(ctx: ExtractionContext, vector: str) -> float:
    values = ctx.get(vector)
    return float(values[np.isfinite(values)].mean())


@metafeature("EquivalentNumberOfAtts", G, ("class_entropy", "mutual_information"), openml=True, task=C,
             description="ClassEntropy / MeanMutualInformation (nominal attributes)")
def equivalent_number_of_atts(ctx: ExtractionContext) -> float:
    return ctx.get("class_entropy") / _mean_positive(ctx, "mutual_information")


@metafeature("MeanNoiseToSignalRatio", G, ("attribute_entropies", "mutual_information"), openml=True, task=C,
             description="(MeanAttributeEntropy - MeanMutualInformation) / MeanMutualInformation")
def mean_noise_to_signal_ratio(ctx: ExtractionContext) -> float:
    mi = _mean_positive(ctx, "mutual_information")
    return (_mean_finite(ctx, "attribute_entropies") - mi) / mi


@metafeature("EquivalentNumberOfAttsDiscretized", G, ("class_entropy", "discretized_mutual_information"), task=C,
             description="ClassEntropy / MeanDiscretizedMutualInformation (pymfe eq_num_attr)")
def equivalent_number_of_atts_discretized(ctx: ExtractionContext) -> float:
    return ctx.get("class_entropy") / _mean_positive(ctx, "discretized_mutual_information")


@metafeature("NoiseToSignalRatioDiscretized", G, ("discretized_entropies", "discretized_mutual_information"), task=C,
             description="(MeanDiscretizedAttributeEntropy - MeanDiscretizedMutualInformation) / "
                         "MeanDiscretizedMutualInformation (pymfe ns_ratio)")
def noise_to_signal_ratio_discretized(ctx: ExtractionContext) -> float:
    mi = _mean_positive(ctx, "discretized_mutual_information")
    return (_mean_finite(ctx, "discretized_entropies") - mi) / mi
