"""A reusable test suite every :class:`metalearn.engine.Optimizer` must pass.

Subclass :class:`OptimizerSuite` in a test module and provide a
``make_optimizer`` fixture returning ``factory(space, *, candidates=None,
random_state=None) -> Optimizer``::

    class TestMyOptimizer(OptimizerSuite):
        @pytest.fixture
        def make_optimizer(self):
            return lambda space, **kw: MyOptimizer(space, **kw)

The objective is a cheap synthetic function of the configuration, so the
suite runs in well under a second per optimizer.
"""

from __future__ import annotations

import math
import zlib

import numpy as np
import pytest

from metalearn.engine import ORIGINS, Observation, SearchExhaustedError, Trial, TrialResult
from metalearn.exceptions import InvalidParameterError
from metalearn.space import get_space


def synthetic_score(config: dict) -> float:
    """A deterministic score in [0, 1]: families differ, and one numeric knob matters inside each."""
    base = 0.4 + 0.4 * (zlib.crc32(config["family"].encode()) % 1000) / 1000  # any family, no table to extend
    knob = next((v for k, v in sorted(config.items()) if isinstance(v, float) and not isinstance(v, bool)), 0.5)
    return base + 0.2 * math.exp(-abs(math.log10(abs(knob) + 1e-9)))


def run_optimizer(opt, n: int, fail_every: int = 0) -> list[tuple[Trial, TrialResult]]:
    """Ask/tell ``n`` times with :func:`synthetic_score` (every ``fail_every``-th trial fails)."""
    for i in range(n):
        trial = opt.ask()
        if fail_every and i % fail_every == fail_every - 1:
            opt.tell(trial, TrialResult(float("nan"), status="failed", error="synthetic failure"))
        else:
            opt.tell(trial, TrialResult(synthetic_score(trial.config)))
    return list(opt.trials)


class OptimizerSuite:
    """Behaviour shared by every optimizer (ask/tell contract, warm start, candidates, determinism)."""

    @pytest.fixture
    def space(self):
        return get_space("classification")

    def test_ask_returns_valid_numbered_trials(self, make_optimizer, space):
        opt = make_optimizer(space, random_state=0)
        trials = [t for t, _ in run_optimizer(opt, 6)]
        assert [t.number for t in trials] == list(range(6))
        for t in trials:
            assert isinstance(t, Trial)
            assert space.validate(t.config) is t.config
            assert t.config_id == space.config_id(t.config)
            assert t.origin in ORIGINS

    def test_never_proposes_a_configuration_twice(self, make_optimizer, space):
        opt = make_optimizer(space, random_state=1)
        trials = [t for t, _ in run_optimizer(opt, 12)]
        assert len({t.config_id for t in trials}) == len(trials)

    def test_enqueued_configurations_come_first_in_order(self, make_optimizer, space):
        opt = make_optimizer(space, random_state=0)
        warm = [space.default("svm"), space.default("knn"), space.default("svm")]
        opt.enqueue(warm)
        trials = [t for t, _ in run_optimizer(opt, 4)]
        assert [t.config for t in trials[:2]] == warm[:2]
        assert [t.origin for t in trials[:2]] == ["warm-start", "warm-start"]
        assert trials[2].origin != "warm-start"

    def test_observed_configurations_are_not_proposed_again(self, make_optimizer, space):
        opt = make_optimizer(space, random_state=0)
        seen = [space.default(f) for f in space.families]
        opt.observe([Observation(c, TrialResult(synthetic_score(c))) for c in seen])
        opt.enqueue(seen[:2])
        ids = {space.config_id(c) for c in seen}
        assert not ids & {t.config_id for t, _ in run_optimizer(opt, 5)}

    def test_batch_ask_returns_distinct_pending_trials(self, make_optimizer, space):
        opt = make_optimizer(space, random_state=0)
        run_optimizer(opt, 3)
        batch = opt.ask(4)
        assert len(batch) == 4 and len({t.config_id for t in batch}) == 4
        assert {t.number for t in opt.pending} == {t.number for t in batch}
        for t in reversed(batch):
            opt.tell(t, TrialResult(synthetic_score(t.config)))
        assert not opt.pending

    def test_tell_rejects_unknown_or_repeated_trials(self, make_optimizer, space):
        opt = make_optimizer(space, random_state=0)
        trial = opt.ask()
        opt.tell(trial, TrialResult(0.5))
        with pytest.raises(InvalidParameterError):
            opt.tell(trial, TrialResult(0.5))
        with pytest.raises(InvalidParameterError):
            opt.tell(Trial(99, space.default("knn"), "random"), TrialResult(0.5))
        with pytest.raises(InvalidParameterError):
            opt.ask(0)

    def test_failed_trials_are_recorded_and_search_continues(self, make_optimizer, space):
        opt = make_optimizer(space, random_state=0)
        pairs = run_optimizer(opt, 9, fail_every=2)
        assert sum(not r.ok for _, r in pairs) == 4
        assert opt.best is not None and math.isfinite(opt.best[1])

    def test_candidates_restrict_the_search_and_run_out(self, make_optimizer, space):
        rng = np.random.default_rng(0)
        pool = space.defaults() + [space.sample(rng) for _ in range(5)]
        opt = make_optimizer(space, candidates=pool, random_state=0)
        ids = {space.config_id(c) for c in pool}
        trials = [t for t, _ in run_optimizer(opt, len(pool))]
        assert {t.config_id for t in trials} == ids
        with pytest.raises(SearchExhaustedError):
            opt.ask()

    def test_same_random_state_gives_same_trials(self, make_optimizer, space):
        first = [t.config for t, _ in run_optimizer(make_optimizer(space, random_state=3), 6)]
        again = [t.config for t, _ in run_optimizer(make_optimizer(space, random_state=3), 6)]
        assert first == again

    def test_released_trials_are_proposed_again(self, make_optimizer, space):
        opt = make_optimizer(space, random_state=0)
        if not hasattr(opt, "release"):
            pytest.skip("release() is optional: the search loop calls it when present")
        opt.enqueue([space.default("knn")])
        warm, fresh = opt.ask(), opt.ask()
        opt.release(fresh)
        opt.release(warm)
        assert not opt.pending
        with pytest.raises(InvalidParameterError):
            opt.release(warm)
        again = opt.ask()
        assert (again.number, again.config, again.origin) == (warm.number, warm.config, "warm-start")
