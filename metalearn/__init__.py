"""metalearn: meta-learning warm-start AutoML.

Public API (everything else is private and may change):

- :func:`load_dataset`, :class:`Dataset` - data in, validated;
- :func:`evaluate`, :class:`EvaluationResult` - contained cross-validation;
- :func:`get_space` - the pipeline search space;
- :func:`extract_metafeatures`, :class:`MetaFeatures` - dataset characterisation;
- :class:`KnowledgeBase` - what the engine knows (prior runs);
- :func:`recommend`, :class:`Recommendation` - warm-start configurations;
- :class:`MetaLearnClassifier`, :class:`MetaLearnRegressor`, :func:`optimize` - warm-started Bayesian
  optimisation and the fitted model.

``import metalearn`` never imports torch, openml or dask.
"""

from metalearn._version import __version__
from metalearn.data import Dataset, load_dataset, load_pmlb
from metalearn.estimators import MetaLearnClassifier, MetaLearnRegressor
from metalearn.evaluation import EvaluationResult, evaluate
from metalearn.exceptions import MetaLearnError
from metalearn.kb import KnowledgeBase
from metalearn.metafeatures import MetaFeatures, extract_metafeatures, metafeature_table
from metalearn.optimize import optimize
from metalearn.recommend import Recommendation, recommend
from metalearn.space import get_space

__all__ = [
    "Dataset",
    "EvaluationResult",
    "KnowledgeBase",
    "MetaFeatures",
    "MetaLearnClassifier",
    "MetaLearnError",
    "MetaLearnRegressor",
    "Recommendation",
    "__version__",
    "evaluate",
    "extract_metafeatures",
    "get_space",
    "load_dataset",
    "load_pmlb",
    "metafeature_table",
    "optimize",
    "recommend",
]
