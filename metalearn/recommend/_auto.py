"""The default strategy: kNN evidence, the performance model and the global mean blended, then a diverse portfolio.

How much each kind of evidence counts differs between tasks and knowledge
bases, so ``AutoStrategy`` chooses among a few :class:`AutoVariant` recipes by
cross-validation over dataset families of its own KB (never the query's).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from types import MappingProxyType
from typing import NamedTuple

import numpy as np

from metalearn.exceptions import InvalidParameterError
from metalearn.metafeatures import AUTOSKLEARN_FEATURES, FLAML_FEATURES
from metalearn.recommend._base import Ranking, Strategy, greedy_portfolio, similarity_weights, weighted_mean_std
from metalearn.recommend._context import TaskContext
from metalearn.recommend._knn import KNNStrategy
from metalearn.recommend._model import PerformanceModel
from metalearn.recommend._portfolio import PortfolioStrategy

logger = logging.getLogger(__name__)

#: Candidate meta-feature sets of the auto strategy (None: every meta-feature of the KB).
DEFAULT_FEATURE_SETS: Mapping[str, tuple[str, ...] | None] = MappingProxyType({
    "all": None, "flaml-4": FLAML_FEATURES, "autosklearn-37": AUTOSKLEARN_FEATURES,
})

#: Portfolio sizes whose mean regret the inner cross-validation minimises.
SELECTION_KS = (1, 3, 5, 10)


@dataclass(frozen=True)
class AutoVariant:
    """One recipe for combining the evidence.

    Parameters
    ----------
    blend : float
        Weight of the performance model's prediction in the first-pick score.
    global_weight : float
        Weight of the config's mean normalised score over all KB datasets; the
        rest (``1 - blend - global_weight``) goes to the neighbours' similarity-weighted mean.
    n_neighbors : int
        Neighbours whose evidence counts (ignored when ``temperature`` is set).
    temperature : float, optional
        Weight every KB dataset by ``exp(-(distance - min distance) / temperature)``
        instead of inverse distance over the nearest ``n_neighbors``.
    portfolio_global : float
        Share of uniform weight over all KB datasets mixed into the portfolio's
        dataset weights (0: neighbours only, 1: the global portfolio).
    bonus : float
        Weight of the first-pick score as a tie-breaker in the portfolio.
    """

    blend: float = 0.5
    global_weight: float = 0.0
    n_neighbors: int = 10
    temperature: float | None = None
    portfolio_global: float = 0.0
    bonus: float = 0.25

    def describe(self) -> str:
        """One sentence on how this recipe orders configurations."""
        nbrs = (f"the similarity-weighted (temperature {self.temperature:g}) KB datasets" if self.temperature
                else f"the {self.n_neighbors} nearest KB datasets")
        knn = max(1.0 - self.blend - self.global_weight, 0.0)
        parts = [f"{w:.2f} x {what}" for w, what in ((self.blend, "the performance model's prediction"),
                                                     (knn, f"the mean normalised score on {nbrs}"),
                                                     (self.global_weight, "the mean over all KB datasets"))
                 if w > 1e-9]
        rest = ("all KB datasets" if self.portfolio_global >= 1 else
                f"{nbrs}" + (f" mixed {self.portfolio_global:.0%} with all KB datasets" if self.portfolio_global
                             else ""))
        return (f"Order: the first config maximises {' + '.join(parts)}; each next one adds the most to the "
                f"best-so-far score over {rest}, so the list covers different strengths.")

    def __post_init__(self) -> None:
        shares = (self.blend, self.global_weight, self.portfolio_global)
        if min(shares) < 0 or self.blend + self.global_weight > 1 + 1e-9 or self.portfolio_global > 1:
            raise InvalidParameterError(f"AutoVariant weights must be in [0, 1] with blend + global_weight <= 1: "
                                        f"{self}")
        if self.n_neighbors < 1 or (self.temperature is not None and self.temperature <= 0):
            raise InvalidParameterError(f"AutoVariant needs n_neighbors >= 1 and temperature > 0: {self}")


#: Candidate recipes, most conservative first (the selection prefers the earliest one that is
#: not worse than the best by more than a standard error): the global portfolio, model and global
#: mean, then more and more weight on the query's neighbours.
DEFAULT_VARIANTS: tuple[AutoVariant, ...] = (
    AutoVariant(blend=0.0, global_weight=1.0, portfolio_global=1.0),  # = the global portfolio
    AutoVariant(blend=0.7, global_weight=0.3, n_neighbors=10),
    AutoVariant(blend=0.25, global_weight=0.5, n_neighbors=5),
    AutoVariant(blend=1 / 3, global_weight=1 / 3, temperature=0.2, portfolio_global=0.6),
    AutoVariant(blend=0.0, global_weight=0.5, temperature=0.2),
    AutoVariant(blend=0.0, global_weight=0.5, temperature=0.1, portfolio_global=0.3),
    AutoVariant(blend=0.5, n_neighbors=10),
    AutoVariant(blend=0.5, n_neighbors=5, portfolio_global=0.3),
    AutoVariant(blend=0.0, global_weight=0.0, n_neighbors=20),  # = the neighbour-restricted portfolio
)


def first_pick_scores(variant: AutoVariant, norm: np.ndarray, dist: np.ndarray, model_mean: np.ndarray,
                      model_std: np.ndarray, global_mean: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Blended score and spread of every pool config, with the neighbours used and their weights.

    Parameters
    ----------
    norm : ndarray (KB datasets x configs)
        Normalised scores.
    dist : ndarray (KB datasets,)
        Meta-feature distance of the query to each KB dataset.
    model_mean, model_std : ndarray (configs,)
        Performance-model prediction for the query.
    global_mean : ndarray (configs,)
        Mean normalised score of each config over the KB.
    """
    order = np.lexsort((np.arange(len(dist)), dist))
    if variant.temperature:
        nbrs = order
        weights = np.exp(-(dist[nbrs] - dist[nbrs[0]]) / variant.temperature)
        weights /= weights.sum()
    else:
        nbrs = order[: variant.n_neighbors]
        weights = similarity_weights(dist[nbrs])
    knn_mean, knn_std = weighted_mean_std(norm[nbrs], weights)
    knn_share = max(1.0 - variant.blend - variant.global_weight, 0.0)
    score = variant.blend * model_mean + knn_share * knn_mean + variant.global_weight * global_mean
    spread = np.sqrt(variant.blend * model_std**2 + knn_share * knn_std**2)
    return score, spread, nbrs, weights


