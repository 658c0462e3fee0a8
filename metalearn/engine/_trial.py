"""Records that flow between an optimizer and the loop that evaluates its suggestions."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

#: Where a trial's configuration came from.
ORIGINS: tuple[str, ...] = ("warm-start", "portfolio", "bo", "random")

#: How an evaluation ended (``screened``: finished on a subsample only, in a bracket of successive halving).
STATUSES: tuple[str, ...] = ("ok", "failed", "timeout", "screened")


@dataclass(frozen=True)
class Trial:
    """One configuration proposed by an optimizer.

    Attributes
    ----------
    number : int
        Position in the optimizer's sequence of suggestions (0-based).
    config : dict
        A configuration of the optimizer's search space.
    origin : {"warm-start", "portfolio", "bo", "random"}
        ``warm-start`` for enqueued configurations, ``portfolio`` when an
        adaptive prior's portfolio chose it, ``bo`` when the surrogate chose
        it, ``random`` for random (initial or exploration) draws.
    config_id : str
        Canonical key of ``config`` (see :meth:`SearchSpace.config_id`).

    Examples
    --------
    >>> from metalearn.engine import Trial
    >>> Trial(0, {"family": "knn"}, "random", "k").origin
    'random'
    """

    number: int
    config: dict
    origin: str
    config_id: str = ""


@dataclass(frozen=True)
class TrialResult:
    """The outcome of evaluating a trial's configuration (higher ``score`` is better).

    Attributes
    ----------
    score : float
        Mean cross-validated score; NaN unless ``status == "ok"``.
    status : {"ok", "failed", "timeout"}
    duration : float
        Wall-clock seconds the evaluation took.
    error : str
        Error text for failed evaluations.
    fold_scores : tuple of float
    predictions : ndarray or None
        Out-of-fold predictions (float32), when the search keeps them for ensemble selection.
    n_rows : int
        Rows the evaluation cross-validated on (0: not recorded).

    Examples
    --------
    >>> from metalearn.engine import TrialResult
    >>> TrialResult(0.9).ok, TrialResult(float("nan"), status="failed").ok
    (True, False)
    """

    score: float
    status: str = "ok"
    duration: float = 0.0
    error: str = ""
    fold_scores: tuple[float, ...] = field(default_factory=tuple)
    predictions: object = field(default=None, repr=False, compare=False)
    n_rows: int = 0

    @property
    def ok(self) -> bool:
        """Whether the evaluation finished with a finite score."""
        return self.status == "ok" and math.isfinite(self.score)

    @classmethod
    def from_evaluation(cls, result) -> TrialResult:
        """Convert a :class:`metalearn.evaluation.EvaluationResult`."""
        return cls(score=float(result.mean_score), status=result.status, duration=float(result.duration),
                   error=result.error, fold_scores=tuple(result.fold_scores), predictions=result.predictions,
                   n_rows=int(result.n_rows))


@dataclass(frozen=True)
class Observation:
    """A known (configuration, result) pair from elsewhere, given to :meth:`Optimizer.observe`."""

    config: dict
    result: TrialResult
