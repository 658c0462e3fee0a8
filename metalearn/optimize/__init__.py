"""AutoML orchestration: the search loop over pipeline configurations, warm-started from the knowledge base.

:func:`optimize` resolves the warm start (the knowledge base's top
configurations and transfer prior, or family defaults), evaluates an
optimizer's suggestions within a trial and time budget, and returns the
history; :func:`ensemble_selection` builds a Caruana ensemble from it. The
optimizers themselves (the ask/tell engine) live in :mod:`metalearn.engine`
and are re-exported here.
"""

# The engine's names stay importable from here (the orchestration is the layer above the engine).
from metalearn.engine import (
    ACQUISITIONS,
    ORIGINS,
    STATUSES,
    SURROGATES,
    AdaptivePrior,
    BaseOptimizer,
    BayesianOptimizer,
    ForestSurrogate,
    Observation,
    Optimizer,
    Prior,
    RandomSearch,
    SearchExhaustedError,
    TablePrior,
    Trial,
    TrialResult,
    acquisition_values,
    blend_prior,
    equivalence_key,
    expected_improvement,
    maximize_acquisition,
    normalise_rows,
    prior_reliability,
    prior_weight,
    similarity_weights,
    upper_confidence_bound,
)
from metalearn.optimize._ensemble import EnsembleSelection, ensemble_selection
from metalearn.optimize._leaderboard import LEADERBOARD_COLUMNS, key_hyperparameters, leaderboard
from metalearn.optimize._optimize import HISTORY_COLUMNS, OptimizationResult, optimize
from metalearn.optimize._warm import WARM_START_WITH_PRIOR

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
    "WARM_START_WITH_PRIOR",
    "equivalence_key",
    "TablePrior",
    "Trial",
    "TrialResult",
    "acquisition_values",
    "blend_prior",
    "ensemble_selection",
    "key_hyperparameters",
    "leaderboard",
    "expected_improvement",
    "maximize_acquisition",
    "normalise_rows",
    "optimize",
    "prior_reliability",
    "prior_weight",
    "similarity_weights",
    "upper_confidence_bound",
]
