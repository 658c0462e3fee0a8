"""Budget-aware evaluation: screen candidates on growing subsamples before any full cross-validation.

When one cross-validation on all the evaluated rows would eat a large share
of the time budget, the search runs brackets of successive halving (as
auto-sklearn 2 does, with ``eta = 3``): :data:`ETA` squared candidates are
cross-validated on a ninth of the rows, the best third of them on a third of
the rows, and the best of those on all rows. Only the last rung is a full
evaluation (history status ``ok``); the others are recorded with status
``screened`` and the rows they used, and never compete for the final model.

Screening is switched on

- up front, when the evaluated rows per second of budget reach
  :data:`ROWS_PER_SECOND` (about 10,000 rows at 30 s, 3,000 at 10 s: one
  five-fold cross-validation of a tree ensemble on that many rows takes
  seconds on one core, a large share of such a budget), or
- as soon as one full evaluation took at least :data:`FULL_SHARE` of the
  budget (wide tables, slow families), measured during the search.

Rungs smaller than :data:`MIN_RUNG_ROWS` rows are left out (on smaller data a
bracket has two rungs, or screening stays off).

A bracket watches the clock: before each batch below the top rung it
estimates what the rest of the bracket costs (the median seconds per row of
the search's finished evaluations, times the rows still to evaluate); when
that exceeds the time left, the best trial so far skips ahead to the
highest rung one evaluation of which fits in that time (the full rung when
it can), so that a budget too short for a whole bracket still ends with a
full evaluation where one fits, and with the best candidate screened on as
many rows as possible (the fallback's choice) where none does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from metalearn.engine import Trial, TrialResult
from metalearn.exceptions import InvalidParameterError

#: Candidates kept per rung: the best ``1 / ETA``; rungs use ``1 / ETA**2``, ``1 / ETA`` and all of the rows.
ETA = 3
RUNGS = 3
#: The smallest subsample a rung may use.
MIN_RUNG_ROWS = 500
#: Screen from the start when ``rows / time_budget`` reaches this.
ROWS_PER_SECOND = 300.0
#: Screen once a full evaluation took this share of the budget.
FULL_SHARE = 0.1
SCREENING = ("auto", "always", "never")


def rung_rows(n_rows: int) -> list[int]:
    """Rows per rung, smallest first, ending with ``n_rows``; rungs under :data:`MIN_RUNG_ROWS` are left out.

    Examples
    --------
    >>> from metalearn.optimize._halving import rung_rows
    >>> rung_rows(20_000), rung_rows(3_000), rung_rows(1_000)
    ([2222, 6666, 20000], [1000, 3000], [1000])
    """
    smaller = [n_rows // ETA**k for k in range(RUNGS - 1, 0, -1)]
    return [r for r in smaller if r >= MIN_RUNG_ROWS] + [n_rows]


@dataclass
class Halving:
    """Whether (and on which rungs) the search screens; see the module docstring.

    Parameters
    ----------
    rungs : list of int
        Rows per rung (:func:`rung_rows`); one rung means screening is impossible.
    time_budget : float or None
    mode : {"auto", "always", "never"}
    """

    rungs: list[int]
    time_budget: float | None = None
    mode: str = "auto"
    active: bool = field(init=False, default=False)
    seconds_per_row: list[float] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        if self.mode not in SCREENING:
            raise InvalidParameterError(f"screening must be one of {list(SCREENING)}, not {self.mode!r}")
        possible = len(self.rungs) > 1 and self.mode != "never"
        dense = self.time_budget is not None and self.rungs[-1] / self.time_budget >= ROWS_PER_SECOND
        self.active = possible and (self.mode == "always" or dense)

    @property
    def full_rows(self) -> int:
        """The rows of a full evaluation."""
        return self.rungs[-1]

    @property
    def width(self) -> int:
        """Candidates on the lowest rung of a bracket."""
        return ETA ** (len(self.rungs) - 1)

    def observe(self, duration: float, n_rows: int, ok: bool) -> None:
        """Record an evaluation's cost; switch screening on after a full one that took :data:`FULL_SHARE` or more."""
        if ok and n_rows > 0:
            self.seconds_per_row.append(duration / n_rows)
        if (not self.active and self.mode == "auto" and len(self.rungs) > 1 and self.time_budget is not None
                and ok and n_rows >= self.full_rows and duration >= FULL_SHARE * self.time_budget):
            self.active = True

    def cost(self, rows: int) -> float | None:
        """Estimated seconds of an evaluation on ``rows`` rows (None before any finished)."""
        return float(np.median(self.seconds_per_row)) * rows if self.seconds_per_row else None


