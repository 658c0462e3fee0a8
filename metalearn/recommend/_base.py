"""The interface every recommendation strategy implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from metalearn.recommend._context import TaskContext

EPS = 1e-3


@dataclass(frozen=True)
class Ranking:
    """A strategy's answer: config indices of the context, best first, with predicted normalised scores.

    ``neighbors`` / ``neighbor_distances`` are context dataset indices the
    strategy relied on (empty for global strategies).
    """

    strategy: str
    indices: np.ndarray
    scores: np.ndarray
    stds: np.ndarray
    neighbors: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=int))
    neighbor_distances: np.ndarray = field(default_factory=lambda: np.empty(0))


class Strategy(ABC):
    """Ranks the context's configurations for a new dataset (given by its scaled meta-features).

    ``fit`` sees only the context (KB datasets, which in a benchmark exclude
    the held-out family); ``rank`` sees the query.
    """

    name = "strategy"

    def fit(self, ctx: TaskContext) -> Strategy:
        """Learn whatever the strategy needs from the KB context; returns self."""
        self.ctx_ = ctx
        return self

    def scale(self, metafeatures: Mapping[str, float | None]) -> np.ndarray:
        """A dataset's meta-features scaled into the query vector ``rank`` expects.

        Strategies may use a subset of the context's meta-features (see
        :class:`~metalearn.recommend.AutoStrategy`), so queries are always
        scaled by the strategy that ranks them.
        """
        return self.ctx_.scaler.transform(metafeatures)

    @abstractmethod
    def rank(self, query: np.ndarray, k: int) -> Ranking:
        """Top ``k`` configurations for a dataset with scaled meta-features ``query``."""

    @abstractmethod
    def describe(self) -> str:
        """One sentence on how the ranking is ordered (shown by ``Recommendation.explain``)."""


def nearest(ctx: TaskContext, query: np.ndarray, n: int, weights: np.ndarray | None = None
            ) -> tuple[np.ndarray, np.ndarray]:
    """Indices and distances of the ``n`` nearest KB datasets (ties broken by index)."""
    dist = ctx.distances(query, weights)
    order = np.lexsort((np.arange(len(dist)), dist))[: max(1, min(n, len(dist)))]
    return order, dist[order]


def similarity_weights(distances: np.ndarray) -> np.ndarray:
    """Inverse-distance weights that sum to one."""
    w = 1.0 / (distances + EPS)
    return w / w.sum()


def weighted_mean_std(values: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column-wise weighted mean and standard deviation of a rows x columns array."""
    mean = weights @ values
    var = weights @ (values - mean[None, :]) ** 2
    return mean, np.sqrt(np.maximum(var, 0.0))


def greedy_portfolio(gains: np.ndarray, weights: np.ndarray, k: int, tie_break: np.ndarray | None = None,
                     first: int | None = None, bonus: float = 0.0) -> list[int]:
    """Greedy set that maximises the weighted mean of the best normalised score per dataset.

    Parameters
    ----------
    gains : ndarray (datasets x configs)
        Normalised scores.
    weights : ndarray (datasets,)
        Importance of each dataset.
    k : int
        Portfolio size.
    tie_break : ndarray (configs,), optional
        Added (times ``bonus``, or 1e-6 when ``bonus`` is 0) to break ties.
    first : int, optional
        Force the first member.
    """
    n_cfg = gains.shape[1]
    tb = np.zeros(n_cfg) if tie_break is None else tie_break
    chosen: list[int] = []
    best = np.zeros(gains.shape[0])
    if first is not None:
        chosen.append(first)
        best = gains[:, first].copy()
    while len(chosen) < min(k, n_cfg):
        value = weights @ np.maximum(best[:, None], gains) + (bonus if bonus else 1e-6) * tb
        value[chosen] = -np.inf
        pick = int(np.argmax(value))
        chosen.append(pick)
        best = np.maximum(best, gains[:, pick])
    return chosen
