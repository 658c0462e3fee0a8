"""k-nearest-datasets warm start (auto-sklearn 1 style)."""

from __future__ import annotations

import numpy as np

from metalearn.recommend._base import Ranking, Strategy, nearest, similarity_weights, weighted_mean_std


class KNNStrategy(Strategy):
    """Nearest KB datasets in scaled meta-feature space; each contributes its best configs in turn.

    Round ``r`` takes the ``r``-th best configuration of every neighbour, in
    order of distance, skipping duplicates. Predicted scores are the
    similarity-weighted mean normalised score over the neighbours.

    Parameters
    ----------
    n_neighbors : int
        Datasets consulted.
    feature_weights : ndarray, optional
        Per-feature weights of the L1 distance (learned or an ablation mask).
    """

    name = "knn"

    def __init__(self, n_neighbors: int = 10, feature_weights: np.ndarray | None = None) -> None:
        self.n_neighbors = n_neighbors
        self.feature_weights = feature_weights

    def describe(self) -> str:
        """How the ranking is ordered."""
        return (f"Order: each of the {self.n_neighbors} nearest datasets contributes its best config in turn, "
                "nearest first.")

    def rank(self, query: np.ndarray, k: int) -> Ranking:
        """Round-robin over neighbours' best configurations."""
        ctx = self.ctx_
        nbrs, dist = nearest(ctx, query, self.n_neighbors, self.feature_weights)
        mean, std = weighted_mean_std(ctx.norm[nbrs], similarity_weights(dist))
        orders = [np.lexsort((-mean, -ctx.norm[d])) for d in nbrs]  # each neighbour's best first
        chosen: list[int] = []
        seen: set[int] = set()
        for r in range(ctx.norm.shape[1]):
            for order in orders:
                c = int(order[r])
                if c not in seen:
                    seen.add(c)
                    chosen.append(c)
            if len(chosen) >= k:
                break
        idx = np.array(chosen[:k], dtype=int)
        return Ranking(self.name, idx, mean[idx], std[idx], nbrs, dist)
