"""Transfer prior: what other datasets say about a configuration, fading with own evidence.

A prior is any object with ``predict(configs) -> (mean, std)`` in
normalised score units (0 = worst pool configuration on similar datasets,
1 = best), e.g. :class:`metalearn.recommend.TransferPrior` or the
:class:`TablePrior` here. :func:`blend_prior` puts it on the dataset's own
score scale and mixes it with the surrogate fitted on the dataset's own
observations (a two-member RGPE-style ensemble):

* **calibration** - the prior is mapped to own units by ``a + b * m`` where
  ``b = (sd(y) / sd(m)) * rho`` and ``rho`` is the rank correlation between
  prior and own scores, shrunk towards 1 with ``shrinkage`` pseudo-points
  (trust the prior until own data contradicts it) and clipped at 0;
* **fading** - the prior's weight is ``rho * n0 / (n0 + n)`` after ``n`` own
  observations, so the own surrogate takes over as evidence accumulates,
  and at once when the prior ranks own observations badly.
"""

from __future__ import annotations

import logging
from typing import Protocol, runtime_checkable

import numpy as np
from scipy.stats import spearmanr
from sklearn.ensemble import ExtraTreesRegressor

from metalearn.engine._surrogate import tree_predictions
from metalearn.exceptions import InvalidParameterError
from metalearn.metafeatures._scaling import MetaFeatureScaler, scaled_distances
from metalearn.space import SearchSpace, get_space
from metalearn.utils import minmax_rows

logger = logging.getLogger(__name__)


