"""The model a fit returns when no evaluated pipeline finished within its budget, or a screened one beat them all."""

from __future__ import annotations

import math

import pandas as pd

from metalearn.exceptions import MetaLearnError
from metalearn.space import fit_weighted, get_space

#: Model family of the fallback: its default is cheap, robust to any column types and missing values.
FALLBACK_FAMILY = "hist_gradient_boosting"
#: Rows the fallback is fitted on, and the fewer rows used when under ``TIGHT_SECONDS`` are left.
FALLBACK_ROWS = 10_000
TIGHT_ROWS = 2_000
TIGHT_SECONDS = 5.0
#: The family used under ``TIGHT_SECONDS``: one linear fit (boosting fits a tree per class and round,
#: which took 6 s on 2,000 rows of an 18-class table on one busy core).
TIGHT_FAMILY = "linear"


def fallback_model(dataset, seconds_left: float | None, random_state: int, screened=None, n_folds: int = 3):
    """``(config, fitted pipeline, rows)``: HistGradientBoosting's default (linear when time is tight) on a subsample.

    When the search screened candidates on subsamples (successive halving)
    but none finished on all rows, the best-scoring of them (each with the
    score of its largest subsample: a cross-validated estimate for that
    configuration trained on that many rows, which a slow but strong family
    screened on fewer rows can beat) is fitted on as many rows instead, if
    its one fit (:func:`one_fit_seconds`) fits in what is left.

    ``dataset.sample_weight``, when set, weights the fit.

    Parameters
    ----------
    dataset : Dataset
    seconds_left : float or None
        What remains of the caller's budget (None: no budget); under
        ``TIGHT_SECONDS`` the subsample shrinks to ``TIGHT_ROWS`` rows and
        the model is ``TIGHT_FAMILY``'s default.
    random_state : int
    screened : pandas.DataFrame, optional
        History rows of status ``screened`` (``config``, ``score``,
        ``duration``, ``n_rows``).
    n_folds : int
        Folds of the cross-validation that screened them.

    Raises
    ------
    MetaLearnError
        When even the fallback cannot be fitted (the message says why).

    Examples
    --------
    >>> import metalearn
    >>> from metalearn.optimize._fallback import fallback_model
    >>> config, model, rows = fallback_model(metalearn.load_dataset("sklearn:wine"), 0.5, random_state=0)
    >>> config["family"], rows, model.predict(metalearn.load_dataset("sklearn:wine").X.head(2)).shape
    ('linear', 178, (2,))
    >>> fallback_model(metalearn.load_dataset("sklearn:wine"), None, random_state=0)[0]["family"]
    'hist_gradient_boosting'
    >>> import pandas as pd
    >>> from metalearn.space import get_space
    >>> space = get_space("classification")
    >>> screened = pd.DataFrame({"number": [0, 1], "config": [space.default("knn"), space.default("linear")],
    ...                          "score": [0.9, 0.8], "duration": [0.2, 0.2], "n_rows": [60, 120]})
    >>> config, model, rows = fallback_model(metalearn.load_dataset("sklearn:wine"), 3.0, 0, screened)
    >>> config["family"], rows
    ('knn', 60)
    """
    tight = seconds_left is not None and seconds_left < TIGHT_SECONDS
    rows = TIGHT_ROWS if tight else FALLBACK_ROWS
    space = get_space(dataset.task)
    config = space.default(TIGHT_FAMILY if tight else FALLBACK_FAMILY)
    best = fallback_candidate(screened)
    if best is not None and (seconds_left is None or one_fit_seconds(best["duration"], n_folds) <= seconds_left):
        config, rows = dict(best["config"]), int(best["n_rows"])
    data = dataset.subsample(rows, random_state) if dataset.n_rows > rows else dataset
    try:
        pipe = fit_weighted(space.to_pipeline(config, data, random_state=random_state), data.X, data.y,
                            data.sample_weight)
    except (ValueError, TypeError, MemoryError) as exc:
        raise MetaLearnError(f"no pipeline finished in time and the fallback model could not be fitted either: "
                             f"{type(exc).__name__}: {exc}") from exc
    return config, pipe, data.n_rows


