"""The leaderboard: every trial of a search (and the model a fit chose), best first."""

from __future__ import annotations

import math

import pandas as pd

#: Configuration keys that set the preprocessing, not the model (left out of ``hyperparameters``).
PREPROCESSING_KEYS = frozenset({"imputer", "encoder", "scaler", "reduce", "pca_variance", "select_percentile"})

LEADERBOARD_COLUMNS = ("rank", "family", "hyperparameters", "score", "score_sd", "fit_time", "origin", "status",
                       "selected", "trial", "error", "config")


def key_hyperparameters(config: dict) -> str:
    """The model's hyperparameters of ``config`` as ``name=value`` text (preprocessing left out).

    Examples
    --------
    >>> from metalearn.optimize import key_hyperparameters
    >>> key_hyperparameters({"family": "knn", "imputer": "median", "n_neighbors": 7, "p": 1.23456})
    'n_neighbors=7, p=1.23'
    """
    parts = []
    for name, value in config.items():
        if name == "family" or name in PREPROCESSING_KEYS:
            continue
        text = f"{value:.3g}" if isinstance(value, float) else str(value)
        parts.append(f"{name}={text}")
    return ", ".join(parts)


def leaderboard(history: pd.DataFrame, selected: int | None = None) -> pd.DataFrame:
    """One row per trial of ``history``, sorted best first (finished trials by score, then the others).

    Parameters
    ----------
    history : pandas.DataFrame
        A search's history (:data:`HISTORY_COLUMNS`; ``score_sd`` optional),
        possibly with ``fallback`` and ``ensemble`` rows.
    selected : int, optional
        The ``number`` of the row whose model the estimator predicts with.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`LEADERBOARD_COLUMNS`: ``score`` is the mean
        cross-validated score (higher is better) and ``score_sd`` its
        standard deviation over the folds, ``fit_time`` the trial's
        seconds, ``origin`` where the configuration came from
        (``warm-start``, ``portfolio``, ``bo``, ``random``, ``fallback``,
        ``ensemble``), ``selected`` marks the model ``predict`` uses.

    Examples
    --------
    >>> import pandas as pd
    >>> from metalearn.optimize import leaderboard
    >>> history = pd.DataFrame({"number": [0, 1], "config": [{"family": "knn", "n_neighbors": 5},
    ...                                                         {"family": "linear", "C": 1.0}],
    ...                         "family": ["knn", "linear"], "score": [0.8, 0.9], "status": ["ok", "ok"],
    ...                         "duration": [0.1, 0.2], "origin": ["warm-start", "bo"], "error": ["", ""]})
    >>> leaderboard(history, selected=1)[["rank", "family", "hyperparameters", "score", "selected"]]
       rank  family hyperparameters  score  selected
    0     1  linear             C=1    0.9      True
    1     2     knn   n_neighbors=5    0.8     False
    """
    rows = []
    for row in history.itertuples(index=False):
        config = dict(row.config) if isinstance(row.config, dict) else {}
        score = float(row.score) if row.status == "ok" else float("nan")
        spread = getattr(row, "score_sd", float("nan"))
        rows.append({
            "family": row.family, "hyperparameters": key_hyperparameters(config), "score": score,
            "score_sd": float("nan") if spread is None else float(spread), "fit_time": float(row.duration),
            "origin": row.origin, "status": row.status, "selected": selected is not None and row.number == selected,
            "trial": int(row.number), "error": str(row.error or "") if not _missing(row.error) else "",
            "config": config,
        })
    board = pd.DataFrame(rows, columns=[c for c in LEADERBOARD_COLUMNS if c != "rank"])
    board = board.sort_values(["score", "trial"], ascending=[False, True], na_position="last", kind="stable")
    board.insert(0, "rank", range(1, len(board) + 1))
    return board.reset_index(drop=True)


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))
