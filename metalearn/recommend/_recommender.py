"""Fitted recommenders (strategies trained on a KB), reusable across calls and savable as an artifact."""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from metalearn.exceptions import KnowledgeBaseError, KnowledgeBaseIntegrityError
from metalearn.kb import ARTIFACT_FILES, DB_NAME, KnowledgeBase, sha256_file, write_manifest
from metalearn.recommend._artifact import (
    ARTIFACT_JSON,
    artifact_payload,
    check_compatible,
    read_artifact,
    restore_strategy,
    write_artifact,
)
from metalearn.recommend._auto import make_strategy
from metalearn.recommend._base import Strategy, nearest, similarity_weights, weighted_mean_std
from metalearn.recommend._context import TaskContext
from metalearn.recommend._model import PerformanceModel
from metalearn.recommend._prior import TransferPrior
from metalearn.recommend._recommendation import Evidence, Neighbor, Recommendation

logger = logging.getLogger(__name__)

#: The artifact's JSON file in a KB directory (its arrays are ``recommender.npz`` beside it).
ARTIFACT_NAME = ARTIFACT_JSON


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
        self._stored: dict[str, object] = {}  # per task: the artifact's state, restored on first use
        self._arrays: dict[str, np.ndarray] = {}
        self._source = ""

    def fitted(self, task: str) -> tuple[TaskContext, Strategy]:
        """The context and fitted strategy of ``task`` (restored from the artifact or fitted now)."""
        if task not in self._fitted and task in self._stored:
            self._restore(task)
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
            nbrs, dist = nearest(strat.ctx_, query, 10)
        else:
            nbrs, dist = ranking.neighbors, ranking.neighbor_distances
        rec = _assemble(dataset, ctx, ranking, nbrs, dist, metafeatures, self.strategy, strat.describe())
        extra = {"kb_fit": t1 - t0, "rank": time.perf_counter() - t1}
        return _with_timings(rec, {**(timings or {}), **extra}, getattr(self.kb, "path", None))

    def save(self, path: str | Path, tasks: tuple[str, ...] = ("classification", "regression")) -> Path:
        """Fit every task and write the artifact: ``path`` (JSON) and the ``.npz`` arrays beside it.

        Only the ``auto`` strategy is saved (the one the shipped KB uses). The
        files are data (see :mod:`metalearn.recommend._artifact`); list both in
        the KB's manifest (:func:`metalearn.kb.write_manifest` does).
        """
        strategies = {t: self.fitted(t)[1] for t in tasks}
        header, arrays = artifact_payload(strategies, min_coverage=self.min_coverage, params=self.strategy_params,
                                          kb_sha256=_database_sha256(self.kb))
        return write_artifact(path, header, arrays)[0]

    @classmethod
    def load(cls, path: str | Path, kb) -> Recommender:
        """Read an artifact written by :meth:`save` (JSON ``path`` and its ``.npz``), without verifying checksums.

        :func:`metalearn.recommend.get_recommender` reads a KB directory's
        artifact through its manifest instead.
        """
        path = Path(path)
        try:
            json_bytes, npz_bytes = path.read_bytes(), path.with_suffix(".npz").read_bytes()
        except OSError as exc:
            raise KnowledgeBaseError(f"cannot read the recommender artifact {path}: {exc}") from None
        return cls.from_bytes(json_bytes, npz_bytes, kb, str(path))

    @classmethod
    def from_bytes(cls, json_bytes: bytes, npz_bytes: bytes, kb, source: str,
                   kb_sha256: str | None = None) -> Recommender:
        """A recommender whose tasks are restored from an artifact's bytes when first used.

        Raises :class:`KnowledgeBaseIntegrityError` for a malformed artifact and
        :class:`KnowledgeBaseError` for one of another format, search space or KB
        (``kb_sha256``: the sha256 of the ``kb.sqlite`` it must have been fitted on).
        """
        header, arrays = read_artifact(json_bytes, npz_bytes, source)
        check_compatible(header, source, kb_sha256)
        min_coverage, params = header.get("min_coverage"), header.get("params")
        if not isinstance(min_coverage, (int, float)) or not isinstance(params, dict):
            raise KnowledgeBaseIntegrityError(f"{source} lacks a numeric min_coverage or a params object")
        rec = cls(kb, "auto", float(min_coverage), params)
        rec._stored, rec._arrays, rec._source = dict(header["tasks"]), arrays, source
        return rec

    def _restore(self, task: str) -> None:
        """Rebuild a task's strategy from the artifact; fit it instead (with a warning) if the KB differs."""
        state = self._stored.pop(task)
        ctx = TaskContext.from_kb(self.kb, task, min_coverage=self.min_coverage)
        try:
            strat = restore_strategy(ctx, state, self._arrays, self._source)
        except KnowledgeBaseIntegrityError:
            raise
        except KnowledgeBaseError as exc:
            logger.warning("%s; fitting the %s recommender now instead", exc, task)
            return
        self._fitted[task] = (ctx, strat)


def publish_recommender(kb_dir: str | Path) -> dict:
    """Fit the default recommender on a KB directory, write its artifact there, and rewrite the manifest.

    The builder calls this after :func:`metalearn.kb.snapshot`. Stale artifact
    files are removed first, so a KB on which nothing can be fitted is
    published without an artifact (users then fit on first use). Returns the
    new manifest.
    """
    kb_dir = Path(kb_dir)
    for name in ARTIFACT_FILES:
        (kb_dir / name).unlink(missing_ok=True)
    write_manifest(kb_dir)
    kb = KnowledgeBase.open(kb_dir)
    tasks = tuple(t for t in ("classification", "regression") if t in set(kb.datasets["task"]))
    try:
        Recommender(kb).save(kb_dir / ARTIFACT_NAME, tasks=tasks)
    except KnowledgeBaseError as exc:
        logger.warning("no recommender artifact for %s: %s", kb_dir, exc)
        for name in ARTIFACT_FILES:
            (kb_dir / name).unlink(missing_ok=True)
    return write_manifest(kb_dir)


def _database_sha256(kb) -> str | None:
    """The sha256 of the database a KB was read from (None when it was not read from a file)."""
    manifest, path = getattr(kb, "manifest", None), getattr(kb, "path", None)
    if manifest is not None:
        return manifest["sha256"][manifest.get("database", DB_NAME)]
    db = path / DB_NAME if path is not None and path.is_dir() else path
    return sha256_file(db) if db is not None and db.is_file() else None


def _assemble(dataset, ctx: TaskContext, ranking, nbrs: np.ndarray, dist: np.ndarray, metafeatures: dict,
              strategy: str, rationale: str) -> Recommendation:
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
