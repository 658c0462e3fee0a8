"""Leave-one-family-out simulation of warm-start strategies by table lookup on a dense KB.

Used by ``scripts/benchmark_zero_shot.py`` and ``scripts/benchmark_anytime.py``: for each family of
near-copy datasets, every strategy is fitted on the KB without that family
(scaling, portfolio and model included) and ranks the pool for each held-out
dataset; the ranking is scored by the held-out dataset's own runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.stats import rankdata
from tqdm.auto import tqdm

from benchmarks.stats import wilcoxon_holm
from metalearn.kb import KnowledgeBase
from metalearn.recommend import Strategy, TaskContext

#: method name -> factory(train_ctx) returning a ranking function query_row -> config indices
MethodFactory = Callable[[TaskContext], Callable[[int, np.ndarray], np.ndarray]]


@dataclass(frozen=True)
class SimulationResult:
    """Regret of each method at each k, per held-out dataset (rows follow ``dataset_names``)."""

    task: str
    dataset_names: tuple[str, ...]
    ks: tuple[int, ...]
    regret: dict  # method -> ndarray (datasets x len(ks))


def regret_at_k(norm_row: np.ndarray, ranking: np.ndarray, ks: tuple[int, ...]) -> np.ndarray:
    """1 - best normalised score among the first k of ``ranking`` (0 = found the pool's best)."""
    return np.array([1.0 - np.max(norm_row[ranking[:k]]) if len(ranking) else 1.0 for k in ks])


def strategy_method(make: Callable[[], Strategy], features: tuple[str, ...] | None = None) -> MethodFactory:
    """Wrap a strategy constructor as a simulation method (optionally on a meta-feature subset)."""

    def factory(train: TaskContext) -> Callable[[int, np.ndarray], np.ndarray]:
        ctx = train if features is None else train.subset(np.ones(train.n_datasets, bool), features)
        strat = make().fit(ctx)

        def rank(_row: int, raw_query: dict, k: int = 10) -> np.ndarray:
            return strat.rank(strat.scale(raw_query), k).indices

        return rank

    return factory


def simulate(ctx: TaskContext, methods: dict[str, MethodFactory], ks: tuple[int, ...] = (1, 3, 5, 10),
             progress: bool = False) -> SimulationResult:
    """Run every method leave-one-family-out on ``ctx``."""
    families = np.asarray(ctx.families)
    kmax = max(ks)
    regret = {m: np.zeros((ctx.n_datasets, len(ks))) for m in methods}
    for fam in tqdm(sorted(set(families)), desc=f"{ctx.task} families", disable=not progress):
        held = np.flatnonzero(families == fam)
        if np.sum(families != fam) < 2:
            continue
        train = ctx.subset(families != fam)
        for name, factory in methods.items():
            rank = factory(train)
            for row in held:
                ranking = np.asarray(rank(row, ctx.mf_raw.iloc[row].to_dict(), kmax))
                regret[name][row] = regret_at_k(ctx.norm[row], ranking, ks)
    return SimulationResult(ctx.task, ctx.dataset_names, tuple(ks), regret)


def family_means(regret: dict, families) -> dict:
    """Average each method's rows (held-out datasets) within each family, families sorted by name.

    Parameters
    ----------
    regret : dict
        Method -> array (datasets x ks).
    families : array-like of str
        Family of each row.

    Returns
    -------
    dict
        Method -> array (families x ks), so that each family counts once in ranks and tests.
    """
    families = np.asarray(families)
    names = sorted(set(families))
    return {m: np.array([r[families == fam].mean(axis=0) for fam in names]).reshape(len(names), -1)
            for m, r in regret.items()}


def by_family(result: SimulationResult, families) -> SimulationResult:
    """``result`` with one row per family (the mean of its datasets' regrets), named by family."""
    return SimulationResult(result.task, tuple(sorted(set(families))), result.ks,
                            family_means(result.regret, families))


def summarise(result: SimulationResult, reference: str) -> dict:
    """Per k: mean/median regret, mean rank, and win/tie/loss + Holm-corrected Wilcoxon p vs ``reference``."""
    methods = list(result.regret)
    out = {}
    for j, k in enumerate(result.ks):
        table = np.column_stack([result.regret[m][:, j] for m in methods])
        ranks = np.apply_along_axis(rankdata, 1, table).mean(axis=0)
        rows = {m: {"mean_regret": float(table[:, i].mean()), "median_regret": float(np.median(table[:, i])),
                    "mean_rank": float(ranks[i])} for i, m in enumerate(methods)}
        ref = result.regret[reference][:, j]
        others = {m: result.regret[m][:, j] for m in methods if m != reference}
        for m, other in others.items():
            wins, ties = int(np.sum(ref < other - 1e-12)), int(np.sum(np.abs(ref - other) <= 1e-12))
            rows[m]["vs_reference"] = (wins, ties, len(ref) - wins - ties)
        for m, p in wilcoxon_holm(ref, others).items():
            rows[m]["p_holm"] = p
        out[k] = rows
    return out


def fold_scores(kb: KnowledgeBase, ctx: TaskContext) -> np.ndarray:
    """The dense runs' per-fold scores: datasets x configs x folds (NaN where a run failed)."""
    runs = kb.runs.loc[(kb.runs["metric"] == ctx.metric) & (kb.runs["status"] == "ok")]
    n_folds = int(runs["fold_scores"].map(len).max())
    out = np.full(ctx.raw.shape + (n_folds,), np.nan)
    row = {int(d): i for i, d in enumerate(ctx.dataset_ids)}
    col = {c: j for j, c in enumerate(ctx.config_ids)}
    for d, c, folds in zip(runs["dataset_id"], runs["config_id"], runs["fold_scores"]):
        if int(d) in row and c in col and len(folds) == n_folds:
            out[row[int(d)], col[c]] = folds
    return out
