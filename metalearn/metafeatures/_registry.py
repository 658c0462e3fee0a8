"""The meta-feature registry: ``name -> MetaFeature(group, requires, compute)``.

Group modules fill :data:`REGISTRY` with the :func:`metafeature` decorator (or
:func:`register_summaries` for the usual Min/Quartile/Max/Mean/SD family over a
per-column vector). A feature's ``compute`` receives the extraction context and
returns a float; when the feature is undefined for the dataset it raises
:class:`UndefinedMetaFeature` with the reason, which the extractor records.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from metalearn.exceptions import MetaLearnError

if TYPE_CHECKING:  # _context imports this registry; the type is for annotations only
    from metalearn.metafeatures._context import ExtractionContext

Group = Literal["general", "statistical", "info-theory", "landmarking", "regression"]
TaskScope = Literal["any", "classification", "regression"]

GROUPS: tuple[str, ...] = ("general", "statistical", "info-theory", "landmarking", "regression")


class UndefinedMetaFeature(MetaLearnError):
    """A meta-feature (or an intermediate it needs) is undefined for this dataset.

    Raised inside feature and intermediate functions; the extractor turns it
    into ``NaN`` and records ``str(exc)`` as the reason. Never escapes
    :func:`~metalearn.metafeatures.extract_metafeatures`.
    """


@dataclass(frozen=True)
class MetaFeature:
    """One registered meta-feature.

    Parameters
    ----------
    name : str
        Stable name (OpenML quality name where the definition is OpenML's).
    group : str
        One of :data:`GROUPS`.
    requires : tuple of str
        Names of the shared intermediates ``compute`` reads from the context.
    compute : callable
        ``compute(ctx) -> float``; raises :class:`UndefinedMetaFeature` when undefined.
    description : str
        One-line definition, used for the documentation table.
    openml : bool
        True when ``name`` is an OpenML data quality and the definition is OpenML's.
    task : {"any", "classification", "regression"}
        Tasks for which the feature is defined.
    """

    name: str
    group: str
    requires: tuple[str, ...]
    compute: Callable[[ExtractionContext], float]
    description: str
    openml: bool = False
    task: TaskScope = "any"


REGISTRY: dict[str, MetaFeature] = {}


def _add(feature: MetaFeature) -> None:
    if feature.name in REGISTRY:
        raise MetaLearnError(f"meta-feature {feature.name!r} is registered twice")
    if feature.group not in GROUPS:
        raise MetaLearnError(f"meta-feature {feature.name!r} has unknown group {feature.group!r}")
    REGISTRY[feature.name] = feature


def metafeature(
    name: str,
    group: str,
    requires: Sequence[str] = (),
    *,
    description: str,
    openml: bool = False,
    task: TaskScope = "any",
) -> Callable[[Callable[[ExtractionContext], float]], Callable[[ExtractionContext], float]]:
    """Register the decorated ``compute(ctx) -> float`` as meta-feature ``name``."""

    def decorate(func: Callable[[ExtractionContext], float]) -> Callable[[ExtractionContext], float]:
        _add(MetaFeature(name, group, tuple(requires), func, description, openml, task))
        return func

    return decorate


def _weibull_quantile(q: float) -> Callable[[np.ndarray], float]:
    # OpenML computes quartiles with Apache Commons Math's default estimator,
    # which places the p-quantile at position p * (n + 1): numpy's "weibull".
    return lambda v: float(np.percentile(v, 100 * q, method="weibull"))


def _sd(values: np.ndarray) -> float:
    if values.size < 2:
        raise UndefinedMetaFeature("standard deviation needs at least 2 values")
    return float(np.std(values, ddof=1))


SUMMARIES: dict[str, tuple[Callable[[np.ndarray], float], str]] = {
    "Min": (lambda v: float(np.min(v)), "minimum"),
    "Quartile1": (_weibull_quantile(0.25), "first quartile (Weibull/Apache-Commons estimator)"),
    "Quartile2": (_weibull_quantile(0.5), "median (Weibull/Apache-Commons estimator)"),
    "Quartile3": (_weibull_quantile(0.75), "third quartile (Weibull/Apache-Commons estimator)"),
    "Max": (lambda v: float(np.max(v)), "maximum"),
    "Mean": (lambda v: float(np.mean(v)), "mean"),
    "SD": (_sd, "standard deviation (ddof=1)"),
}
OPENML_SUMMARIES = ("Min", "Quartile1", "Quartile2", "Quartile3", "Max", "Mean")


def register_summaries(
    base: str,
    group: str,
    vector: str,
    *,
    description: str,
    summaries: Sequence[str] = tuple(SUMMARIES),
    openml: bool = False,
    task: TaskScope = "any",
) -> None:
    """Register ``{Summary}{base}`` for each summary of the intermediate vector ``vector``.

    The vector's non-finite entries are dropped first; an empty vector makes
    every summary undefined with the reason ``"no values: ..."``. ``openml``
    applies only to the summaries OpenML publishes (Min, Quartile1-3, Max, Mean).
    """
    for key in summaries:
        func, what = SUMMARIES[key]
        _add(
            MetaFeature(
                name=f"{key}{base}",
                group=group,
                requires=(vector,),
                compute=_summary_compute(vector, func, description),
                description=f"{what} of {description}",
                openml=openml and key in OPENML_SUMMARIES,
                task=task,
            )
        )


def _summary_compute(vector: str, func: Callable[[np.ndarray], float], description: str) -> Callable:
    def compute(ctx: ExtractionContext) -> float:
        values = np.asarray(ctx.get(vector), dtype=float)
        values = values[np.isfinite(values)]
        if values.size == 0:
            raise UndefinedMetaFeature(f"no finite values among {description}")
        return func(values)

    return compute
