"""The ask/tell optimizer engine: trials, optimizers, surrogate, acquisition and the transfer-prior protocol.

Strategies follow one protocol (:class:`Optimizer`: ``ask``/``tell`` plus
``enqueue`` and ``observe`` for warm start). The engine knows configurations
and scores, not datasets or the knowledge base: transfer arrives through the
:class:`Prior` protocol. :func:`metalearn.optimize` is the loop that
evaluates an optimizer's suggestions on a dataset.
"""

from metalearn.engine._acquisition import (
    ACQUISITIONS,
    acquisition_values,
    expected_improvement,
    maximize_acquisition,
    upper_confidence_bound,
)
from metalearn.engine._base import BaseOptimizer, Optimizer, SearchExhaustedError, equivalence_key
from metalearn.engine._bo import BayesianOptimizer
from metalearn.engine._prior import (
    AdaptivePrior,
    Prior,
    TablePrior,
    blend_prior,
    normalise_rows,
    prior_reliability,
    prior_weight,
    similarity_weights,
)
from metalearn.engine._random import RandomSearch
from metalearn.engine._surrogate import SURROGATES, ForestSurrogate
from metalearn.engine._trial import ORIGINS, STATUSES, Observation, Trial, TrialResult

__all__ = [
    "ACQUISITIONS",
    "AdaptivePrior",
    "BaseOptimizer",
    "BayesianOptimizer",
    "ForestSurrogate",
    "ORIGINS",
    "Observation",
    "Optimizer",
    "Prior",
    "RandomSearch",
    "STATUSES",
    "SURROGATES",
    "SearchExhaustedError",
    "TablePrior",
    "Trial",
    "TrialResult",
    "acquisition_values",
    "blend_prior",
    "equivalence_key",
    "expected_improvement",
    "maximize_acquisition",
    "normalise_rows",
    "prior_reliability",
    "prior_weight",
    "similarity_weights",
    "upper_confidence_bound",
]
