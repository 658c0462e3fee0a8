"""The KB's evidence as a prior for the optimizer (transfer across datasets)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from metalearn.recommend._base import nearest, similarity_weights
from metalearn.recommend._context import TaskContext
from metalearn.recommend._model import PerformanceModel


@dataclass(frozen=True, eq=False)
class TransferPrior:
    """Predicted normalised score of any configuration on a new dataset, from the KB.

    ``predict`` uses the performance model (so it covers the whole space, not
    only the pool); ``neighbor_observations`` lists what the nearest KB
    datasets measured, for RGPE-style weighted extra observations.

    Examples
    --------
    >>> prior = TransferPrior.from_context(ctx, model, query)  # doctest: +SKIP
    >>> mean, std = prior.predict([space.default("svm")])  # doctest: +SKIP
    """

    model: PerformanceModel
    query: np.ndarray
    ctx: TaskContext
    n_neighbors: int = 10

    @classmethod
    def from_context(cls, ctx: TaskContext, model: PerformanceModel, query: np.ndarray,
                     n_neighbors: int = 10) -> TransferPrior:
        """Prior for the dataset with scaled meta-features ``query``."""
        return cls(model=model, query=np.asarray(query, dtype=float), ctx=ctx, n_neighbors=n_neighbors)

    def predict(self, configs: list[dict]) -> tuple[np.ndarray, np.ndarray]:
        """Mean and spread of the normalised score (0 = worst pool config on similar data, 1 = best)."""
        if not configs:
            return np.empty(0), np.empty(0)
        return self.model.predict_configs(self.query, configs)

    def neighbor_observations(self, k: int = 10) -> list[tuple[dict, float, float]]:
        """``(config, normalised score, weight)`` of the ``k`` best configs on each nearest dataset."""
        rows, dist = nearest(self.ctx, self.query, self.n_neighbors)
        weights = similarity_weights(dist)
        out = []
        for row, w in zip(rows, weights):
            order = np.argsort(-self.ctx.norm[row])[:k]
            out.extend((self.ctx.configs[c], float(self.ctx.norm[row, c]), float(w)) for c in order)
        return out
