"""The window keeps every slot busy, yet what the optimizer sees at each ask depends on trial numbers alone."""

from __future__ import annotations

import random

import pytest

from metalearn.engine import SearchExhaustedError, Trial, TrialResult
from metalearn.optimize._window import LAG_PER_SLOT, Window


class Recorder:
    """An optimizer that records which trials it had been told at each ask."""

    def __init__(self, limit=None):
        self.told, self.seen_at_ask, self.limit = [], [], limit

    def ask(self):
        number = len(self.seen_at_ask)
        if self.limit is not None and number >= self.limit:
            raise SearchExhaustedError("no more")
        self.seen_at_ask.append(tuple(self.told))
        return Trial(number, {"family": "knn", "n": number}, "random", str(number))

    def tell(self, trial, result):
        self.told.append(trial.number)


class FakeRunner:
    """Trials finish in an order chosen by ``pick`` (a function of the running trial numbers)."""

    def __init__(self, slots, pick):
        self.slots, self.pick = slots, pick
        self.running, self.log = {}, []

    def start(self, trial, time_limit):
        self.running[trial.number] = trial
        self.log.append(("start", trial.number))
        return trial.number

    def done(self, handles):
        finished = self.pick(sorted(handles))
        self.log.append(("done", finished))
        return [finished]

    def outcome(self, handle):
        del self.running[handle]
        return TrialResult(float(handle), duration=1.0)


def run(slots, pick, n_trials=20, limit=None):
    optimizer, runner = Recorder(limit), FakeRunner(slots, pick)
    told = []
    window = Window(optimizer, runner, lambda t, r: (told.append(t.number), optimizer.tell(t, r)), lambda r: None)
    window.run(lambda pending: len(optimizer.told) + pending < n_trials, lambda: 10.0)
    return optimizer, runner, told


@pytest.mark.parametrize("slots", [2, 3])
def test_what_each_ask_saw_does_not_depend_on_which_trial_finished_first(slots):
    first, _, told_first = run(slots, lambda running: running[0])
    last, _, told_last = run(slots, lambda running: running[-1])
    rng = random.Random(0)
    shuffled, _, told_shuffled = run(slots, lambda running: rng.choice(running))
    assert first.seen_at_ask == last.seen_at_ask == shuffled.seen_at_ask
    assert told_first == told_last == told_shuffled == list(range(20))  # every trial told, in number order
    lag = LAG_PER_SLOT * slots
    assert [len(seen) for seen in first.seen_at_ask] == [max(n - lag + 1, 0) for n in range(20)]


def test_a_long_trial_does_not_idle_the_other_slot():
    # trial 0 finishes only when nothing else is running: the other slot runs trials 1, 2, 3 meanwhile
    _, runner, _ = run(2, lambda running: running[-1] if len(running) > 1 and running[0] == 0 else running[0],
                       n_trials=6)
    done_zero = runner.log.index(("done", 0))
    started_before = [n for kind, n in runner.log[:done_zero] if kind == "start"]
    assert started_before == [0, 1, 2, 3]  # the window (lag 4) filled before trial 0 had to be told


def test_an_exhausted_search_stops_asking_and_tells_what_ran():
    optimizer, _, told = run(2, lambda running: running[0], n_trials=20, limit=5)
    assert told == [0, 1, 2, 3, 4] and optimizer.told == told


class Asking(Recorder):
    """A Recorder that logs its asks into the runner's log and takes trials back with ``release``."""

    def __init__(self, log):
        super().__init__()
        self.log, self.released = log, []

    def ask(self):
        trial = super().ask()
        self.log.append(("ask", trial.number))
        return trial

    def release(self, trial):
        self.released.append(trial.number)


def test_the_next_trial_is_asked_while_every_slot_is_busy():
    runner = FakeRunner(2, lambda running: running[0])
    optimizer = Asking(runner.log)
    Window(optimizer, runner, optimizer.tell, lambda r: None).run(lambda pending: len(optimizer.told) + pending < 6,
                                                                  lambda: 10.0)
    first_done = runner.log.index(("done", 0))
    assert runner.log[:first_done] == [("ask", 0), ("start", 0), ("ask", 1), ("start", 1), ("ask", 2)]
    assert runner.log[first_done + 1] == ("start", 2)  # the freed slot starts the trial asked ahead at once
    assert optimizer.told == list(range(6)) and not optimizer.released


def test_a_trial_asked_ahead_is_released_when_the_budget_ends_before_it_starts():
    runner = FakeRunner(2, lambda running: running[0])
    optimizer = Asking(runner.log)
    budget = {"open": True}

    def done(handles):  # the clock runs out while trials 0 and 1 run and trial 2 waits
        budget["open"] = False
        return FakeRunner.done(runner, handles)

    runner.done = done
    Window(optimizer, runner, optimizer.tell, lambda r: None).run(lambda pending: budget["open"], lambda: 10.0)
    assert [n for kind, n in runner.log if kind == "start"] == [0, 1]
    assert optimizer.released == [2] and optimizer.told == [0, 1]
