"""The frozen result of :func:`metalearn.recommend` and its explanation."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from metalearn.space import get_space


@dataclass(frozen=True)
class Neighbor:
    """A KB dataset similar to the new one."""

    name: str
    family: str
    distance: float
    best_score: float


@dataclass(frozen=True)
class Evidence:
    """What the KB says about one recommended configuration on the nearest datasets."""

    neighbor: str
    score: float
    rank: int
    pool_size: int


@dataclass(frozen=True)
class Recommendation:
    """Ranked warm-start configurations for one dataset, with the evidence behind them.

    Attributes
    ----------
    configs : tuple of dict
        Configurations, best first.
    predicted_scores : tuple of (float, float)
        Predicted normalised score (1 = as good as the best pool config on
        similar datasets, 0 = as bad as the worst) and its spread.
    expected_scores : tuple of (float, float)
        Similarity-weighted mean and spread of the config's ``metric`` on
        the neighbours (in the metric's units; a rough expectation).
    neighbors : tuple of Neighbor
        The most similar KB datasets, nearest first.
    evidence : tuple of tuple of Evidence
        Per config: its score and rank on each neighbour.
    metafeatures : dict
        The dataset's meta-features (name -> value).
    timings : dict
        Seconds spent in meta-features, KB and ranking.
    rationale : str
        How the strategy ordered the configs (its ``describe()``; for ``auto`` the recipe chosen on the KB).

    Examples
    --------
    >>> import metalearn  # doctest: +SKIP
    >>> rec = metalearn.recommend("sklearn:wine", k=3)  # doctest: +SKIP
    >>> print(rec.explain())  # doctest: +SKIP
    """

    dataset_name: str
    task: str
    metric: str
    strategy: str
    configs: tuple[dict, ...]
    config_ids: tuple[str, ...]
    predicted_scores: tuple[tuple[float, float], ...]
    expected_scores: tuple[tuple[float, float], ...]
    neighbors: tuple[Neighbor, ...]
    evidence: tuple[tuple[Evidence, ...], ...]
    metafeatures: dict = field(default_factory=dict)
    feature_names: tuple[str, ...] = ()
    feature_types: tuple[str, ...] = ()
    timings: dict = field(default_factory=dict)
    kb_path: str = ""
    rationale: str = ""

    def __len__(self) -> int:
        return len(self.configs)

    def pipeline(self, i: int = 0, random_state: int | None = 0):
        """Unfitted scikit-learn pipeline of the ``i``-th configuration (for the recommended dataset's columns)."""
        space = get_space(self.task)
        return space.to_pipeline(self.configs[i], _Columns(self.feature_names, self.feature_types, self.task),
                                 random_state=random_state)

    def explain(self, top: int = 5) -> str:
        """A short human-readable account: neighbours, per-config evidence, why this order."""
        lines = [f"Recommendation for {self.dataset_name!r} ({self.task}, metric {self.metric}, "
                 f"strategy {self.strategy!r})."]
        if self.neighbors:
            near = ", ".join(f"{n.name} (d={n.distance:.2f})" for n in self.neighbors[:5])
            lines.append(f"Most similar knowledge-base datasets by meta-features: {near}.")
        for i, cfg in enumerate(self.configs[:top]):
            mean, spread = self.predicted_scores[i]
            exp_mean, _ = self.expected_scores[i]
            head = f"{i + 1}. {describe_config(cfg)} - predicted {mean:.2f} +/- {spread:.2f} of the best " \
                   f"(expected {self.metric} ~ {exp_mean:.3f})"
            lines.append(head)
            ev = self.evidence[i][:3] if i < len(self.evidence) else ()
            if ev:
                lines.append("   evidence: " + "; ".join(
                    f"{e.score:.3f} on {e.neighbor} (rank {e.rank}/{e.pool_size})" for e in ev))
        if self.rationale:
            lines.append(self.rationale)
        return "\n".join(lines)

    def to_dict(self) -> dict:
        """JSON-ready dict of everything in the recommendation."""
        return {
            "dataset": self.dataset_name, "task": self.task, "metric": self.metric, "strategy": self.strategy,
            "recommendations": [
                {"rank": i + 1, "config_id": cid, "config": cfg, "predicted_score": ps[0],
                 "predicted_spread": ps[1], "expected_metric": es[0], "expected_metric_spread": es[1],
                 "evidence": [e.__dict__ for e in ev]}
                for i, (cid, cfg, ps, es, ev) in enumerate(zip(self.config_ids, self.configs, self.predicted_scores,
                                                               self.expected_scores, self.evidence))
            ],
            "neighbors": [n.__dict__ for n in self.neighbors],
            "metafeatures": {k: (None if v != v else v) for k, v in self.metafeatures.items()},
            "timings": self.timings, "kb": self.kb_path, "rationale": self.rationale,
        }

    def to_json(self, **kwargs) -> str:
        """``to_dict`` as JSON text."""
        return json.dumps(self.to_dict(), **kwargs)


@dataclass(frozen=True)
class _Columns:
    """The two attributes ``to_pipeline`` reads from a dataset."""

    feature_names: tuple[str, ...]
    feature_types: tuple[str, ...]
    task: str


KEY_PARAMS = ("learning_rate", "max_iter", "max_leaf_nodes", "n_estimators", "max_features_strategy",
              "max_features_fraction", "min_samples_leaf", "C", "gamma_mode", "gamma", "alpha", "model",
              "n_neighbors", "weights", "hidden_units", "n_layers", "encoder", "reduce")


def describe_config(config: dict, limit: int = 4) -> str:
    """``family(key=value, ...)`` with the most telling hyperparameters."""
    parts = []
    for key in KEY_PARAMS:
        if key in config and len(parts) < limit:
            value = config[key]
            parts.append(f"{key}={value:.3g}" if isinstance(value, float) else f"{key}={value}")
    return f"{config['family']}({', '.join(parts)})"
