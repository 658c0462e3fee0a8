"""The default strategy: kNN evidence and the performance model blended, then a diverse portfolio."""

from __future__ import annotations

import numpy as np

from metalearn.recommend._base import (
    Ranking,
    Strategy,
    greedy_portfolio,
    nearest,
    similarity_weights,
    weighted_mean_std,
)
from metalearn.recommend._context import TaskContext
from metalearn.recommend._model import PerformanceModel


class AutoStrategy(Strategy):
    """Blend, then diversify.

    1. Score every pool config by ``blend * model + (1 - blend) * kNN``: the
       performance model's prediction and the similarity-weighted mean
       normalised score on the ``n_neighbors`` nearest KB datasets.
    2. The best blended config comes first; the rest are chosen greedily to
       maximise the similarity-weighted best-so-far score on those
       neighbours (a portfolio conditioned on the query), with the blended
       score as a ``bonus``-weighted tie-breaker. Diversity comes from the
       portfolio objective: a config adds value only where the chosen ones
       are weak.

    Parameters
    ----------
    n_neighbors : int
        Neighbours whose evidence counts (all KB datasets when ``temperature`` is set).
    blend : float
        Weight of the performance model in step 1.
    global_weight : float
        Weight, in step 1, of the config's mean normalised score over all KB
        datasets (the robust, query-independent evidence a portfolio uses).
    temperature : float, optional
        Weight every KB dataset by ``exp(-distance / temperature)`` instead of
        inverse distance over the nearest ``n_neighbors``.
    bonus : float
        Weight of the blended score in step 2.
    """

    name = "auto"

    def __init__(self, n_neighbors: int = 10, blend: float = 0.5, bonus: float = 0.25, global_weight: float = 0.0,
                 temperature: float | None = None, model: PerformanceModel | None = None) -> None:
        self.n_neighbors = n_neighbors
        self.blend = blend
        self.bonus = bonus
        self.global_weight = global_weight
        self.temperature = temperature
        self.model = model

    def fit(self, ctx: TaskContext) -> AutoStrategy:
        """Fit the performance model (unless a fitted one was given)."""
        super().fit(ctx)
        self.model_ = self.model if self.model is not None else PerformanceModel().fit(ctx)
        self.global_mean_ = ctx.norm.mean(axis=0)
        return self

    def blended(self, query: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Blended score and spread of every pool config, with the neighbours used."""
        ctx = self.ctx_
        if self.temperature:
            nbrs, dist = nearest(ctx, query, ctx.n_datasets)
            weights = np.exp(-(dist - dist.min()) / self.temperature)
            weights /= weights.sum()
        else:
            nbrs, dist = nearest(ctx, query, self.n_neighbors)
            weights = similarity_weights(dist)
        knn_mean, knn_std = weighted_mean_std(ctx.norm[nbrs], weights)
        model_mean, model_std = self.model_.predict_codes(query, self.model_.config_codes_)
        knn_share = 1.0 - self.blend - self.global_weight
        score = self.blend * model_mean + knn_share * knn_mean + self.global_weight * self.global_mean_
        spread = np.sqrt(self.blend * model_std**2 + max(knn_share, 0.0) * knn_std**2)
        return score, spread, nbrs, dist, weights

    def rank(self, query: np.ndarray, k: int) -> Ranking:
        """Best blended config first, then a neighbour-conditioned diverse portfolio."""
        score, spread, nbrs, dist, weights = self.blended(query)
        first = int(np.argmax(score))
        idx = np.array(greedy_portfolio(self.ctx_.norm[nbrs], weights, k, tie_break=score, first=first,
                                        bonus=self.bonus), dtype=int)
        return Ranking(self.name, idx, score[idx], spread[idx], nbrs, dist)


def make_strategy(name: str, **kwargs) -> Strategy:
    """Strategy by name: ``auto``, ``knn``, ``portfolio``, ``portfolio-knn``, ``model``."""
    from metalearn.exceptions import InvalidParameterError
    from metalearn.recommend._knn import KNNStrategy
    from metalearn.recommend._portfolio import PortfolioStrategy

    factories = {
        "auto": AutoStrategy,
        "knn": KNNStrategy,
        "portfolio": PortfolioStrategy,
        "portfolio-knn": lambda **kw: PortfolioStrategy(n_neighbors=kw.pop("n_neighbors", 20), **kw),
        "model": PerformanceModel,
    }
    if name not in factories:
        raise InvalidParameterError(f"unknown strategy {name!r}; choose from {sorted(factories)}")
    return factories[name](**kwargs)


__all__ = ["AutoStrategy", "make_strategy", "TaskContext"]