def portfolio_after(first: int, score: np.ndarray, norm: np.ndarray, nbrs: np.ndarray, weights: np.ndarray,
                    portfolio_global: float, bonus: float, k: int) -> np.ndarray:
    """``first``, then the greedy portfolio over KB datasets weighted by neighbourhood and ``portfolio_global``."""
    portfolio_weights = np.full(norm.shape[0], portfolio_global / norm.shape[0])
    portfolio_weights[nbrs] += (1.0 - portfolio_global) * weights
    return np.array(greedy_portfolio(norm, portfolio_weights, k, tie_break=score, first=first, bonus=bonus),
                    dtype=int)


def combine(variant: AutoVariant, norm: np.ndarray, dist: np.ndarray, model_mean: np.ndarray,
            model_std: np.ndarray, global_mean: np.ndarray, k: int) -> Ranking:
    """Rank the pool for one query from its evidence (see :func:`first_pick_scores`), following ``variant``."""
    score, spread, nbrs, weights = first_pick_scores(variant, norm, dist, model_mean, model_std, global_mean)
    idx = portfolio_after(int(np.argmax(score)), score, norm, nbrs, weights, variant.portfolio_global,
                          variant.bonus, k)
    shown = nbrs[: max(variant.n_neighbors, 1)] if not variant.temperature else nbrs[:10]
    return Ranking("auto", idx, score[idx], spread[idx], shown, dist[shown])


class _KeptRecipe(NamedTuple):
    """A feature set's one-standard-error recipe and its inner-CV regrets."""

    name: str
    ctx: TaskContext
    recipe: int  # index into the variants
    regret: np.ndarray  # per dataset, mean over SELECTION_KS, of that recipe
    all_regrets: np.ndarray  # datasets x variants x SELECTION_KS


