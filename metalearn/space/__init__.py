"""The pipeline search space: primitives, model families, encoding, sklearn pipelines."""

from metalearn.exceptions import InvalidParameterError
from metalearn.space._family import CLASSIFICATION, REGRESSION, BuildContext, Columns, ModelFamily
from metalearn.space._primitives import Categorical, Condition, Float, Int
from metalearn.space._space import SPACE_VERSION, Family, SearchSpace, canonical_json
from metalearn.space._weights import accepts_sample_weight, fit_weighted
from metalearn.space.families import LEGACY_FAMILIES, MODEL_FAMILIES

TASKS = (CLASSIFICATION, REGRESSION)


def get_space(task: str) -> SearchSpace:
    """The search space of ``task`` ("classification" or "regression"), built from the family registry.

    Examples
    --------
    >>> from metalearn.space import get_space
    >>> get_space("regression").families[:2]
    ('hist_gradient_boosting', 'random_forest')
    """
    if task not in TASKS:
        raise InvalidParameterError(f"task must be one of {TASKS}, not {task!r}")
    return SearchSpace(task, tuple(Family.of(model, task) for model in MODEL_FAMILIES))


def model_family(name: str) -> ModelFamily:
    """The registered :class:`ModelFamily` called ``name``."""
    for model in MODEL_FAMILIES:
        if model.name == name:
            return model
    raise InvalidParameterError(f"no model family {name!r}; choose from {[m.name for m in MODEL_FAMILIES]}")


#: The search-space version of knowledge bases built before families carried their own versions: every
#: run it stored belongs to one of :data:`LEGACY_FAMILIES`, at family version 1.0.
LEGACY_SPACE_VERSION = "1.0"


def family_versions() -> dict[str, str]:
    """``{model family: version}`` of every registered family (the same in both tasks).

    Examples
    --------
    >>> from metalearn.space import family_versions
    >>> family_versions()["lightgbm"]
    '1.0'
    """
    return {model.name: model.version for model in MODEL_FAMILIES}


def stored_family_versions(space_version: str | None, recorded: dict | None) -> dict[str, str]:
    """The family versions a knowledge base's runs were made with, from its recorded metadata.

    ``recorded`` is its ``family_versions`` entry; a KB without one was built
    with space version :data:`LEGACY_SPACE_VERSION` (or nothing recorded yet).
    """
    if recorded:
        return {str(k): str(v) for k, v in recorded.items()}
    if space_version in (None, LEGACY_SPACE_VERSION):
        return dict.fromkeys(LEGACY_FAMILIES, "1.0") if space_version else {}
    raise InvalidParameterError(f"a knowledge base of search-space version {space_version!r} must record "
                                "its family versions")


def fallback_order() -> tuple[str, ...]:
    """Model families by :attr:`ModelFamily.fallback_rank`: the warm start used when no KB is available."""
    return tuple(m.name for m in sorted(MODEL_FAMILIES, key=lambda m: m.fallback_rank))


__all__ = [
    "accepts_sample_weight",
    "fit_weighted",
    "BuildContext",
    "Categorical",
    "Columns",
    "Condition",
    "Family",
    "Float",
    "Int",
    "LEGACY_FAMILIES",
    "LEGACY_SPACE_VERSION",
    "MODEL_FAMILIES",
    "ModelFamily",
    "SPACE_VERSION",
    "SearchSpace",
    "canonical_json",
    "fallback_order",
    "family_versions",
    "get_space",
    "model_family",
    "stored_family_versions",
]
