"""Inspecting a fitted estimator: permutation importance of its input columns on held-out data."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.inspection import permutation_importance

from metalearn.evaluation import Metric


def importance_frame(model, X, y, metric: Metric, columns, *, n_repeats: int = 5, random_state=None,
                     sample_weight=None) -> pd.DataFrame:
    """Permutation importance of every column of ``X`` for ``model``, scored by ``metric``, most important first.

    Parameters
    ----------
    model : fitted estimator
        Predicts from raw rows of ``X`` (a metalearn estimator).
    X, y
        Held-out data (not the rows ``model`` was fitted on).
    metric : Metric
    columns : sequence of str
        The names of ``X``'s columns.
    n_repeats, random_state, sample_weight
        As in :func:`sklearn.inspection.permutation_importance`.

    Returns
    -------
    pandas.DataFrame
        ``feature``, ``importance`` (mean drop of the score when the column
        is shuffled), ``importance_sd`` (over the repeats).
    """
    classes = getattr(model, "classes_", None)

    def scorer(estimator, X_part, y_part, sample_weight=None) -> float:
        return metric.score(estimator, X_part, np.asarray(y_part), classes, sample_weight=sample_weight)

    result = permutation_importance(model, X, y, scoring=scorer, n_repeats=n_repeats, random_state=random_state,
                                    sample_weight=sample_weight)
    frame = pd.DataFrame({"feature": [str(c) for c in columns], "importance": result.importances_mean,
                          "importance_sd": result.importances_std})
    return frame.sort_values("importance", ascending=False, kind="stable").reset_index(drop=True)
