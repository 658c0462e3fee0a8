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


def check_random_state(random_state: int | np.random.Generator | None) -> np.random.Generator:
    """Return a numpy ``Generator`` for an int seed, a Generator, or None."""
    if isinstance(random_state, np.random.Generator):
        return random_state
    if random_state is None or isinstance(random_state, (int, np.integer)):
        return np.random.default_rng(random_state)
    raise InvalidParameterError(f"random_state must be an int, a numpy Generator or None, not {random_state!r}")
