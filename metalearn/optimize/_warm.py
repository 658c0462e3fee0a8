"""Where a search starts: the knowledge base's recommendation and transfer prior, or family defaults.

Shared by :func:`metalearn.optimize` and the estimators (their ``warm_start``
parameter), so that the plain function and ``fit`` start alike.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from metalearn.engine import Prior
from metalearn.exceptions import InvalidParameterError, KnowledgeBaseError, KnowledgeBaseIntegrityError
from metalearn.metafeatures import extract_metafeatures
from metalearn.recommend import Recommendation, get_recommender
from metalearn.space import fallback_order, get_space

logger = logging.getLogger(__name__)

WARM_START_MODES = ("auto", "defaults", "none")
#: Recommended configs tried first (the recommendation's top 3); the transfer prior's adaptive
#: portfolio chooses the next ones (see BayesianOptimizer). One per model family was tried and not
#: adopted: see docs/design_alternatives.md.
WARM_START_WITH_PRIOR = 3
#: Size of the recommendation the warm start is chosen from (kept as the estimators' ``recommendation_``).
RECOMMENDED = 10


@dataclass(frozen=True)
class WarmStart:
    """What a search starts from.

    Attributes
    ----------
    configs : list of dict or None
        Configurations to try first.
    prior : Prior or None
        The knowledge base's transfer prior (``"auto"`` with a usable KB only).
    recommendation : Recommendation or None
        The recommendation ``configs`` were taken from.
    metafeatures : dict or None
        The dataset's meta-features, when they were computed.
    """

    configs: list[dict] | None = None
    prior: Prior | None = None
    recommendation: Recommendation | None = None
    metafeatures: dict | None = None


def check_warm_start(warm_start) -> None:
    """Raise :class:`InvalidParameterError` unless ``warm_start`` is a mode, None/False or a list of configs."""
    if isinstance(warm_start, str):
        if warm_start in WARM_START_MODES:
            return
    elif warm_start is None or warm_start is False or isinstance(warm_start, (list, tuple)):
        return
    raise InvalidParameterError(
        f"warm_start must be one of {WARM_START_MODES}, None/False, or a list of configurations; got {warm_start!r}")


def resolve_warm_start(warm_start, dataset, kb=None, random_state: int = 0) -> WarmStart:
    """Turn a ``warm_start`` setting into configurations (and, for ``"auto"``, the KB's prior).

    Parameters
    ----------
    warm_start : {"auto", "defaults", "none"}, None, False or list of dict
        ``"auto"``: the knowledge base's top recommendations and its transfer
        prior, or the family defaults (with a warning) when the KB has nothing
        for this task; ``"defaults"``: each model family's default, strongest
        first; ``"none"``/None/False: nothing; a list: these configurations.
    dataset : Dataset
    kb : None, path, KnowledgeBase or Recommender
        As in :func:`metalearn.recommend` (None: the shipped KB).
    random_state : int
        Seed of the meta-feature extraction.

    Returns
    -------
    WarmStart
    """
    check_warm_start(warm_start)
    space = get_space(dataset.task)
    if isinstance(warm_start, (list, tuple)):
        return WarmStart([space.validate(dict(c)) for c in warm_start])
    if warm_start in (None, False, "none"):
        return WarmStart()
    defaults = [space.default(f) for f in fallback_order() if f in space.available_families]
    if warm_start == "defaults":
        return WarmStart(defaults)
    return _recommended(dataset, space, defaults, kb, random_state)


def _recommended(dataset, space, defaults: list[dict], kb, random_state: int) -> WarmStart:
    """Ask the knowledge base; fall back to family defaults (with a warning) when it has nothing."""
    metafeatures = extract_metafeatures(dataset, random_state=random_state).values
    try:
        recommender = get_recommender(kb)
        recommendation = recommender.recommend(dataset, metafeatures, k=RECOMMENDED)
        prior = recommender.prior(dataset.task, metafeatures)
    except KnowledgeBaseIntegrityError:
        raise  # tampering or damage is an error on every entry point, never a silent fallback
    except KnowledgeBaseError as exc:
        logger.warning("no usable knowledge base (%s); warm-starting from family defaults", exc)
        return WarmStart(defaults, metafeatures=metafeatures)
    usable = [c for c in recommendation.configs if c["family"] in space.available_families]
    if len(usable) < len(recommendation.configs):
        logger.warning("skipping recommended configurations of model families whose library is not installed "
                       "(%s); pip install 'metalearn[boosting]' to use them",
                       ", ".join(sorted({c["family"] for c in recommendation.configs} - {c["family"] for c in usable})))
    return WarmStart(usable[:WARM_START_WITH_PRIOR], prior, recommendation, metafeatures)