class AutoStrategy(Strategy):
    """Blend, then diversify; the blend and the meta-features are chosen by cross-validation on the KB.

    1. Score every pool config by a weighted sum of the performance model's
       prediction, the neighbours' similarity-weighted mean normalised score
       and the config's mean over all KB datasets.
    2. The best-scored config comes first; the rest are chosen greedily to
       maximise the weighted best-so-far score over KB datasets (a portfolio
       conditioned on the query's neighbours, optionally mixed with all
       datasets), the score breaking ties. Diversity comes from the portfolio
       objective: a config adds value only where the chosen ones are weak.

    Which meta-features define "similar" (neighbours and the performance
    model's inputs) is chosen too: every meta-feature, FLAML's 4 or
    auto-sklearn's 37. On the shipped KB every usable meta-feature wins for
    both tasks, in classification by a hair over FLAML's 4 (inner regret
    0.0762 vs 0.0763; see ``docs/benchmarks/zero_shot.md``).

    Parameters
    ----------
    variants : sequence of AutoVariant, optional
        Recipes for steps 1–2 (default :data:`DEFAULT_VARIANTS`). For each
        feature set, every recipe is scored by its mean regret at k = 1, 3,
        5, 10 over ``inner_folds`` folds of KB families (a smaller performance
        model is refitted on each fold) and the first, in the given order,
        within one standard error of the best is kept
        (:func:`one_standard_error_choice`); then the feature set whose kept
        recipe has the lowest inner regret wins. Choosing the first pick and
        the portfolio separately (by regret@1, then regret@3..10) was tried
        and was worse in the benchmark: regret@1 alone is too noisy.
    feature_sets : mapping of str to sequence of str or None, optional
        Candidate meta-feature sets by name (None: all of the context's);
        default :data:`DEFAULT_FEATURE_SETS`. Names absent from the context
        are ignored, and sets that end up equal are tried once; if no set
        keeps any usable meta-feature, ``fit`` raises ``InvalidParameterError``.
    inner_folds : int
        Folds of the selection.
    model : PerformanceModel, optional
        An already fitted model to reuse (then the context's features are used as they are).
    random_state : int
        Seed of the performance models.

    Attributes
    ----------
    variant_ : AutoVariant
        The recipe in use.
    feature_set_ : str
        Name of the meta-feature set in use; ``ctx_`` is the context restricted to it.
    selection_ : dict
        Mean inner-CV regret at each k per candidate recipe index, for the chosen feature set
        (empty without selection).
    feature_selection_ : dict
        Inner-CV regret (mean over k) of each feature set's kept recipe (empty without selection).
    global_mean_ : ndarray
        Each config's mean normalised score over the KB datasets.
    """

    name = "auto"

    def __init__(self, variants: Sequence[AutoVariant] | None = None,
                 feature_sets: Mapping[str, Sequence[str] | None] | None = None, inner_folds: int = 3,
                 model: PerformanceModel | None = None, random_state: int = 0) -> None:
        self.variants = variants
        self.feature_sets = feature_sets
        self.inner_folds = inner_folds
        self.model = model
        self.random_state = random_state

    def fit(self, ctx: TaskContext) -> AutoStrategy:
        """Choose the meta-features and the recipe, then fit the performance model on the whole context."""
        super().fit(ctx)
        variants = tuple(self.variants) if self.variants is not None else DEFAULT_VARIANTS
        if not variants:
            raise InvalidParameterError("AutoStrategy needs at least one variant")
        candidates = [("context", ctx)] if self.model is not None else self._feature_contexts(ctx)
        self.feature_set_, self.ctx_ = candidates[0]
        self.variant_, self.selection_, self.feature_selection_ = variants[0], {}, {}
        if len(variants) > 1 or len(candidates) > 1:
            self._select(candidates, variants)
        self.model_ = self.model if self.model is not None else PerformanceModel(
            random_state=self.random_state).fit(self.ctx_)
        self.global_mean_ = self.ctx_.norm.mean(axis=0)
        return self

    def _feature_contexts(self, ctx: TaskContext) -> list[tuple[str, TaskContext]]:
        """The context restricted to each candidate feature set (deduplicated, empty ones dropped)."""
        sets = DEFAULT_FEATURE_SETS if self.feature_sets is None else self.feature_sets
        if not sets:
            raise InvalidParameterError("AutoStrategy needs at least one feature set")
        out: list[tuple[str, TaskContext]] = []
        seen: set[tuple[str, ...]] = set()
        everything = np.ones(ctx.n_datasets, dtype=bool)
        for name, features in sets.items():
            if features is None:
                sub = ctx
            else:
                known = [f for f in features if f in ctx.scaler.names]
                sub = ctx.subset(everything, known) if known else None
            if sub is not None and sub.scaler.names and sub.scaler.names not in seen:
                seen.add(sub.scaler.names)
                out.append((name, sub))
        if not out and ctx.scaler.names:
            raise InvalidParameterError(f"none of the feature sets {sorted(sets)} names a usable meta-feature of "
                                        f"this knowledge base (e.g. {list(ctx.scaler.names[:3])})")
        return out or [("context", ctx)]

    def _select(self, candidates: list[tuple[str, TaskContext]], variants: tuple[AutoVariant, ...]) -> None:
        """Per feature set the one-standard-error recipe, then the feature set whose recipe has the lowest regret."""
        kept: list[_KeptRecipe] = []
        for name, fctx in candidates:
            per_dataset = self._inner_regret(fctx, variants)
            if per_dataset is None:
                return
            mean_over_k = per_dataset.mean(axis=2)
            choice = one_standard_error_choice(mean_over_k)
            self.feature_selection_[name] = float(mean_over_k[:, choice].mean())
            kept.append(_KeptRecipe(name, fctx, choice, mean_over_k[:, choice], per_dataset))
        pick = min(kept, key=lambda c: self.feature_selection_[c.name])
        self.feature_set_, self.ctx_, self.variant_ = pick.name, pick.ctx, variants[pick.recipe]
        self.selection_ = {i: dict(zip(SELECTION_KS, r.tolist()))
                           for i, r in enumerate(pick.all_regrets.mean(axis=0))}
        best_regret = self.feature_selection_[pick.name]
        logger.info("auto strategy for %s: %s meta-features (%d), recipe %s, inner-CV regret %.4f",
                    self.ctx_.task, self.feature_set_, len(self.ctx_.scaler.names), asdict(self.variant_),
                    best_regret)

    def _inner_regret(self, ctx: TaskContext, variants: tuple[AutoVariant, ...]) -> np.ndarray | None:
        """Regret (datasets x variants x SELECTION_KS) of each recipe in a cross-validation over families."""
        from sklearn.model_selection import GroupKFold

        groups = np.asarray(ctx.families)
        n_splits = min(self.inner_folds, len(set(groups)))
        if n_splits < 2:
            return None
        per_dataset = np.zeros((ctx.n_datasets, len(variants), len(SELECTION_KS)))
        for train_idx, test_idx in GroupKFold(n_splits=n_splits).split(ctx.mf, groups=groups):
            keep = np.zeros(ctx.n_datasets, dtype=bool)
            keep[train_idx] = True
            sub = ctx.subset(keep)
            model = PerformanceModel(n_estimators=16, random_state=self.random_state).fit(sub)
            global_mean = sub.norm.mean(axis=0)
            for row in test_idx:
                query = sub.scaler.transform(dict(zip(ctx.mf_names, ctx.mf_values[row])))
                mean, std = model.predict_codes(query, model.config_codes_)
                dist = sub.distances(query)
                for i, v in enumerate(variants):
                    idx = combine(v, sub.norm, dist, mean, std, global_mean, max(SELECTION_KS)).indices
                    per_dataset[row, i] = [1.0 - ctx.norm[row, idx[:k]].max() for k in SELECTION_KS]
        return per_dataset

    def describe(self) -> str:
        """How the chosen recipe orders configurations, and how it was chosen."""
        n = len(self.ctx_.scaler.names)
        features = (f" Similarity and the model use {n} meta-features ({self.feature_set_})."
                    if self.feature_set_ != "context" else "")
        how = (" (recipe and meta-features chosen by cross-validation over the KB's dataset families)"
               if self.selection_ else "")
        return self.variant_.describe() + features + how

    def rank(self, query: np.ndarray, k: int) -> Ranking:
        """Rank the pool for a query scaled by :meth:`scale` with the chosen recipe."""
        mean, std = self.model_.predict_codes(query, self.model_.config_codes_)
        return combine(self.variant_, self.ctx_.norm, self.ctx_.distances(query), mean, std, self.global_mean_, k)


