"""Bayesian optimisation of pipeline configurations, warm-started from the knowledge base.

Strategies follow one protocol (:class:`Optimizer`: ``ask``/``tell`` plus
``enqueue`` and ``observe`` for warm start); :func:`optimize` is the loop
that evaluates their suggestions within a trial and time budget.
"""

from metalearn.optimize._acquisition import (
    ACQUISITIONS,
    acquisition_values,
    expected_improvement,
    maximize_acquisition,
    upper_confidence_bound,
)
from metalearn.optimize._base import BaseOptimizer, Optimizer, SearchExhaustedError, equivalence_key
from metalearn.optimize._bo import BayesianOptimizer
from metalearn.optimize._ensemble import EnsembleSelection, ensemble_selection
from metalearn.optimize._leaderboard import LEADERBOARD_COLUMNS, key_hyperparameters, leaderboard
from metalearn.optimize._optimize import HISTORY_COLUMNS, OptimizationResult, optimize
from metalearn.optimize._prior import (
    AdaptivePrior,
    Prior,
    TablePrior,
    blend_prior,
    normalise_rows,
    prior_reliability,
    prior_weight,
    similarity_weights,
)
from metalearn.optimize._random import RandomSearch
from metalearn.optimize._surrogate import SURROGATES, ForestSurrogate
from metalearn.optimize._trial import ORIGINS, STATUSES, Observation, Trial, TrialResult

__all__ = [
    "ACQUISITIONS",
    "BaseOptimizer",
    "BayesianOptimizer",
    "EnsembleSelection",
    "ForestSurrogate",
    "HISTORY_COLUMNS",
    "LEADERBOARD_COLUMNS",
    "ORIGINS",
    "Observation",
    "OptimizationResult",
    "Optimizer",
    "AdaptivePrior",
    "Prior",
    "RandomSearch",
    "STATUSES",
    "SURROGATES",
    "SearchExhaustedError",
    "equivalence_key",
    "TablePrior",
    "Trial",
    "TrialResult",
    "acquisition_values",
    "blend_prior",
    "ensemble_selection",
    "expected_improvement",
    "key_hyperparameters",
    "leaderboard",
    "maximize_acquisition",
    "normalise_rows",
    "optimize",
    "prior_reliability",
    "prior_weight",
    "similarity_weights",
    "upper_confidence_bound",
]
