"""Keep every worker busy without letting the order in which trials finish steer the search.

With ``slots`` workers, trial ``n`` is asked once trials ``0 .. n - lag``
(``lag = LAG_PER_SLOT * slots``) have finished and been told, in number
order, and no later ones; the trials in between are still pending (the
optimizer knows them and does not propose them again). What the optimizer
has seen at each ask is therefore fixed by the trial numbers alone: a search
with a fixed ``random_state`` and ``n_trials`` asks the same configurations
whichever worker is faster, here or on a cluster. Yet a slot freed by a
short trial is refilled at once while a long one runs, up to ``lag - 1``
trials behind it. A batch that waits for its slowest trial leaves the other
workers idle instead, which held the speed-up on two workers to 1.2-1.5x
(``docs/distributed.md``).

While every slot is busy, the next trial is asked ahead (under the same
rule), so a freed slot starts at once instead of waiting for the optimizer.
A trial asked ahead that never starts (the budget ran out, successive
halving took over) is handed back with the optimizer's ``release``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from metalearn.engine import Optimizer, SearchExhaustedError, Trial, TrialResult

#: Trials that may be asked ahead of the oldest one not yet told, per worker slot.
LAG_PER_SLOT = 2


class Window:
    """Ask, start and tell trials on ``runner``'s slots under the rule of the module docstring.

    Parameters
    ----------
    optimizer : Optimizer
    runner : LocalTrials or DaskTrials
        Starts one trial (``start``), says which of the started ones are done
        (``done``) and returns a done one's result (``outcome``).
    tell : callable
        ``tell(trial, result)``: record and tell one result (called in trial order).
    arrived : callable
        ``arrived(result)``: called as each result comes back, in arrival order
        (for statistics that only watch the clock, such as when to screen).
    """

    def __init__(self, optimizer: Optimizer, runner, tell: Callable[[Trial, TrialResult], None],
                 arrived: Callable[[TrialResult], None]) -> None:
        self.optimizer, self.runner = optimizer, runner
        self._tell, self._arrived = tell, arrived
        self.lag = LAG_PER_SLOT * runner.slots
        self._asked: deque[Trial] = deque()
        self._results: dict[int, TrialResult] = {}
        self._running: dict = {}
        self._ready: deque[Trial] = deque()
        self.exhausted = False

    def run(self, may_ask: Callable[[int], bool], time_limit: Callable[[], float | None]) -> None:
        """Keep the slots busy while ``may_ask(trials not yet told)`` holds, then wait for and tell every trial.

        ``time_limit()`` is the limit of a trial started now.
        """
        while True:
            self._fill(may_ask, time_limit)
            if not self._running:
                break
            if not self._ready and self._may_ask(may_ask):
                self._ask_one()
            for handle in self.runner.done(list(self._running)):
                result = self.runner.outcome(handle)
                self._results[self._running.pop(handle).number] = result
                self._arrived(result)
        self._release_ready()
        while self._asked:
            self._tell_oldest()

    def _fill(self, may_ask: Callable[[int], bool], time_limit: Callable[[], float | None]) -> None:
        """Start trials (the one asked ahead first) while a slot is free and ``may_ask`` holds."""
        while len(self._running) < self.runner.slots:
            if self._ready:
                if not may_ask(len(self._asked) - len(self._ready)):
                    return
                trial = self._ready.popleft()
            elif self._may_ask(may_ask) and self._ask_one():
                trial = self._ready.popleft()
            else:
                return
            self._running[self.runner.start(trial, time_limit())] = trial

    def _may_ask(self, may_ask: Callable[[int], bool]) -> bool:
        return not self.exhausted and may_ask(len(self._asked)) and self._make_room()

    def _ask_one(self) -> bool:
        """Ask one trial into the ready queue; False when the optimizer has none left."""
        try:
            trial = self.optimizer.ask()
        except SearchExhaustedError:
            self.exhausted = True
            return False
        self._asked.append(trial)
        self._ready.append(trial)
        return True

    def _release_ready(self) -> None:
        """Hand back the trials asked ahead that never started (newest first)."""
        release = getattr(self.optimizer, "release", None)
        while self._ready:
            trial = self._ready.pop()
            self._asked.remove(trial)
            if release is not None:
                release(trial)

    def _make_room(self) -> bool:
        """Tell the oldest trial when the window is full and its result is in; whether a trial may be asked."""
        if len(self._asked) < self.lag:
            return True
        if self._asked[0].number not in self._results:
            return False
        self._tell_oldest()
        return True

    def _tell_oldest(self) -> None:
        trial = self._asked.popleft()
        self._tell(trial, self._results.pop(trial.number))
