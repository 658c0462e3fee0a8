"""Hyperparameter primitives: floats and ints (optionally log-scaled), categoricals, conditions.

Each hyperparameter maps its value to the unit interval (``to_unit``) and
back (``from_unit``); a :class:`metalearn.space.SearchSpace` stacks these into
one numeric vector for surrogate models.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Union

import numpy as np

from metalearn.exceptions import InvalidConfigError


@dataclass(frozen=True)
class Condition:
    """Active only when hyperparameter ``parent`` takes one of ``values``."""

    parent: str
    values: tuple[Any, ...]

    def holds(self, config: dict) -> bool:
        """Whether ``config`` satisfies the condition."""
        return self.parent in config and config[self.parent] in self.values


@dataclass(frozen=True)
class Float:
    """A real-valued hyperparameter in ``[low, high]``, log-scaled if ``log``."""

    name: str
    low: float
    high: float
    default: float
    log: bool = False
    conditions: tuple[Condition, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if not self.low < self.high or not self.low <= self.default <= self.high:
            raise InvalidConfigError(f"{self.name}: need low < high and default within them")
        if self.log and self.low <= 0:
            raise InvalidConfigError(f"{self.name}: a log-scaled range must be positive")

    @property
    def width(self) -> int:
        """Number of vector slots."""
        return 1

    def to_unit(self, value: float) -> np.ndarray:
        """Map a value to ``[0, 1]``."""
        lo, hi, v = (math.log(self.low), math.log(self.high), math.log(value)) if self.log else (
            self.low, self.high, float(value))
        return np.array([(v - lo) / (hi - lo)])

    def from_unit(self, u: np.ndarray) -> float:
        """Map ``[0, 1]`` back to a value."""
        x = float(np.clip(u[0], 0.0, 1.0))
        if self.log:
            value = math.exp(math.log(self.low) + x * (math.log(self.high) - math.log(self.low)))
        else:
            value = self.low + x * (self.high - self.low)
        return float(min(self.high, max(self.low, value)))  # exp/log round-off must not leave the range

    def sample(self, rng: np.random.Generator) -> float:
        """Draw uniformly (in log space when ``log``)."""
        return self.from_unit(rng.random(1))

    def check(self, value: Any) -> None:
        """Raise :class:`InvalidConfigError` when ``value`` is out of range."""
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not self.low <= value <= self.high:
            raise InvalidConfigError(f"{self.name}={value!r} is not a number in [{self.low}, {self.high}]")


@dataclass(frozen=True)
class Int(Float):
    """An integer hyperparameter in ``[low, high]``."""

    default: int = 0

    def from_unit(self, u: np.ndarray) -> int:  # type: ignore[override]
        """Map ``[0, 1]`` back to the nearest integer."""
        return int(min(self.high, max(self.low, round(super().from_unit(u)))))

    def sample(self, rng: np.random.Generator) -> int:  # type: ignore[override]
        """Draw uniformly (in log space when ``log``) and round."""
        return self.from_unit(rng.random(1))

    def check(self, value: Any) -> None:
        """Raise :class:`InvalidConfigError` unless ``value`` is an int in range."""
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not self.low <= value <= self.high:
            raise InvalidConfigError(f"{self.name}={value!r} is not an integer in [{self.low}, {self.high}]")


@dataclass(frozen=True)
class Categorical:
    """A hyperparameter taking one of ``choices`` (JSON scalars)."""

    name: str
    choices: tuple[Any, ...]
    default: Any
    conditions: tuple[Condition, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if self.default not in self.choices:
            raise InvalidConfigError(f"{self.name}: default {self.default!r} is not among {self.choices}")

    @property
    def width(self) -> int:
        """Number of vector slots (one-hot)."""
        return len(self.choices)

    def to_unit(self, value: Any) -> np.ndarray:
        """One-hot encode."""
        out = np.zeros(len(self.choices))
        out[self.choices.index(value)] = 1.0
        return out

    def from_unit(self, u: np.ndarray) -> Any:
        """Decode by arg-max."""
        return self.choices[int(np.argmax(u))]

    def sample(self, rng: np.random.Generator) -> Any:
        """Draw a choice uniformly."""
        return self.choices[int(rng.integers(len(self.choices)))]

    def check(self, value: Any) -> None:
        """Raise :class:`InvalidConfigError` unless ``value`` is a choice."""
        if value not in self.choices:
            raise InvalidConfigError(f"{self.name}={value!r} is not one of {list(self.choices)}")


Hyperparameter = Union[Float, Int, Categorical]
