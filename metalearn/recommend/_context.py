"""What every strategy reads: one task's score matrix, normalised, and scaled meta-features."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from metalearn.evaluation import DEFAULT_METRIC
from metalearn.exceptions import InvalidParameterError, KnowledgeBaseError, KnowledgeBaseIntegrityError
from metalearn.metafeatures._scaling import MetaFeatureScaler, scaled_distances
from metalearn.space import get_space
from metalearn.utils import minmax_rows


def normalise_scores(raw: np.ndarray) -> np.ndarray:
    """Per-row min-max scaling to [0, 1] over evaluated configs; failed/missing cells become 0."""
    return minmax_rows(raw, constant=1.0)


def _valid_config(task: str, config_id: str, config: dict) -> dict:
    """A KB configuration, checked against the search space (a KB's configs are data from a file)."""
    try:
        get_space(task).validate(dict(config))
    except (InvalidParameterError, TypeError, ValueError, KeyError) as exc:
        raise KnowledgeBaseIntegrityError(
            f"configuration {config_id} of the knowledge base is not a valid {task} configuration: {exc}") from None
    return config


@dataclass(frozen=True, eq=False)
class TaskContext:
    """One task's slice of a KB, ready for strategies.

    Attributes
    ----------
    raw : ndarray (datasets x configs)
        Mean CV scores (NaN = failed or not evaluated).
    norm : ndarray
        ``raw`` min-max normalised per dataset (0 = worst pool config there, 1 = best).
    mf : ndarray (datasets x used meta-features)
        Scaled meta-features.
    """

    task: str
    metric: str
    dataset_ids: np.ndarray
    dataset_names: tuple[str, ...]
    families: tuple[str, ...]
    config_ids: tuple[str, ...]
    configs: tuple[dict, ...]
    raw: np.ndarray
    norm: np.ndarray
    scaler: MetaFeatureScaler
    mf: np.ndarray
    mf_names: tuple[str, ...]
    mf_values: np.ndarray

    @property
    def mf_raw(self) -> pd.DataFrame:
        """Unscaled meta-features (datasets x names); built on demand so pickles hold only numpy and str."""
        return pd.DataFrame(self.mf_values, columns=pd.Index(self.mf_names, dtype=object))

    @classmethod
    def from_kb(cls, kb, task: str, *, metric: str | None = None, min_coverage: float = 0.9,
                features: Sequence[str] | None = None, min_user_runs: int = 3) -> TaskContext:
        """Build from a :class:`metalearn.kb.KnowledgeBase`.

        Datasets evaluated on at least ``min_coverage`` of the pool are used
        as they are. Datasets from the user's own runs (source ``user``, see
        :func:`metalearn.kb.add_runs`) join with ``min_user_runs`` observed
        pool configs; their unobserved cells get the pool's mean normalised
        score (a neutral guess), so their observed best configs still lead.
        """
        metric = metric or DEFAULT_METRIC[task]
        perf = kb.performance(task, metric, min_coverage=min_coverage)
        user_ids = kb.datasets.loc[kb.datasets["source"] == "user", "id"]
        sparse = kb.performance(task, metric)
        sparse = sparse.loc[sparse.index.isin(user_ids) & ~sparse.index.isin(perf.index)]
        sparse = sparse.loc[sparse.notna().sum(axis=1) >= min_user_runs].reindex(columns=perf.columns)
        mf_frame = kb.metafeature_matrix(task)
        n_dense = len(perf)
        perf = pd.concat([perf, sparse]) if len(sparse) else perf
        ids = [i for i in perf.index if i in mf_frame.index and mf_frame.loc[i].notna().any()]
        if not ids or perf.shape[1] == 0 or n_dense == 0:
            raise KnowledgeBaseError(
                f"the knowledge base has no {task} datasets with runs and meta-features "
                f"(min_coverage={min_coverage}); rebuild or extend it"
            )
        perf = perf.loc[ids]
        mf_frame = mf_frame.loc[ids]
        scaler = MetaFeatureScaler.fit(mf_frame, features)
        info = kb.datasets.set_index("id").loc[ids]
        configs = tuple(_valid_config(task, c, kb.config_dict(c)) for c in perf.columns)
        raw = perf.to_numpy(dtype=float)
        norm = normalise_scores(raw)
        user_rows = np.isin(np.asarray(ids), sparse.index)
        if user_rows.any():
            fill = norm[~user_rows].mean(axis=0)
            norm[user_rows] = np.where(np.isnan(raw[user_rows]), fill[None, :], norm[user_rows])
        return cls(task, metric, np.asarray(ids), tuple(str(n) for n in info["name"]),
                   tuple(str(f) for f in info["family"]), tuple(str(c) for c in perf.columns), configs, raw,
                   norm, scaler, scaler.transform_frame(mf_frame),
                   tuple(str(c) for c in mf_frame.columns), mf_frame.to_numpy(dtype=float))

    def subset(self, keep: np.ndarray, features: Sequence[str] | None = None) -> TaskContext:
        """The context on the datasets where ``keep`` is true, with the scaler refitted on them only.

        ``features`` chooses the meta-features used for similarity and by the
        performance model (ablations, anchors, the auto strategy's feature
        sets); by default the subset keeps this context's own features, so a
        context restricted to some features stays restricted.
        """
        keep = np.asarray(keep, dtype=bool)
        mf_raw = self.mf_raw.loc[keep].reset_index(drop=True)
        scaler = MetaFeatureScaler.fit(mf_raw, self.scaler.names if features is None else features)
        names = np.asarray(self.dataset_names, dtype=object)[keep]
        fams = np.asarray(self.families, dtype=object)[keep]
        return TaskContext(
            self.task, self.metric, self.dataset_ids[keep], tuple(names), tuple(fams), self.config_ids, self.configs,
            self.raw[keep], self.norm[keep], scaler, scaler.transform_frame(mf_raw), self.mf_names,
            self.mf_values[keep],
        )

    @property
    def n_datasets(self) -> int:
        """Number of KB datasets in this context."""
        return len(self.dataset_ids)

    def distances(self, query: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        """L1 distance (optionally feature-weighted) from a scaled query to each KB dataset, per feature."""
        return scaled_distances(self.mf, query, weights)
