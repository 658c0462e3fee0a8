"""Greedy zero-shot portfolio (auto-sklearn 2 / TabRepo style)."""

from __future__ import annotations

import numpy as np

from metalearn.recommend._base import Ranking, Strategy, greedy_portfolio, nearest, similarity_weights


class PortfolioStrategy(Strategy):
    """Configurations that jointly minimise regret across KB datasets, chosen greedily.

    Parameters
    ----------
    n_neighbors : int, optional
        Restrict (and similarity-weight) the datasets to the query's nearest
        ``n_neighbors``; None uses every KB dataset equally (query-independent).
    """

    name = "portfolio"

    def __init__(self, n_neighbors: int | None = None) -> None:
        self.n_neighbors = n_neighbors

    def describe(self) -> str:
        """How the ranking is ordered."""
        over = f"the {self.n_neighbors} nearest datasets" if self.n_neighbors else "all knowledge-base datasets"
        return f"Order: greedy portfolio - each config adds the most to the best-so-far score across {over}."

    def rank(self, query: np.ndarray, k: int) -> Ranking:
        """Greedy portfolio of size ``k``."""
        ctx = self.ctx_
        if self.n_neighbors:
            rows, dist = nearest(ctx, query, self.n_neighbors)
            weights = similarity_weights(dist)
        else:
            rows, dist = np.arange(ctx.n_datasets), np.empty(0)
            weights = np.full(ctx.n_datasets, 1.0 / ctx.n_datasets)
        gains = ctx.norm[rows]
        mean = weights @ gains
        idx = np.array(greedy_portfolio(gains, weights, k, tie_break=mean), dtype=int)
        std = np.sqrt(np.maximum(weights @ (gains - mean[None, :]) ** 2, 0.0))
        return Ranking(self.name, idx, mean[idx], std[idx], rows if self.n_neighbors else np.empty(0, int), dist)
