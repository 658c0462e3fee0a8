"""Figures (matplotlib, the ``plot`` extra): each function returns a ``matplotlib.figure.Figure``.

- :func:`plot_metafeature_space` - where a dataset sits among KB datasets (2-D PCA of scaled
  meta-features), its neighbours highlighted;
- :func:`plot_anytime` - best score (or regret) so far against evaluations or seconds, the
  warm-start phase shaded;
- :func:`plot_trace` - every trial's score over time, one colour per pipeline family.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from metalearn.exceptions import InvalidParameterError
from metalearn.recommend import get_recommender
from metalearn.utils import import_optional


def _pyplot():
    matplotlib = import_optional("matplotlib", extra="plot")
    if matplotlib.get_backend().lower() not in ("agg", "module://matplotlib_inline.backend_inline"):
        import os

        if not os.environ.get("DISPLAY"):
            matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_metafeature_space(recommendation, kb=None, ax=None):
    """Scatter of KB datasets of the same task in a 2-D PCA of scaled meta-features.

    The new dataset is a star, its nearest neighbours (from the
    recommendation) are circled and labelled.

    Parameters
    ----------
    recommendation : Recommendation
        From :func:`metalearn.recommend` (supplies meta-features and neighbours).
    kb : KnowledgeBase, path or Recommender, optional
        The KB the recommendation came from (default: the shipped one).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import metalearn, metalearn.plot  # doctest: +SKIP
    >>> fig = metalearn.plot.plot_metafeature_space(metalearn.recommend("sklearn:wine"))  # doctest: +SKIP
    """
    plt = _pyplot()
    _, strat = get_recommender(kb).fitted(recommendation.task)
    ctx = strat.ctx_  # the meta-features the strategy measures similarity with
    query = strat.scale(recommendation.metafeatures)
    points = np.vstack([ctx.mf, query[None, :]])
    centred = points - points[:-1].mean(axis=0)
    _, _, vt = np.linalg.svd(centred[:-1], full_matrices=False)
    xy = centred @ vt[:2].T if vt.shape[0] >= 2 else np.column_stack([centred @ vt[:1].T, np.zeros(len(points))])
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(7, 5))
    ax.scatter(xy[:-1, 0], xy[:-1, 1], s=18, c="0.7", label=f"KB datasets ({ctx.n_datasets})")
    names = {n.name for n in recommendation.neighbors}
    idx = [i for i, n in enumerate(ctx.dataset_names) if n in names]
    ax.scatter(xy[idx, 0], xy[idx, 1], s=60, facecolors="none", edgecolors="tab:blue", label="nearest neighbours")
    for i in idx[:8]:
        ax.annotate(ctx.dataset_names[i], xy[i], fontsize=7, xytext=(3, 3), textcoords="offset points")
    ax.scatter(xy[-1, 0], xy[-1, 1], s=160, marker="*", c="tab:red", label=recommendation.dataset_name)
    ax.set_xlabel("meta-feature PC 1")
    ax.set_ylabel("meta-feature PC 2")
    ax.set_title(f"{recommendation.dataset_name} among {recommendation.task} KB datasets")
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    return fig


def _best_so_far(history: pd.DataFrame, x: str) -> tuple[np.ndarray, np.ndarray]:
    scores = history["score"].astype(float).to_numpy()
    full = history["status"].to_numpy() != "screened" if "status" in history else True  # subsample scores don't count
    scores = np.where(np.isfinite(scores) & full, scores, -np.inf)
    best = np.maximum.accumulate(scores)
    xs = np.arange(1, len(history) + 1) if x == "evaluations" else history["duration"].astype(float).cumsum().to_numpy()
    ok = np.isfinite(best)
    return xs[ok], best[ok]


def plot_anytime(histories: Mapping[str, pd.DataFrame] | pd.DataFrame, *, x: str = "evaluations",
                 regret_reference: float | None = None, ax=None):
    """Best score so far (or regret to ``regret_reference``) of one or several optimisation runs.

    Parameters
    ----------
    histories : DataFrame or mapping name -> DataFrame
        Optimisation histories (``MetaLearnClassifier.history_``): columns
        ``score``, ``duration`` and ``origin`` (the warm-start phase is where
        ``origin == "warm-start"``, shaded for the first history).
    x : {"evaluations", "seconds"}
    regret_reference : float, optional
        Plot ``reference - best`` (log scale) instead of the score.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    if x not in ("evaluations", "seconds"):
        raise InvalidParameterError(f"x must be 'evaluations' or 'seconds', not {x!r}")
    plt = _pyplot()
    runs = {"run": histories} if isinstance(histories, pd.DataFrame) else dict(histories)
    if not runs or any(len(h) == 0 for h in runs.values()):
        raise InvalidParameterError("plot_anytime needs at least one non-empty history")
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(7, 4))
    for i, (name, hist) in enumerate(runs.items()):
        xs, best = _best_so_far(hist, x)
        ys = (regret_reference - best) if regret_reference is not None else best
        ax.step(xs, ys, where="post", label=name)
        if i == 0 and "origin" in hist:
            warm = int((hist["origin"] == "warm-start").sum())
            if warm:
                end = warm if x == "evaluations" else float(hist["duration"].iloc[:warm].sum())
                ax.axvspan(0, end, color="tab:green", alpha=0.12, label="warm-start phase")
    if regret_reference is not None:
        ax.set_yscale("symlog", linthresh=1e-3)
    ax.set_xlabel("evaluations" if x == "evaluations" else "seconds")
    ax.set_ylabel("regret" if regret_reference is not None else "best CV score so far")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_trace(history: pd.DataFrame, ax=None):
    """Every trial's CV score in order, coloured by pipeline family, with the best-so-far line.

    Parameters
    ----------
    history : DataFrame
        Columns ``config`` (dicts with a ``family`` key) and ``score``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    if len(history) == 0:
        raise InvalidParameterError("plot_trace needs a non-empty history")
    plt = _pyplot()
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(7, 4))
    families = [c.get("family", "?") if isinstance(c, dict) else "?" for c in history["config"]]
    scores = history["score"].astype(float).to_numpy()
    order = np.arange(1, len(history) + 1)
    for fam in sorted(set(families)):
        mask = np.array([f == fam for f in families])
        ax.scatter(order[mask], scores[mask], s=22, label=fam)
    xs, best = _best_so_far(history, "evaluations")
    ax.step(xs, best, where="post", c="k", lw=1, label="best so far")
    ax.set_xlabel("trial")
    ax.set_ylabel("CV score")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return fig


__all__ = ["plot_anytime", "plot_metafeature_space", "plot_trace"]