@runtime_checkable
class Prior(Protocol):
    """Anything that predicts normalised scores (mean, std) for configurations."""

    def predict(self, configs: list[dict]) -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard deviation per configuration, in normalised units."""


@runtime_checkable
class AdaptivePrior(Prior, Protocol):
    """A prior that learns from the dataset's own results and knows a table of pool configurations.

    The optimizer conditions it on the own results before each suggestion and,
    for its first trials, picks pool configurations by their expected gain over
    the ones tried (an adaptive portfolio; see :class:`BayesianOptimizer`).
    """

    def condition(self, configs: list[dict], scores: np.ndarray, folds: np.ndarray | None = None) -> AdaptivePrior:
        """The prior updated with own results (``folds``: their fold scores, one row each, or None)."""

    def portfolio_gains(self, candidates: list[dict], tried: list[dict]) -> np.ndarray:
        """Expected gain of each candidate over the tried ones (NaN where unknown)."""

    @property
    def pool_configs(self) -> tuple[dict, ...]:
        """The configurations the prior has a table for."""


def prior_weight(n_own: int, rho: float, n0: float) -> float:
    """Weight of the prior after ``n_own`` own observations with reliability ``rho``.

    Examples
    --------
    >>> from metalearn.engine import prior_weight
    >>> prior_weight(0, 1.0, 10.0), prior_weight(10, 1.0, 10.0), prior_weight(5, -0.2, 10.0)
    (1.0, 0.5, 0.0)
    """
    return float(max(rho, 0.0) * n0 / (n0 + n_own))


def prior_reliability(prior_own: np.ndarray, y_own: np.ndarray, shrinkage: float) -> float:
    """Rank correlation of prior and own scores, shrunk towards 1 by ``shrinkage`` pseudo-points."""
    n = len(y_own)
    if n < 3 or np.ptp(prior_own) == 0 or np.ptp(y_own) == 0:
        return 1.0
    rho = float(spearmanr(prior_own, y_own).statistic)
    rho = 0.0 if not np.isfinite(rho) else rho
    return (n * rho + shrinkage) / (n + shrinkage)


def blend_prior(prior_mean: np.ndarray, prior_std: np.ndarray, own_mean: np.ndarray | None,
                own_std: np.ndarray | None, prior_at_own: np.ndarray, y_own: np.ndarray, *,
                n0: float = 10.0, shrinkage: float = 3.0) -> tuple[np.ndarray, np.ndarray, float]:
    """Mix a prior (normalised units) with the own surrogate (own units).

    Parameters
    ----------
    prior_mean, prior_std : ndarray
        Prior at the configurations being scored.
    own_mean, own_std : ndarray or None
        Own surrogate there (None when it could not be fitted yet).
    prior_at_own, y_own : ndarray
        Prior mean at the own observations, and their scores.

    Returns
    -------
    mean, std, weight : ndarray, ndarray, float
        Blended prediction in own units (normalised units when ``y_own`` is
        empty) and the prior's weight.

    Examples
    --------
    >>> import numpy as np
    >>> from metalearn.engine import blend_prior
    >>> m, s, w = blend_prior(np.array([0.2, 0.9]), np.array([0.1, 0.1]), None, None,
    ...                       np.empty(0), np.empty(0))
    >>> m.tolist(), w
    ([0.2, 0.9], 1.0)
    """
    n = len(y_own)
    if n == 0:
        return np.asarray(prior_mean, float), np.asarray(prior_std, float), 1.0
    rho = prior_reliability(prior_at_own, y_own, shrinkage)
    sd_y = float(np.std(y_own)) if n > 1 else 0.0
    sd_m = float(np.std(prior_at_own)) if n > 1 else 0.0
    slope = max(rho, 0.0) * (sd_y / sd_m if sd_m > 0 and sd_y > 0 else 0.05)
    intercept = float(np.mean(y_own) - slope * np.mean(prior_at_own))
    mean_p = intercept + slope * np.asarray(prior_mean, float)
    std_p = slope * np.asarray(prior_std, float) + 1e-6
    if own_mean is None:
        return mean_p, std_p, 1.0
    w = prior_weight(n, rho, n0)
    mean = w * mean_p + (1 - w) * own_mean
    std = np.sqrt(w * std_p ** 2 + (1 - w) * np.asarray(own_std) ** 2)
    return mean, std, w


class TablePrior:
    """A prior read from a table of other datasets' scores on a set of configurations.

    Each source dataset's scores are normalised to ``[0, 1]`` (failed = 0),
    averaged with ``weights`` (e.g. meta-feature similarity); configurations
    outside the table are predicted by an extra-trees model over the encoded
    table configurations.

    Parameters
    ----------
    space : SearchSpace
    configs : list of dict
        The table's columns.
    scores : ndarray of shape (n_datasets, n_configs)
        Raw higher-is-better scores, NaN for failed or missing.
    weights : ndarray of shape (n_datasets,), optional
        Non-negative similarity of each source dataset (uniform when None).

    Examples
    --------
    >>> import numpy as np
    >>> from metalearn.engine import TablePrior
    >>> from metalearn.space import get_space
    >>> space = get_space("regression")
    >>> configs = space.defaults()[:3]
    >>> prior = TablePrior(space, configs, np.array([[0.1, 0.5, 0.9], [0.2, 0.4, 0.8]]))
    >>> mean, std = prior.predict(configs)
    >>> mean.round(2).tolist()
    [0.0, 0.42, 1.0]
    """

    def __init__(self, space: SearchSpace, configs: list[dict], scores: np.ndarray,
                 weights: np.ndarray | None = None, random_state: int | None = 0) -> None:
        scores = np.asarray(scores, dtype=float)
        if scores.ndim != 2 or scores.shape[1] != len(configs) or scores.shape[0] == 0:
            raise InvalidParameterError("scores must be a (n_datasets, n_configs) array matching configs")
        weights = np.ones(scores.shape[0]) if weights is None else np.asarray(weights, dtype=float)
        if weights.shape != (scores.shape[0],) or np.any(weights < 0) or weights.sum() <= 0:
            raise InvalidParameterError("weights must be non-negative, one per dataset, not all zero")
        self.space = space
        self.configs = list(configs)
        norm = normalise_rows(scores)
        w = weights / weights.sum()
        self.mean_ = w @ norm
        self.std_ = np.sqrt(w @ (norm - self.mean_) ** 2) + 0.02
        self._index = {space.config_id(c): i for i, c in enumerate(self.configs)}
        self._model = ExtraTreesRegressor(n_estimators=64, min_samples_leaf=2, random_state=random_state,
                                          n_jobs=1).fit(space.encode_many(self.configs), self.mean_)

    def predict(self, configs: list[dict]) -> tuple[np.ndarray, np.ndarray]:
        """Table lookup for known configurations, the extra-trees model elsewhere."""
        mean, std = np.empty(len(configs)), np.empty(len(configs))
        unknown = []
        for i, config in enumerate(configs):
            j = self._index.get(self.space.config_id(config))
            if j is None:
                unknown.append(i)
            else:
                mean[i], std[i] = self.mean_[j], self.std_[j]
        if unknown:
            X = self.space.encode_many([configs[i] for i in unknown])
            per_tree = tree_predictions(self._model, X)
            mean[unknown] = per_tree.mean(axis=0)
            std[unknown] = np.sqrt(per_tree.std(axis=0) ** 2 + float(np.median(self.std_)) ** 2)
        return mean, std

    def top(self, k: int) -> list[dict]:
        """The ``k`` table configurations with the highest prior mean."""
        return [self.configs[int(i)] for i in np.argsort(-self.mean_, kind="stable")[:k]]

    @classmethod
    def from_kb(cls, kb, metafeatures: dict | None, task: str, *, metric: str | None = None,
                k_neighbors: int = 20, min_coverage: float = 0.5) -> TablePrior:
        """Build from a :class:`~metalearn.kb.KnowledgeBase`, weighting datasets by meta-feature similarity."""
        perf = kb.performance(task, metric, min_coverage=min_coverage)
        if perf.empty:
            raise InvalidParameterError(f"the knowledge base has no {task} runs to build a prior from")
        weights = None
        if metafeatures:
            mf = kb.metafeature_matrix(task).reindex(perf.index)
            weights = similarity_weights(metafeatures, mf, k_neighbors)
        configs = [kb.config_dict(c) for c in perf.columns]
        return cls(get_space(task), configs, perf.to_numpy(), weights)


def normalise_rows(scores: np.ndarray) -> np.ndarray:
    """Min-max normalise each row to ``[0, 1]``; NaN (failed) becomes 0, constant rows 0.5."""
    return minmax_rows(scores, constant=0.5)


def similarity_weights(target: dict, sources, k: int = 20) -> np.ndarray:
    """Weights of source datasets by meta-feature distance to ``target`` (top ``k``, exp kernel).

    ``sources`` is a DataFrame (rows datasets, columns meta-feature names),
    scaled with :class:`metalearn.metafeatures.MetaFeatureScaler` (the
    recommender's scaling) over the sources. Uniform when nothing is comparable.

    Examples
    --------
    >>> import pandas as pd
    >>> from metalearn.engine import similarity_weights
    >>> src = pd.DataFrame({"a": [1.0, 10.0, 100.0], "b": [0.0, 0.5, 1.0]})
    >>> w = similarity_weights({"a": 1.0, "b": 0.0}, src, k=2)
    >>> int(w.argmax()), float(w[2])
    (0, 0.0)
    """
    n = len(sources)
    scaler = MetaFeatureScaler.fit(sources, [c for c in sources.columns if c in target])
    if not scaler.names or n == 0:
        return np.ones(n)
    dist = scaled_distances(scaler.transform_frame(sources), scaler.transform(target))
    order = np.argsort(dist, kind="stable")[: max(1, k)]
    width = float(np.median(dist[order])) or 1.0
    weights = np.zeros(n)
    weights[order] = np.exp(-dist[order] / width)
    return weights