@dataclass
class Bracket:
    """One bracket of successive halving over ``trials``: what was evaluated, and each trial's last result."""

    trials: list[Trial]
    evaluations: list[tuple[Trial, TrialResult, int]] = field(default_factory=list)
    last: dict[int, TrialResult] = field(default_factory=dict)

    def run(self, runner, halving: Halving, clock) -> None:
        """Evaluate rung by rung, ``runner.slots`` at a time, until the top rung or ``clock`` says stop."""
        alive, level, top = list(self.trials), 0, len(halving.rungs) - 1
        skipped = False
        while alive and level <= top:
            outcome = self._rung(runner, alive, halving, level, clock, check=not skipped)
            if outcome is None:
                return
            if isinstance(outcome, tuple):  # the rest would not fit: the leader skips ahead, and the bracket ends there
                alive, level, skipped = [outcome[0]], outcome[1], True
                continue
            if skipped:
                return
            alive, level = survivors(outcome), level + 1

    def _rung(self, runner, alive: list[Trial], halving: Halving, level: int, clock, check: bool = True):
        """The rung's results; None to stop; ``(leader, level)`` when the rest of the bracket won't fit.

        ``check=False`` (after a skip) evaluates without asking whether the rest fits.
        """
        rows, full = halving.rungs[level], level == len(halving.rungs) - 1
        results: list[tuple[Trial, TrialResult]] = []
        for i in range(0, len(alive), runner.slots):
            if clock.spent():
                return None
            leader = self._leader(halving.full_rows)
            if check and not full and leader is not None and \
                    self._too_long(halving, level, len(alive), i, clock.left()):
                return self._skip(leader, halving, clock.left())
            chunk = alive[i:i + runner.slots]
            for trial, result in zip(chunk, runner.run(chunk, clock.limit(), rows=None if full else rows)):
                self.evaluations.append((trial, result, rows))
                self.last[trial.number] = result
                results.append((trial, result))
                halving.observe(result.duration, result.n_rows or rows, result.ok)
        return results

    def _skip(self, leader: Trial, halving: Halving, left: float) -> tuple[Trial, int] | None:
        """``(leader, the highest rung above its own whose one evaluation fits in left)``; None when none does."""
        reached = max(rows for trial, _, rows in self.evaluations if trial.number == leader.number)
        for level in range(len(halving.rungs) - 1, -1, -1):
            if halving.rungs[level] > reached and halving.cost(halving.rungs[level]) <= left:
                return leader, level
        return None

    @staticmethod
    def _too_long(halving: Halving, level: int, width: int, done: int, left: float | None) -> bool:
        """Whether the rest of the bracket (this rung from ``done`` on, and the rungs above) exceeds ``left``."""
        if left is None or halving.cost(1) is None:
            return False
        evaluations = (width - done) * halving.rungs[level]
        for rows in halving.rungs[level + 1:]:
            width = math.ceil(width / ETA)
            evaluations += width * rows
        return halving.cost(evaluations) > left

    def _leader(self, full_rows: int) -> Trial | None:
        """The best finished trial at the highest rung reached so far (None when none finished)."""
        best = None
        for trial, result, rows in self.evaluations:
            if result.ok and rows < full_rows and (best is None or (rows, result.score) > best[0]):
                best = ((rows, result.score), trial)
        return None if best is None else best[1]

    def outcomes(self) -> list[tuple[Trial, TrialResult]]:
        """``(trial, last result)`` of every trial evaluated at least once, in trial order."""
        return [(t, self.last[t.number]) for t in self.trials if t.number in self.last]


def survivors(results: list[tuple[Trial, TrialResult]]) -> list[Trial]:
    """The best ``ceil(len / ETA)`` finished trials (ties: the earlier trial), in trial order.

    Examples
    --------
    >>> from metalearn.optimize import Trial, TrialResult
    >>> from metalearn.optimize._halving import survivors
    >>> res = [(Trial(i, {}, "bo"), TrialResult(s)) for i, s in enumerate([0.5, 0.9, float("nan"), 0.7])]
    >>> [t.number for t in survivors(res)]
    [1, 3]
    """
    finished = [(t, r) for t, r in results if r.ok]
    keep = math.ceil(len(results) / ETA)
    best = sorted(finished, key=lambda tr: (-tr[1].score, tr[0].number))[:keep]
    return sorted((t for t, _ in best), key=lambda t: t.number)
