"""The KB's evidence as a prior for the optimizer (transfer across datasets).

Two kinds of evidence describe a configuration on a new dataset: the
performance model's prediction from meta-features (any configuration), and
the KB table - what each KB dataset measured for the pool configurations.
The table is read through *dataset weights*: at first the meta-feature
similarity of each KB dataset to the new one; once the new dataset has its
own results, also how well each KB dataset ranks them (:meth:`TransferPrior.condition`),
so the prior moves towards the KB datasets that behave like this one, whatever
their meta-features say.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from metalearn.exceptions import InvalidParameterError
from metalearn.recommend._base import nearest, similarity_weights, weighted_mean_std
from metalearn.recommend._context import TaskContext
from metalearn.recommend._model import PerformanceModel
from metalearn.space import get_space

#: Number of nearest KB datasets whose median distance sets the similarity kernel's width.
KERNEL_NEIGHBORS = 10
#: Cells of the temporary array :func:`ranking_loss` builds at once (about 32 MB of float64).
CHUNK_CELLS = 4_000_000


@dataclass(frozen=True, eq=False)
class TransferPrior:
    """Predicted normalised score of any configuration on a new dataset, from the KB.

    Parameters
    ----------
    model : PerformanceModel
        Fitted on ``ctx``; predicts configurations outside the pool.
    query : ndarray
        The new dataset's meta-features, scaled like ``ctx``.
    ctx : TaskContext
        The KB table (datasets x pool configurations).
    n_neighbors : int
        Nearest datasets listed by :meth:`neighbor_observations`.
    agreement : float
        How fast own results move the dataset weights: a KB dataset's weight is
        ``similarity * exp(-agreement * sqrt(P) * loss)`` where ``loss`` is the
        share of the ``P`` ordered pairs of own results that it ranks the other way.
    model_share : float
        Weight of the performance model in the prediction for pool
        configurations (the rest is the weighted KB table).
    dataset_weights : ndarray, optional
        Weights of the KB datasets (set by :meth:`condition`; default: similarity).

    Examples
    --------
    >>> prior = TransferPrior.from_context(ctx, model, query)  # doctest: +SKIP
    >>> mean, std = prior.predict([space.default("svm")])  # doctest: +SKIP
    >>> prior = prior.condition(tried_configs, their_scores)  # doctest: +SKIP
    """

    model: PerformanceModel
    query: np.ndarray
    ctx: TaskContext
    n_neighbors: int = 10
    agreement: float = 2.0
    model_share: float = 0.5
    dataset_weights: np.ndarray | None = None
    _pool: dict = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if not (np.isfinite(self.agreement) and self.agreement >= 0) or not 0.0 <= self.model_share <= 1.0:
            raise InvalidParameterError(f"TransferPrior needs agreement >= 0 and model_share in [0, 1], not "
                                        f"{self.agreement!r} / {self.model_share!r}")
        if not self._pool:  # built once; copies made by condition() share it
            object.__setattr__(self, "_pool", _pool_table(self.ctx, self.model, self.query))

    @classmethod
    def from_context(cls, ctx: TaskContext, model: PerformanceModel, query: np.ndarray,
                     n_neighbors: int = 10, **params) -> TransferPrior:
        """Prior for the dataset with scaled meta-features ``query`` (``params``: see the class)."""
        return cls(model=model, query=np.asarray(query, dtype=float), ctx=ctx, n_neighbors=n_neighbors, **params)

    @property
    def weights(self) -> np.ndarray:
        """Current weight of each KB dataset (sums to one)."""
        if self.dataset_weights is not None:
            return self.dataset_weights
        return _softmax(self._pool["log_similarity"])

    def pool_columns(self, configs: list[dict]) -> list[int | None]:
        """Column of each configuration in the KB table (None when it is not a pool configuration)."""
        index, space = self._pool["index"], self._pool["space"]
        return [index.get(space.config_id(c)) for c in configs]

    @property
    def pool_configs(self) -> tuple[dict, ...]:
        """The KB table's configurations."""
        return self.ctx.configs

    def predict(self, configs: list[dict]) -> tuple[np.ndarray, np.ndarray]:
        """Mean and spread of the normalised score (0 = worst pool config on similar data, 1 = best).

        Pool configurations mix the performance model with the weighted KB
        table; others get the performance model's prediction.
        """
        if not configs:
            return np.empty(0), np.empty(0)
        cols = self.pool_columns(configs)
        known = np.array([c is not None for c in cols])
        mean, std = np.empty(len(configs)), np.empty(len(configs))
        if not known.all():
            others = [c for c, k in zip(configs, known) if not k]
            mean[~known], std[~known] = self.model.predict_configs(self.query, others)
        if known.any():
            idx = np.array([c for c in cols if c is not None])
            t_mean, t_std = weighted_mean_std(self.ctx.norm[:, idx], self.weights)
            t_std = t_std + 0.02
            a = self.model_share
            mean[known] = a * self._pool["model_mean"][idx] + (1 - a) * t_mean
            std[known] = np.sqrt(a * self._pool["model_std"][idx] ** 2 + (1 - a) * t_std ** 2)
        return mean, std

    def condition(self, configs: list[dict], scores: np.ndarray, folds: np.ndarray | None = None) -> TransferPrior:
        """A copy whose dataset weights also reflect how well each KB dataset ranks these own results.

        Only pool configurations with a finite score count; with fewer than
        three of them the weights stay the meta-feature similarity. ``folds``
        (the fold scores the :class:`~metalearn.engine.AdaptivePrior` protocol
        passes along) are not used by this prior.
        """
        scores = np.asarray(scores, dtype=float)
        if scores.shape != (len(configs),):
            raise InvalidParameterError(f"condition() needs one score per configuration: {len(configs)} "
                                        f"configurations, scores of shape {scores.shape}")
        cols = self.pool_columns(configs)
        keep = [i for i, c in enumerate(cols) if c is not None and np.isfinite(scores[i])]
        log_w = self._pool["log_similarity"]
        if len(keep) >= 3:
            loss, n_pairs = ranking_loss(self.ctx.norm[:, [cols[i] for i in keep]], scores[keep])
            if n_pairs:
                log_w = log_w - self.agreement * np.sqrt(n_pairs) * loss
        return replace(self, dataset_weights=_softmax(log_w))

    def portfolio_gains(self, candidates: list[dict], tried: list[dict]) -> np.ndarray:
        """Expected gain of each candidate over the ``tried`` ones, across the weighted KB datasets.

        The gain on a KB dataset is how much the candidate's normalised score
        there exceeds the best tried pool configuration's; NaN for candidates
        outside the pool (the table knows nothing about them).
        """
        cand = self.pool_columns(candidates)
        done = [c for c in self.pool_columns(tried) if c is not None]
        norm = self.ctx.norm
        best = norm[:, done].max(axis=1) if done else np.zeros(norm.shape[0])
        gains = np.full(len(candidates), np.nan)
        inside = [i for i, c in enumerate(cand) if c is not None]
        if inside:
            cols = [cand[i] for i in inside]
            gains[inside] = self.weights @ np.maximum(norm[:, cols] - best[:, None], 0.0)
        return gains

    def neighbor_observations(self, k: int = 10) -> list[tuple[dict, float, float]]:
        """``(config, normalised score, weight)`` of the ``k`` best configs on each nearest dataset."""
        rows, dist = nearest(self.ctx, self.query, self.n_neighbors)
        weights = similarity_weights(dist)
        out = []
        for row, w in zip(rows, weights):
            order = np.argsort(-self.ctx.norm[row])[:k]
            out.extend((self.ctx.configs[c], float(self.ctx.norm[row, c]), float(w)) for c in order)
        return out


