"""Small helpers shared across metalearn (no heavy imports here)."""

from __future__ import annotations

import importlib
from types import ModuleType

import numpy as np

from metalearn.exceptions import InvalidParameterError, OptionalDependencyError


def import_optional(module: str, extra: str) -> ModuleType:
    """Import an optional dependency or raise an error naming the extra that provides it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise OptionalDependencyError(
            f"{module} is needed for this feature but is not installed: pip install 'metalearn[{extra}]' "
            f"({exc})"
        ) from exc


def check_positive(name: str, value, integer: bool = False) -> None:
    """Raise :class:`InvalidParameterError` unless ``value`` is None or a positive (integer) number.

    Examples
    --------
    >>> from metalearn.utils import check_positive
    >>> check_positive("n_trials", 5, integer=True)
    >>> check_positive("time_budget", -1)
    Traceback (most recent call last):
    ...
    metalearn.exceptions.InvalidParameterError: time_budget must be a positive number or None, not -1
    """
    if value is None:
        return
    kinds = (int, np.integer) if integer else (int, float, np.integer, np.floating)
    if isinstance(value, bool) or not isinstance(value, kinds) or not value > 0:
        kind = "a positive integer" if integer else "a positive number"
        raise InvalidParameterError(f"{name} must be {kind} or None, not {value!r}")


def check_random_state(random_state: int | np.random.Generator | None) -> np.random.Generator:
    """Return a numpy ``Generator`` for an int seed, a Generator, or None."""
    if isinstance(random_state, np.random.Generator):
        return random_state
    if random_state is None or isinstance(random_state, (int, np.integer)):
        return np.random.default_rng(random_state)
    raise InvalidParameterError(f"random_state must be an int, a numpy Generator or None, not {random_state!r}")


def minmax_rows(scores: np.ndarray, constant: float = 1.0) -> np.ndarray:
    """Min-max scale each row to ``[0, 1]`` over its finite cells; NaN cells become 0.

    Rows whose finite cells are all equal get ``constant`` (1.0: every config
    is the best there; 0.5: no information). Used for normalised scores and
    regret throughout metalearn.

    Examples
    --------
    >>> minmax_rows(np.array([[0.5, 0.7, np.nan]])).tolist()
    [[0.0, 1.0, 0.0]]
    """
    scores = np.asarray(scores, dtype=float)
    lo = np.min(np.where(np.isnan(scores), np.inf, scores), axis=1, keepdims=True)
    hi = np.max(np.where(np.isnan(scores), -np.inf, scores), axis=1, keepdims=True)
    span = hi - lo
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(span > 1e-12, (scores - lo) / np.where(span > 1e-12, span, 1.0), constant)
    return np.where(np.isnan(scores), 0.0, np.clip(out, 0.0, 1.0))


def signed_log(values: np.ndarray) -> np.ndarray:
    """``sign(x) * log1p(|x|)``: compresses heavy-tailed meta-features, keeps sign and NaN."""
    with np.errstate(invalid="ignore"):
        return np.sign(values) * np.log1p(np.abs(values))


def softmax_decision(decision: np.ndarray) -> np.ndarray:
    """Probabilities from decision values (a 1-D binary margin becomes two columns).

    Examples
    --------
    >>> softmax_decision(np.array([0.0])).tolist()
    [[0.5, 0.5]]
    """
    dec = np.asarray(decision, dtype=float)
    dec = np.column_stack([-dec, dec]) if dec.ndim == 1 else dec
    dec = np.exp(dec - dec.max(axis=1, keepdims=True))
    return dec / dec.sum(axis=1, keepdims=True)
