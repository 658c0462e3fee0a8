"""The :class:`Optimizer` protocol and the base class that owns queue, history and de-duplication.

A strategy only decides *what to try next* (``_suggest``); the base class
handles warm start (``enqueue`` = try these first, ``observe`` = results
known from elsewhere), pending trials, batch asks and never proposing the
same configuration twice.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterable
from typing import Protocol, overload, runtime_checkable

import numpy as np

from metalearn.engine._trial import Observation, Trial, TrialResult
from metalearn.exceptions import InvalidParameterError, MetaLearnError
from metalearn.space import SearchSpace, canonical_json
from metalearn.utils import check_random_state

logger = logging.getLogger(__name__)


class SearchExhaustedError(MetaLearnError):
    """Every candidate configuration has been proposed already."""


@runtime_checkable
class Optimizer(Protocol):
    """What the optimisation loop needs from a search strategy (Optuna/SMAC-style ask/tell).

    An optimizer may also offer ``release(trial)`` (see :meth:`BaseOptimizer.release`):
    the parallel loop asks a trial ahead while the workers are busy and hands
    it back when the search stops before it starts.
    """

    def ask(self, n: int | None = None) -> Trial | list[Trial]:
        """The next trial (or a batch of ``n`` for parallel evaluation)."""

    def tell(self, trial: Trial, result: TrialResult) -> None:
        """Report the result of a trial returned by :meth:`ask`."""

    def enqueue(self, configs: Iterable[dict]) -> None:
        """Configurations to try first, in order (warm start)."""

    def observe(self, observations: Iterable[Observation | tuple[dict, TrialResult]]) -> None:
        """Results known from elsewhere (they shape the search but are not trials)."""


def equivalence_key(space: SearchSpace, dataset) -> Callable[[dict], str] | None:
    """A key under which configurations that build the same model on ``dataset`` coincide.

    Without missing values the imputer never acts, and without categorical
    columns neither does the encoder: configurations differing only there
    would be evaluated twice for the same score. The key replaces those
    idle hyperparameters by their family default. None when nothing is idle.
    """
    idle = []
    if dataset.n_missing == 0:
        idle.append("imputer")
    if not dataset.columns_of_type("categorical", "text"):
        idle.append("encoder")
    if not idle:
        return None
    defaults = {family: space.default(family) for family in space.families}

    def key(config: dict) -> str:
        default = defaults[config["family"]]
        return canonical_json({k: default[k] if k in idle and k in default else v for k, v in config.items()})

    return key


class BaseOptimizer:
    """Shared machinery: subclasses implement :meth:`_suggest`.

    Parameters
    ----------
    space : SearchSpace
    candidates : list of dict, optional
        Restrict the search to these configurations (e.g. a pre-evaluated
        pool looked up in a table); each is proposed at most once.
    random_state : int, Generator or None
    key : callable, optional
        ``config -> str``; configurations with equal keys are proposed once
        (default: the config id). :func:`equivalence_key` makes one that
        ignores the hyperparameters a dataset leaves idle.
    """

    def __init__(self, space: SearchSpace, *, candidates: list[dict] | None = None,
                 random_state: int | np.random.Generator | None = None,
                 key: Callable[[dict], str] | None = None) -> None:
        self.space = space
        self._key = key or space.config_id
        self.rng = check_random_state(random_state)
        self.candidates = None if candidates is None else [space.validate(dict(c)) for c in candidates]
        self._candidate_ids = None if candidates is None else [self._key(c) for c in self.candidates]
        self._queue: deque[dict] = deque()
        self._seen: set[str] = set()
        self._pending: dict[int, Trial] = {}
        self.trials: list[tuple[Trial, TrialResult]] = []
        self.observations: list[Observation] = []
        self._n_asked = 0

    # -- warm start ------------------------------------------------------------
    def enqueue(self, configs: Iterable[dict]) -> None:
        """Queue configurations to be asked first (duplicates and seen ones are skipped)."""
        queued = {self._key(c) for c in self._queue}
        for config in configs:
            config = self.space.validate(dict(config))
            key = self._key(config)
            if key not in self._seen and key not in queued:
                self._queue.append(config)
                queued.add(key)

    def observe(self, observations: Iterable[Observation | tuple[dict, TrialResult]]) -> None:
        """Add results known from elsewhere; their configurations are never proposed again."""
        for item in observations:
            obs = item if isinstance(item, Observation) else Observation(*item)
            if not isinstance(obs.result, TrialResult):
                raise InvalidParameterError(f"observe() needs TrialResult results, got {type(obs.result).__name__}")
            config = self.space.validate(dict(obs.config))
            self._seen.add(self._key(config))
            self.observations.append(Observation(config, obs.result))

    # -- ask / tell ------------------------------------------------------------
    @overload
    def ask(self, n: None = None) -> Trial: ...

    @overload
    def ask(self, n: int) -> list[Trial]: ...

    def ask(self, n: int | None = None) -> Trial | list[Trial]:
        """The next trial, or a list of ``n`` distinct trials to evaluate in parallel.

        Raises :class:`SearchExhaustedError` when candidates are restricted
        and none is left.
        """
        if n is not None and (isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1):
            raise InvalidParameterError(f"ask(n) needs a positive integer n, not {n!r}")
        count = 1 if n is None else int(n)
        proposals: list[tuple[dict, str]] = []
        while self._queue and len(proposals) < count:
            config = self._queue.popleft()
            key = self._key(config)
            if key not in self._seen:
                proposals.append((config, "warm-start"))
                self._seen.add(key)
        if len(proposals) < count:
            for config, origin in self._suggest(count - len(proposals)):
                key = self._key(config)
                if key not in self._seen:
                    self._seen.add(key)
                    proposals.append((config, origin))
        if not proposals:
            raise SearchExhaustedError("no configuration left to propose: every candidate was tried")
        trials = []
        for config, origin in proposals:
            trial = Trial(self._n_asked, config, origin, self.space.config_id(config))
            self._n_asked += 1
            self._pending[trial.number] = trial
            trials.append(trial)
        return trials[0] if n is None else trials

    def tell(self, trial: Trial, result: TrialResult) -> None:
        """Record the result of a pending trial."""
        if trial.number not in self._pending:
            raise InvalidParameterError(f"trial {trial.number} was not asked from this optimizer or was told already")
        if not isinstance(result, TrialResult):
            raise InvalidParameterError(f"tell() needs a TrialResult, got {type(result).__name__}")
        del self._pending[trial.number]
        self.trials.append((trial, result))

    def release(self, trial: Trial) -> None:
        """Take back a pending trial that was never evaluated: its configuration may be proposed again.

        A warm-start configuration goes back to the front of the queue. When
        ``trial`` is the last one asked, its number is reused by the next ask.
        """
        if trial.number not in self._pending:
            raise InvalidParameterError(f"trial {trial.number} was not asked from this optimizer or was told already")
        del self._pending[trial.number]
        self._seen.discard(self._key(trial.config))
        if trial.origin == "warm-start":
            self._queue.appendleft(trial.config)
        if trial.number == self._n_asked - 1:
            self._n_asked -= 1

    # -- views -----------------------------------------------------------------
    @property
    def pending(self) -> list[Trial]:
        """Trials asked but not yet told."""
        return list(self._pending.values())

    def known(self) -> tuple[list[dict], np.ndarray]:
        """Configurations with a finished, finite result (observed and told) and their scores."""
        pairs = self._finished()
        return [c for c, _ in pairs], np.array([r.score for _, r in pairs], dtype=float)

    def known_folds(self) -> np.ndarray | None:
        """Fold scores of :meth:`known`'s results, one row each; None unless all have the same >= 2 folds."""
        results = [r for _, r in self._finished()]
        sizes = {len(r.fold_scores) for r in results}
        if not results or len(sizes) != 1 or sizes.pop() < 2:
            return None
        return np.array([r.fold_scores for r in results], dtype=float)

    def _finished(self) -> list[tuple[dict, TrialResult]]:
        """(configuration, result) of every observed and told result that finished, in :meth:`known`'s order."""
        pairs = [(o.config, o.result) for o in self.observations if o.result.ok]
        return pairs + [(t.config, r) for t, r in self.trials if r.ok]

    def failed(self) -> list[dict]:
        """Configurations whose evaluation failed or timed out."""
        out = [o.config for o in self.observations if not o.result.ok]
        return out + [t.config for t, r in self.trials if not r.ok]

    @property
    def best(self) -> tuple[dict, float] | None:
        """The best told trial's configuration and score (None before any finished trial)."""
        done = [(t.config, r.score) for t, r in self.trials if r.ok]
        return max(done, key=lambda p: p[1]) if done else None

    def remaining_candidates(self) -> list[dict]:
        """Candidates not yet proposed or observed (empty list when unrestricted)."""
        if self.candidates is None:
            return []
        return [c for c, k in zip(self.candidates, self._candidate_ids) if k not in self._seen]

    def random_configs(self, n: int) -> list[dict]:
        """Up to ``n`` random unseen configurations (from the candidates when restricted).

        Families are drawn in random order without repetition until every
        family has been proposed once (a stratified initial design), then freely.
        """
        tried = {c["family"] for c in self._tried_configs()}
        if self.candidates is not None:
            left = [self.candidates_left[int(i)] for i in self.rng.permutation(len(self.candidates_left))]
            fresh = [c for c in left if c["family"] not in tried]
            out, fams = [], set()
            for config in fresh:
                if config["family"] not in fams and len(out) < n:
                    out.append(config)
                    fams.add(config["family"])
            keys = {self._key(c) for c in out}
            return out + [c for c in left if self._key(c) not in keys][: n - len(out)]
        untried = [f for f in self.space.families if f not in tried]
        order = [untried[int(i)] for i in self.rng.permutation(len(untried))]
        out, keys = [], set()
        for _attempt in range(50 * n):
            family = order[len(out)] if len(out) < len(order) else None
            config = self.space.sample(self.rng, family=family)
            key = self._key(config)
            if key not in self._seen and key not in keys:
                out.append(config)
                keys.add(key)
            if len(out) == n:
                break
        return out

    @property
    def candidates_left(self) -> list[dict]:
        """Alias of :meth:`remaining_candidates`."""
        return self.remaining_candidates()

    def _tried_configs(self) -> list[dict]:
        return [o.config for o in self.observations] + [t.config for t, _ in self.trials] + [
            t.config for t in self._pending.values()]

    def _suggest(self, n: int) -> list[tuple[dict, str]]:
        """Propose ``n`` new configurations with their origin; subclasses override."""
        raise NotImplementedError

