"""metalearn: meta-learning warm-start AutoML.

Public API (everything else is private and may change):

- :func:`load_dataset`, :class:`Dataset` - data in, validated;
- :func:`evaluate`, :class:`EvaluationResult` - contained cross-validation;
- :func:`get_space` - the pipeline search space.

``import metalearn`` never imports torch, openml or dask.
"""

from metalearn._version import __version__
from metalearn.data import Dataset, load_dataset, load_pmlb
from metalearn.evaluation import EvaluationResult, evaluate
from metalearn.exceptions import MetaLearnError
from metalearn.space import get_space

__all__ = [
    "Dataset",
    "EvaluationResult",
    "MetaLearnError",
    "__version__",
    "evaluate",
    "get_space",
    "load_dataset",
    "load_pmlb",
]
