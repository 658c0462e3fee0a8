"""The pipeline search space: primitives, families, encoding, sklearn pipelines."""

from metalearn.space._families import build_space
from metalearn.space._primitives import Categorical, Condition, Float, Int
from metalearn.space._space import SPACE_VERSION, Family, SearchSpace, canonical_json


def get_space(task: str) -> SearchSpace:
    """The search space of ``task`` ("classification" or "regression").

    Examples
    --------
    >>> from metalearn.space import get_space
    >>> get_space("regression").families[:2]
    ('hist_gradient_boosting', 'random_forest')
    """
    from metalearn.data import TASKS
    from metalearn.exceptions import InvalidParameterError

    if task not in TASKS:
        raise InvalidParameterError(f"task must be one of {TASKS}, not {task!r}")
    return build_space(task)


__all__ = [
    "Categorical",
    "Condition",
    "Family",
    "Float",
    "Int",
    "SPACE_VERSION",
    "SearchSpace",
    "canonical_json",
    "get_space",
]
