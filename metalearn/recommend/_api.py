"""``metalearn.recommend``: meta-features -> knowledge base -> ranked warm-start configurations."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from metalearn.data import load_dataset
from metalearn.exceptions import InvalidParameterError, KnowledgeBaseError, KnowledgeBaseIntegrityError
from metalearn.kb import ARTIFACT_FILES, DB_NAME, KnowledgeBase, read_verified
from metalearn.metafeatures import extract_metafeatures
from metalearn.recommend._recommendation import Recommendation
from metalearn.recommend._recommender import Recommender

logger = logging.getLogger(__name__)


@runtime_checkable
class BackboneTask(Protocol):
    """A task recommended a neural backbone instead of pipelines (:class:`metalearn.neural.FewShotTask`).

    :func:`recommend` dispatches such a task to its own method, so this layer
    never imports :mod:`metalearn.neural` (which sits above it).
    """

    def recommend_backbone(self, registry: Any = None) -> Any:
        """The backbone recommendation for the task (``registry``: None for the shipped one)."""


def get_recommender(kb=None, strategy: str = "auto") -> Recommender:
    """A :class:`Recommender` for ``kb`` (None: the shipped KB; a path; a KnowledgeBase; a Recommender).

    For a KB directory with the default strategy, the published artifact
    (``recommender.json`` + ``recommender.npz``) is used when its manifest
    lists it: both files are checked against their sha256 and parsed as data.
    An artifact of another format, search space or database is refitted
    (with a warning); a malformed one raises ``KnowledgeBaseIntegrityError``.
    """
    if isinstance(kb, Recommender):
        return kb
    if isinstance(kb, KnowledgeBase):
        return Recommender(kb, strategy)
    if kb is not None and not isinstance(kb, (str, Path)):
        raise InvalidParameterError(f"kb must be None, a path, a KnowledgeBase or a Recommender, not {kb!r}")
    base = KnowledgeBase.open(kb)
    manifest = base.manifest
    if strategy != "auto" or manifest is None or ARTIFACT_FILES[0] not in manifest["sha256"]:
        return Recommender(base, strategy)
    json_bytes, npz_bytes = (read_verified(base.path, name, manifest) for name in ARTIFACT_FILES)
    database = manifest.get("database", DB_NAME)
    try:
        return Recommender.from_bytes(json_bytes, npz_bytes, base, str(base.path / ARTIFACT_FILES[0]),
                                      kb_sha256=manifest["sha256"][database])
    except KnowledgeBaseIntegrityError:
        raise
    except KnowledgeBaseError as exc:
        logger.warning("%s; fitting the recommender now instead", exc)
    return Recommender(base, strategy)


def recommend(dataset, *, target: str | None = None, task: str | None = None, k: int = 10, kb=None,
              strategy: str = "auto", random_state: int = 0) -> Recommendation:
    """Rank pipeline configurations to try first on ``dataset``, with the evidence behind them.

    Parameters
    ----------
    dataset : any source accepted by :func:`metalearn.load_dataset`
        Or a :class:`metalearn.neural.FewShotTask` (returns a backbone recommendation).
    target, task : str, optional
        As in :func:`metalearn.load_dataset`.
    k : int
        Number of configurations.
    kb : None, path, KnowledgeBase or Recommender
        Knowledge base to consult (default: the shipped one). Pass a
        :class:`Recommender` to reuse fitted strategies across calls.
    strategy : {"auto", "knn", "portfolio", "portfolio-knn", "model"}
    random_state : int
        Seed of the meta-feature subsampling.

    Returns
    -------
    Recommendation

    Examples
    --------
    >>> import metalearn
    >>> rec = metalearn.recommend("sklearn:wine", k=3)  # doctest: +SKIP
    >>> rec.configs[0]["family"]  # doctest: +SKIP
    'extra_trees'
    """
    if isinstance(dataset, BackboneTask):
        return dataset.recommend_backbone(registry=kb)
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise InvalidParameterError(f"k must be a positive integer, not {k!r}")
    t0 = time.perf_counter()
    ds = load_dataset(dataset, target=target, task=task)
    t1 = time.perf_counter()
    mf = extract_metafeatures(ds, random_state=random_state)
    t2 = time.perf_counter()
    recommender = get_recommender(kb, strategy)
    t3 = time.perf_counter()
    return recommender.recommend(ds, mf.values, k=k, timings={"load": t1 - t0, "metafeatures": t2 - t1,
                                                               "kb_open": t3 - t2})