def screened_winner(history: pd.DataFrame, best_score: float, n_folds: int, seconds_left: float | None):
    """The screened trial to fit instead of the best full evaluation, or None.

    A trial that successive halving screened on a subsample and the budget
    stopped before its full evaluation still has a cross-validated score: an
    estimate for that configuration trained on that many rows. Learning
    curves rise, so when that estimate beats ``best_score`` (the best
    full-data evaluation) by more than its standard error, the configuration
    fitted on the subsample is expected to predict better than the full-data
    winner (a slow family screened on a ninth of a large table, say, against
    fast but weaker ones that reached all rows). Each trial counts with its
    largest subsample; trials that also finished on all rows are left out
    (their full score already competes). The chosen trial's single fit, about
    one fold's share of its cross-validation, must fit in ``seconds_left``.

    Parameters
    ----------
    history : pandas.DataFrame
        The search's history (``number``, ``status``, ``score``, ``score_sd``,
        ``duration``, ``n_rows``, ``config``).
    best_score : float
    n_folds : int
        Folds of the search's cross-validation.
    seconds_left : float or None
        What remains of the fit's budget (None: no budget).

    Returns
    -------
    pandas.Series or None
        The history row of the chosen screened evaluation.

    Examples
    --------
    >>> import pandas as pd
    >>> from metalearn.optimize._fallback import screened_winner
    >>> history = pd.DataFrame({"number": [0, 1, 1], "status": ["ok", "screened", "screened"],
    ...                         "score": [0.75, 0.80, 0.86], "score_sd": [0.01, 0.02, 0.02],
    ...                         "duration": [2.0, 4.0, 9.0], "n_rows": [9000, 1000, 3000],
    ...                         "config": [{"family": "linear"}, {"family": "catboost"}, {"family": "catboost"}]})
    >>> int(screened_winner(history, 0.75, 5, seconds_left=10.0)["n_rows"])
    3000
    >>> screened_winner(history, 0.75, 5, seconds_left=1.0) is None  # its fit would not end in time
    True
    >>> screened_winner(history, 0.855, 5, seconds_left=None) is None  # within its standard error
    True
    """
    if "n_rows" not in history or not math.isfinite(best_score):
        return None
    full = set(history.loc[history["status"] == "ok", "number"])
    screened = history.loc[(history["status"] == "screened") & ~history["number"].isin(full)]
    if screened.empty:
        return None
    largest = largest_rungs(screened)
    spread = largest["score_sd"].astype(float).fillna(0.0) if "score_sd" in largest else 0.0
    margin = largest["score"].astype(float) - spread / math.sqrt(max(n_folds, 1)) - best_score
    fits = one_fit_seconds(largest["duration"].astype(float), n_folds) <= (math.inf if seconds_left is None
                                                                           else seconds_left)
    candidates = largest.loc[(margin > 0) & fits]
    if candidates.empty:
        return None
    return candidates.loc[candidates["score"].astype(float).idxmax()]


def fallback_candidate(screened: pd.DataFrame | None) -> pd.Series | None:
    """The screened trial :func:`fallback_model` fits: the best score at its largest subsample (None if none)."""
    if screened is None or not len(screened):
        return None
    return largest_rungs(screened).sort_values(["score", "n_rows"], ascending=False, kind="stable").iloc[0]


def one_fit_seconds(duration, n_folds: int):
    """Seconds of one fit on all the rows a ``n_folds``-fold cross-validation of ``duration`` seconds used.

    Each of its folds fitted on ``(n_folds - 1) / n_folds`` of those rows, so
    one fit on all of them costs about ``duration / (n_folds - 1)``.
    """
    return duration / max(n_folds - 1, 1)


def largest_rungs(screened: pd.DataFrame) -> pd.DataFrame:
    """Each screened trial's row on its largest subsample (every row when there is no ``number`` column)."""
    rows = screened.sort_values("n_rows", kind="stable")
    return rows.groupby("number").tail(1) if "number" in rows else rows
