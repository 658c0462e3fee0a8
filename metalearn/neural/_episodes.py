"""Episodes and the :class:`TaskFamily` abstraction (numpy only, no torch)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from metalearn.exceptions import InvalidParameterError
from metalearn.utils import check_random_state

SPLITS = ("train", "val", "test")

__all__ = ["SPLITS", "Episode", "TaskFamily", "mean_ci95"]


@dataclass(frozen=True, eq=False)  # holds arrays: compared by identity
class Episode:
    """One N-way K-shot task: a labelled support set and a labelled query set.

    For regression families ``n_way`` is 0 and ``k_shot`` is the number of support points.
    """

    support_x: np.ndarray
    support_y: np.ndarray
    query_x: np.ndarray
    query_y: np.ndarray
    n_way: int
    k_shot: int
    info: dict[str, Any] = field(default_factory=dict, compare=False)


class TaskFamily(ABC):
    """A distribution over few-shot tasks, split into meta-train / meta-val / meta-test.

    Subclasses set ``name``, ``modality`` (``"image"``, ``"vector"`` or
    ``"regression-1d"``), ``input_shape`` and ``metric`` (``"accuracy"`` or
    ``"mse"``) and implement :meth:`sample_episode`.
    """

    name: str
    modality: str
    input_shape: tuple[int, ...]
    metric: str

    @abstractmethod
    def sample_episode(self, split: str, n_way: int, k_shot: int, n_query: int, rng: np.random.Generator) -> Episode:
        """Draw one episode from ``split`` (``"train"``, ``"val"`` or ``"test"``)."""

    def episodes(
        self,
        split: str,
        n_episodes: int,
        n_way: int,
        k_shot: int,
        n_query: int,
        random_state: int | np.random.Generator | None = 0,
    ) -> Iterator[Episode]:
        """Yield ``n_episodes`` episodes; the same ``random_state`` gives the same episodes.

        Examples
        --------
        >>> from metalearn.neural._families import SinusoidFamily
        >>> eps = list(SinusoidFamily().episodes("test", 3, 0, 10, 20, random_state=0))
        >>> len(eps), eps[0].support_x.shape
        (3, (10, 1))
        """
        if split not in SPLITS:
            raise InvalidParameterError(f"split must be one of {SPLITS}, not {split!r}")
        rng = check_random_state(random_state)
        for _ in range(n_episodes):
            yield self.sample_episode(split, n_way, k_shot, n_query, rng)

    @property
    def is_classification(self) -> bool:
        """True when the metric is accuracy."""
        return self.metric == "accuracy"


def mean_ci95(values: np.ndarray | list[float]) -> tuple[float, float]:
    """Mean and half-width of its normal-approximation 95% confidence interval.

    Examples
    --------
    >>> mean_ci95([1.0, 1.0, 1.0])
    (1.0, 0.0)
    """
    arr = np.asarray(values, dtype=np.float64)
    if arr.size == 0:
        raise InvalidParameterError("mean_ci95 needs at least one value")
    half = 1.96 * arr.std(ddof=1) / np.sqrt(arr.size) if arr.size > 1 else float("nan")
    return float(arr.mean()), float(half)
