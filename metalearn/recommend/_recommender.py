"""Fitted recommenders (strategies trained on a KB), reusable across calls and savable as an artifact."""

from __future__ import annotations

import logging
import pickle
import time
import zlib
from dataclasses import replace
from pathlib import Path

import numpy as np
import sklearn

from metalearn.exceptions import KnowledgeBaseError
from metalearn.recommend._auto import make_strategy
from metalearn.recommend._base import Strategy
from metalearn.recommend._context import TaskContext
from metalearn.recommend._prior import TransferPrior
from metalearn.recommend._recommendation import Evidence, Neighbor, Recommendation
from metalearn.space import SPACE_VERSION

logger = logging.getLogger(__name__)

ARTIFACT_NAME = "recommender.joblib"
#: Bump whenever a pickled strategy's attributes change: older artifacts are then refitted.
ARTIFACT_FORMAT = 5


class Recommender:
    """Strategies fitted on one knowledge base, one per task, fitted on first use.

    Parameters
    ----------
    kb : KnowledgeBase
    strategy : str
        ``auto``, ``knn``, ``portfolio``, ``portfolio-knn`` or ``model``.
    min_coverage : float
        KB datasets evaluated on fewer than this share of the pool are ignored.
    strategy_params : dict, optional
        Keyword arguments of the strategy.
    """

    def __init__(self, kb, strategy: str = "auto", min_coverage: float = 0.9,
                 strategy_params: dict | None = None) -> None:
        self.kb = kb
        self.strategy = strategy
        self.min_coverage = min_coverage
        self.strategy_params = dict(strategy_params or {})
        self._fitted: dict[str, tuple[TaskContext, Strategy]] = {}
        self._packed: dict[str, bytes] = {}  # tasks read from an artifact, unpickled on first use

    def fitted(self, task: str) -> tuple[TaskContext, Strategy]:
        """The context and fitted strategy of ``task`` (fitted now if needed)."""
        if task not in self._fitted and task in self._packed:
            self._fitted[task] = pickle.loads(zlib.decompress(self._packed.pop(task)))  # noqa: S301 - our artifact
        if task not in self._fitted:
            t0 = time.perf_counter()
            ctx = TaskContext.from_kb(self.kb, task, min_coverage=self.min_coverage)
            strat = make_strategy(self.strategy, **self.strategy_params).fit(ctx)
            self._fitted[task] = (ctx, strat)
            logger.info("fitted %s recommender for %s on %d datasets in %.1f s", self.strategy, task,
                        ctx.n_datasets, time.perf_counter() - t0)
        return self._fitted[task]

    def prior(self, task: str, metafeatures: dict) -> TransferPrior:
        """The transfer prior for a dataset with these meta-features."""
        _, strat = self.fitted(task)
        ctx = strat.ctx_  # the strategy's own meta-features (see AutoStrategy)
        model = getattr(strat, "model_", None)
        if model is None:
            from metalearn.recommend._model import PerformanceModel

            model = PerformanceModel().fit(ctx)
        return TransferPrior.from_context(ctx, model, strat.scale(metafeatures))

    def recommend(self, dataset, metafeatures: dict, k: int = 10, timings: dict | None = None) -> Recommendation:
        """Rank configurations for a validated ``dataset`` whose meta-features are given."""
        t0 = time.perf_counter()
        ctx, strat = self.fitted(dataset.task)
        t1 = time.perf_counter()
        query = strat.scale(metafeatures)
        ranking = strat.rank(query, k)
        if len(ranking.neighbors) == 0:
            from metalearn.recommend._base import nearest

            nbrs, dist = nearest(strat.ctx_, query, 10)
        else:
            nbrs, dist = ranking.neighbors, ranking.neighbor_distances
        rec = _assemble(dataset, ctx, ranking, nbrs, dist, metafeatures, self.strategy, strat.describe())
        extra = {"kb_fit": t1 - t0, "rank": time.perf_counter() - t1}
        return _with_timings(rec, {**(timings or {}), **extra}, getattr(self.kb, "path", None))

    def save(self, path: str | Path, tasks: tuple[str, ...] = ("classification", "regression")) -> Path:
        """Fit every task and write the artifact (joblib) with the versions it depends on.

        Each task is pickled and compressed on its own, so a user's first
        ``recommend`` decompresses only the task it needs (decompression is
        most of the artifact's load time).
        """
        import joblib

        packed = {t: zlib.compress(pickle.dumps(self.fitted(t), protocol=pickle.HIGHEST_PROTOCOL), 3) for t in tasks}
        payload = {"format": ARTIFACT_FORMAT, "sklearn": sklearn.__version__, "space_version": SPACE_VERSION,
                   "strategy": self.strategy,
                   "min_coverage": self.min_coverage, "params": self.strategy_params, "packed": packed}
        path = Path(path)
        joblib.dump(payload, path)
        return path

    @classmethod
    def load(cls, path: str | Path, kb) -> Recommender:
        """Read an artifact written by :meth:`save`; refuses one made with another sklearn/space version."""
        import joblib

        try:
            payload = joblib.load(path)
        except Exception as exc:  # noqa: BLE001 - any unpickling failure means "refit", reported as such
            raise KnowledgeBaseError(f"{path} cannot be read here ({type(exc).__name__}: {exc})") from exc
        found = (payload.get("format"), payload.get("sklearn"), payload.get("space_version"))
        if found != (ARTIFACT_FORMAT, sklearn.__version__, SPACE_VERSION):
            raise KnowledgeBaseError(
                f"{path} was fitted as format/scikit-learn/space {found}; this metalearn needs "
                f"{(ARTIFACT_FORMAT, sklearn.__version__, SPACE_VERSION)}"
            )
        rec = cls(kb, payload["strategy"], payload["min_coverage"], payload["params"])
        rec._packed = dict(payload["packed"])
        return rec