def ranking_loss(table: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, int]:
    """Share of ordered pairs of ``scores`` that each row of ``table`` orders the other way.

    Parameters
    ----------
    table : ndarray (datasets x observations)
        KB scores of the observed configurations.
    scores : ndarray (observations,)
        Own scores.

    Returns
    -------
    loss : ndarray (datasets,)
        Discordant pairs / ``n_pairs`` (ties on either side are not discordant).
    n_pairs : int
        Pairs of own results with different scores.

    Examples
    --------
    >>> import numpy as np
    >>> loss, n = ranking_loss(np.array([[0.1, 0.5, 0.9], [0.9, 0.5, 0.1]]), np.array([1.0, 2.0, 3.0]))
    >>> loss.tolist(), n
    ([0.0, 1.0], 3)
    """
    own = np.sign(scores[:, None] - scores[None, :])
    n_pairs = int((own > 0).sum())
    if n_pairs == 0:
        return np.zeros(table.shape[0]), 0
    discordant = np.empty(table.shape[0])
    step = max(1, CHUNK_CELLS // max(1, own.size))  # rows per chunk, bounding the (rows x n x n) temporary
    for start in range(0, table.shape[0], step):
        part = table[start:start + step]
        kb = np.sign(part[:, :, None] - part[:, None, :])
        discordant[start:start + step] = ((kb * own[None]) < 0).sum(axis=(1, 2)) / 2
    return discordant / n_pairs, n_pairs


def _pool_table(ctx: TaskContext, model: PerformanceModel, query: np.ndarray) -> dict:
    """Lookup of pool configurations, the model's prediction for each and the similarity kernel."""
    query = np.asarray(query, dtype=float)
    space = get_space(ctx.task)
    model_mean, model_std = model.predict_configs(query, list(ctx.configs))
    dist = ctx.distances(query)
    near = np.sort(dist)[:KERNEL_NEIGHBORS] - dist.min()
    width = max(float(np.median(near)), 1e-6)
    return {"index": {space.config_id(c): i for i, c in enumerate(ctx.configs)}, "space": space,
            "model_mean": model_mean, "model_std": model_std, "log_similarity": -(dist - dist.min()) / width}


def _softmax(log_w: np.ndarray) -> np.ndarray:
    w = np.exp(log_w - np.max(log_w))
    return w / w.sum()