def one_standard_error_choice(regret: np.ndarray) -> int:
    """The first column whose mean is within one paired standard error of the best column's mean.

    ``regret`` is datasets x candidates, candidates ordered from most to
    least conservative. Breiman's one-standard-error rule: between candidates
    the data cannot tell apart, keep the conservative one. With few datasets
    or one dominant family, a recipe that leans on neighbours can look best by
    chance and fail on data unlike the KB; the rule guards against that.

    Examples
    --------
    >>> import numpy as np
    >>> one_standard_error_choice(np.array([[0.10, 0.09], [0.20, 0.20], [0.30, 0.31]]))
    0
    >>> one_standard_error_choice(np.array([[0.5, 0.1], [0.6, 0.2], [0.7, 0.1]]))
    1
    """
    means = regret.mean(axis=0)
    best = int(np.argmin(means))
    n = regret.shape[0]
    for i in range(regret.shape[1]):
        diff = regret[:, i] - regret[:, best]
        se = diff.std(ddof=1) / np.sqrt(n) if n > 1 else 0.0
        if means[i] - means[best] <= se:
            return i
    return best


def make_strategy(name: str, **kwargs) -> Strategy:
    """Strategy by name: ``auto``, ``knn``, ``portfolio``, ``portfolio-knn``, ``model``."""
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


__all__ = [
    "AutoStrategy",
    "AutoVariant",
    "DEFAULT_FEATURE_SETS",
    "DEFAULT_VARIANTS",
    "TaskContext",
    "combine",
    "make_strategy",
    "one_standard_error_choice",
]