def _assemble(dataset, ctx: TaskContext, ranking, nbrs: np.ndarray, dist: np.ndarray, metafeatures: dict,
              strategy: str, rationale: str) -> Recommendation:
    from metalearn.recommend._base import similarity_weights, weighted_mean_std

    weights = similarity_weights(dist)
    raw = np.nan_to_num(ctx.raw[nbrs], nan=np.nanmin(ctx.raw[nbrs]) if np.isfinite(ctx.raw[nbrs]).any() else 0.0)
    exp_mean, exp_std = weighted_mean_std(raw, weights)
    n_cfg = ctx.raw.shape[1]
    ranks = np.argsort(np.argsort(-np.nan_to_num(ctx.raw[nbrs], nan=-np.inf), axis=1), axis=1) + 1
    evidence = tuple(
        tuple(Evidence(ctx.dataset_names[d], float(ctx.raw[d, c]), int(ranks[j, c]), n_cfg)
              for j, d in enumerate(nbrs[:5]))
        for c in ranking.indices
    )
    neighbors = tuple(Neighbor(ctx.dataset_names[d], ctx.families[d], float(x), float(np.nanmax(ctx.raw[d])))
                      for d, x in zip(nbrs, dist))
    return Recommendation(
        dataset_name=dataset.name, task=dataset.task, metric=ctx.metric, strategy=strategy,
        configs=tuple(ctx.configs[c] for c in ranking.indices),
        config_ids=tuple(ctx.config_ids[c] for c in ranking.indices),
        predicted_scores=tuple((float(m), float(s)) for m, s in zip(ranking.scores, ranking.stds)),
        expected_scores=tuple((float(exp_mean[c]), float(exp_std[c])) for c in ranking.indices),
        neighbors=neighbors, evidence=evidence, metafeatures=dict(metafeatures),
        feature_names=dataset.feature_names, feature_types=dataset.feature_types, rationale=rationale,
    )


def _with_timings(rec: Recommendation, timings: dict, kb_path) -> Recommendation:
    return replace(rec, timings={k: round(float(v), 4) for k, v in timings.items()},
                   kb_path=str(kb_path) if kb_path else "")
