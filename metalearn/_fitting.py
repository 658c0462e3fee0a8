"""Checks of a fit's inputs: the target against ``X``, the cross-validation folds the data allows, the seed."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.model_selection import check_cv

from metalearn.data._validation import check_target_fits
from metalearn.evaluation import DEFAULT_MAX_ROWS
from metalearn.evaluation._evaluate import is_splitter
from metalearn.exceptions import GroupsError, InvalidParameterError, InvalidTargetError, TooFewSamplesPerClassError

#: Folds of ``cv="auto"``; under a time budget, evaluations on at least ``AUTO_LARGE_ROWS`` rows use
#: ``AUTO_LARGE_FOLDS`` (half the fitting work of five folds; see the estimators' ``cv``).
AUTO_FOLDS = 5
AUTO_LARGE_FOLDS = 3
AUTO_LARGE_ROWS = 10_000


def check_target(X, y) -> None:
    """Refuse a target that does not fit ``X`` with a message that says what to do (before sklearn's checks).

    The shape checks are the data layer's (:func:`check_target_fits`); unlike
    loading, which drops rows whose target is missing, ``fit`` refuses them.

    Raises
    ------
    InvalidParameterError, LengthMismatchError, EmptyDatasetError
        ``y`` is not one value per row of ``X``, or there are no rows.
    InvalidTargetError
        ``y`` has missing values.
    """
    n_rows = X.shape[0] if hasattr(X, "shape") else len(X) if hasattr(X, "__len__") else np.asarray(X).shape[0]
    check_target_fits(y, n_rows)
    target = np.asarray(y)
    missing = int(pd.isna(target).sum())
    if missing:
        raise InvalidTargetError(
            f"Input y contains NaN: {missing} of {len(target)} target values are missing; drop those rows "
            "(e.g. keep = y.notna(); X[keep], y[keep]) or fill them before fitting")


def effective_cv(dataset, cv, time_budget=None):
    """``cv`` folds, fewer when the data (its smallest class, or its groups) is too small for them.

    ``cv="auto"`` is :data:`AUTO_FOLDS`, or :data:`AUTO_LARGE_FOLDS` under a
    time budget when the evaluations see at least :data:`AUTO_LARGE_ROWS` rows.
    A splitter object (anything with ``split`` and ``get_n_splits``) is used
    as it is; an iterable of ``(train, test)`` index arrays becomes one.
    """
    if is_splitter(cv):
        return cv
    if not isinstance(cv, (str, int, np.integer)) and hasattr(cv, "__iter__"):
        return check_cv(list(cv))  # (train, test) index pairs, as scikit-learn accepts them
    if isinstance(cv, str) and cv == "auto":
        rows = min(dataset.n_rows, DEFAULT_MAX_ROWS)
        cv = AUTO_LARGE_FOLDS if time_budget is not None and rows >= AUTO_LARGE_ROWS else AUTO_FOLDS
    elif isinstance(cv, bool) or not isinstance(cv, (int, np.integer)) or cv < 2:
        raise InvalidParameterError(f"cv must be 'auto' or an integer >= 2 (or a splitter such as GroupKFold(5)), "
                                    f"not {cv!r}")
    limit = dataset.n_rows
    if dataset.task == "classification":
        limit = min(dataset.class_counts.values())
        if limit < 2:
            single = [label for label, count in dataset.class_counts.items() if count < 2]
            raise TooFewSamplesPerClassError(
                f"class(es) {single[:5]} have only 1 sample; cross-validation needs at least 2 rows per class: "
                "add rows of those classes or remove them")
    if dataset.groups is not None:  # group folds are not stratified: the number of groups is the limit
        limit = len(np.unique(dataset.groups))
        if limit < 2:
            raise GroupsError("groups has a single group; cross-validation by groups needs at least 2")
    return int(max(2, min(cv, limit)))


def n_splits(cv, dataset) -> int:
    """Folds of ``cv`` (a number or a splitter) on ``dataset``; a splitter that cannot split it is refused here."""
    if not is_splitter(cv):
        return int(cv)
    try:
        return int(cv.get_n_splits(dataset.X, dataset.y, dataset.groups))
    except ValueError as exc:  # e.g. LeaveOneGroupOut without groups
        raise InvalidParameterError(f"cv={cv!r} cannot split this data: {str(exc).splitlines()[0]} (pass "
                                    "fit(X, y, groups=...) for a group splitter)") from None


def resolve_seed(state) -> int:
    """An int seed from a ``random_state``: None (a fresh one), an int, a ``numpy.random.RandomState`` or ``Generator``.

    Examples
    --------
    >>> from metalearn._fitting import resolve_seed
    >>> resolve_seed(7), resolve_seed(np.random.RandomState(0)) == resolve_seed(np.random.RandomState(0))
    (7, True)
    """
    if state is None:
        return int(np.random.default_rng().integers(2**31 - 1))
    if isinstance(state, (int, np.integer)) and not isinstance(state, bool):
        return int(state)
    if isinstance(state, np.random.RandomState):
        return int(state.randint(2**31 - 1))
    if isinstance(state, np.random.Generator):
        return int(state.integers(2**31 - 1))
    raise InvalidParameterError(f"random_state must be None, an int, a numpy RandomState or Generator, not {state!r}")
