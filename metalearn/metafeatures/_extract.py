"""Run the registered meta-features on one dataset: :func:`extract_metafeatures`."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from metalearn.data import Dataset, load_dataset
from metalearn.exceptions import InvalidParameterError
from metalearn.metafeatures._context import ExtractionContext
from metalearn.metafeatures._registry import GROUPS, REGISTRY, MetaFeature, UndefinedMetaFeature
from metalearn.utils import check_random_state

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class MetaFeatures:
    """Meta-features of one dataset, in registry order.

    Attributes
    ----------
    values : dict of str to float
        Ordered ``name -> value``; undefined features are ``NaN``.
    groups : dict of str to str
        ``name -> group``.
    timings : dict of str to float
        Seconds: per feature name (its own compute plus the shared
        intermediates it was first to need), per group, and ``"total"``.
    undefined : dict of str to str
        ``name -> reason`` for every ``NaN`` value.
    task : str
        Task of the dataset.

    Examples
    --------
    >>> import metalearn
    >>> from metalearn.metafeatures import extract_metafeatures
    >>> mf = extract_metafeatures(metalearn.load_dataset("sklearn:wine"), groups=["general"])
    >>> mf["NumberOfInstances"], mf.undefined.get("NumberOfMissingValues")
    (178.0, None)
    """

    values: dict[str, float]
    groups: dict[str, str]
    timings: dict[str, float] = field(default_factory=dict)
    undefined: dict[str, str] = field(default_factory=dict)
    task: str = ""

    @property
    def names(self) -> tuple[str, ...]:
        """Feature names, in order."""
        return tuple(self.values)

    def __getitem__(self, name: str) -> float:
        return self.values[name]

    def __contains__(self, name: object) -> bool:
        return name in self.values

    def __iter__(self) -> Iterator[str]:
        return iter(self.values)

    def __len__(self) -> int:
        return len(self.values)

    def to_series(self) -> pd.Series:
        """The values as a float ``pandas.Series`` indexed by name."""
        return pd.Series(self.values, dtype=float, name="value")


def _as_dataset(dataset_or_X: object, y: object) -> Dataset:
    if isinstance(dataset_or_X, Dataset):
        if y is not None:
            raise InvalidParameterError("y must be None when a Dataset is given: the Dataset carries its target")
        return dataset_or_X
    if y is not None:
        return load_dataset((dataset_or_X, y))
    if isinstance(dataset_or_X, tuple):
        return load_dataset(dataset_or_X)
    raise InvalidParameterError(
        f"extract_metafeatures needs a Dataset, an (X, y) tuple, or X with y=...; got {type(dataset_or_X).__name__} "
        "without a target"
    )


def select_features(groups: Sequence[str] | None = None, features: Sequence[str] | None = None) -> list[MetaFeature]:
    """Registered features of ``groups`` (all when None), restricted to ``features`` when given."""
    if isinstance(groups, str):
        groups = [groups]
    unknown = sorted(set(groups or ()) - set(GROUPS))
    if unknown:
        raise InvalidParameterError(f"unknown meta-feature group(s) {unknown}; choose from {list(GROUPS)}")
    missing = sorted(set(features or ()) - set(REGISTRY))
    if missing:
        raise InvalidParameterError(f"unknown meta-feature(s) {missing}; see metafeature_table() for the names")
    chosen = [f for f in REGISTRY.values() if groups is None or f.group in groups]
    chosen.sort(key=lambda f: GROUPS.index(f.group))  # stable: registry order within a group
    if features is not None:
        wanted = set(features)
        chosen = [f for f in chosen if f.name in wanted]
    return chosen


def _seed(random_state: int | np.random.Generator | None) -> int:
    if isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool):
        return int(random_state)
    return int(check_random_state(random_state).integers(2**31))


def compute_feature(feature: MetaFeature, ctx: ExtractionContext) -> tuple[float, str | None]:
    """Value of ``feature`` on ``ctx`` and the reason when it is undefined (never raises)."""
    if feature.task != "any" and ctx.dataset.task != feature.task:
        return math.nan, f"{feature.task} only"
    try:
        for name in feature.requires:
            ctx.get(name)
        value = float(feature.compute(ctx))
    except UndefinedMetaFeature as exc:
        return math.nan, str(exc)
    except Exception as exc:  # noqa: BLE001 - recorded as the feature's reason and logged, never silent
        logger.warning("meta-feature %s failed on %s: %r", feature.name, ctx.dataset.name, exc)
        return math.nan, f"error: {type(exc).__name__}: {exc}"
    if not math.isfinite(value):
        return math.nan, f"not finite ({value})"
    return value, None


def extract_metafeatures(
    dataset_or_X: object,
    y: object = None,
    *,
    groups: Sequence[str] | None = None,
    features: Sequence[str] | None = None,
    random_state: int | np.random.Generator | None = 0,
) -> MetaFeatures:
    """Compute meta-features of a dataset.

    Parameters
    ----------
    dataset_or_X : Dataset or array-like or DataFrame or tuple
        A :class:`~metalearn.Dataset`, an ``(X, y)`` tuple, or ``X`` with ``y``.
        Raw input goes through :func:`metalearn.load_dataset` (which raises a
        :class:`~metalearn.exceptions.InvalidDatasetError` subclass on unusable data).
    y : array-like, optional
        Target, when ``dataset_or_X`` is ``X``.
    groups : sequence of str, optional
        Groups to compute (``"general"``, ``"statistical"``, ``"info-theory"``,
        ``"landmarking"``, ``"regression"``); all by default.
    features : sequence of str, optional
        Compute only these features (only the intermediates they need are built).
    random_state : int, numpy Generator or None
        Seed of every subsample and landmark model; equal seeds give equal values.

    Returns
    -------
    MetaFeatures
        Values in registry order; a feature that is undefined for the dataset
        (or for its task) is ``NaN`` with its reason in ``.undefined``.

    Examples
    --------
    >>> import numpy as np
    >>> from metalearn.metafeatures import extract_metafeatures
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.normal(size=(100, 3)), np.repeat([0, 1], 50)
    >>> mf = extract_metafeatures(X, y)
    >>> mf["NumberOfFeatures"], mf["ClassEntropy"], mf.undefined["TargetSkewness"]
    (4.0, 1.0, 'regression only')
    """
    chosen = select_features(groups, features)
    dataset = _as_dataset(dataset_or_X, y)
    ctx = ExtractionContext(dataset, _seed(random_state))
    values: dict[str, float] = {}
    undefined: dict[str, str] = {}
    timings: dict[str, float] = {g: 0.0 for g in GROUPS if any(f.group == g for f in chosen)}
    start_all = time.perf_counter()
    # The matrices here are small: threaded BLAS gains nothing and oversubscribes a busy machine.
    with threadpool_limits(limits=1):
        _run(chosen, ctx, values, undefined, timings)
    timings["total"] = time.perf_counter() - start_all
    logger.debug("extracted %d meta-features of %s in %.3fs", len(values), dataset.name, timings["total"])
    return MetaFeatures(
        values=values,
        groups={f.name: f.group for f in chosen},
        timings=timings,
        undefined=undefined,
        task=dataset.task,
    )


def _run(
    chosen: list[MetaFeature],
    ctx: ExtractionContext,
    values: dict[str, float],
    undefined: dict[str, str],
    timings: dict[str, float],
) -> None:
    for feature in chosen:
        start = time.perf_counter()
        values[feature.name], reason = compute_feature(feature, ctx)
        elapsed = time.perf_counter() - start
        timings[feature.name] = elapsed
        timings[feature.group] += elapsed
        if reason is not None:
            undefined[feature.name] = reason
