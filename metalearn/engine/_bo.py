"""Bayesian optimisation over the conditional pipeline space, with an optional transfer prior."""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np

from metalearn.engine._acquisition import ACQUISITIONS, acquisition_values, maximize_acquisition
from metalearn.engine._base import BaseOptimizer
from metalearn.engine._prior import AdaptivePrior, Prior, blend_prior
from metalearn.engine._surrogate import SURROGATES, ForestSurrogate
from metalearn.exceptions import InvalidParameterError
from metalearn.space import SearchSpace

logger = logging.getLogger(__name__)


class BayesianOptimizer(BaseOptimizer):
    """Surrogate-model based search: extra-trees surrogate, EI acquisition, random + local search.

    Warm-start configurations (:meth:`enqueue`) are asked first; then, with
    fewer than ``n_initial`` finished observations, random configurations
    (or the prior's best, when a prior is given); afterwards the acquisition
    picks. A ``prior`` (see :class:`Prior`) is blended with the surrogate and
    fades as own observations accumulate (:func:`blend_prior`).

    An :class:`AdaptivePrior` (e.g. :class:`metalearn.recommend.TransferPrior`)
    is first conditioned on the own results, and while fewer than
    ``portfolio_trials`` have finished it picks the next trials itself: the
    untried pool configuration with the largest expected gain over those
    tried, across KB datasets weighted by how much they resemble this one (an
    adaptive greedy portfolio, origin ``"portfolio"``). It falls back to the
    acquisition when no pool configuration is expected to gain anything.

    Parameters
    ----------
    space : SearchSpace
    prior : Prior, optional
        Transfer prior in normalised units; None gives cold BO.
    surrogate : {"extra_trees", "random_forest"}
    acquisition : {"ei", "ucb"}
    n_initial : int
        Finished observations needed before the surrogate is used.
    prior_n0 : float
        Own observations at which the prior's weight halves.
    portfolio_trials : int
        With an adaptive prior, finished trials before the acquisition takes
        over from the adaptive portfolio (0: never use the portfolio).
    random_fraction : float
        Share of suggestions drawn at random (interleaved exploration).
    candidates : list of dict, optional
        Restrict the search to these configurations.
    random_state : int, Generator or None

    Examples
    --------
    >>> from metalearn.engine import BayesianOptimizer, TrialResult
    >>> from metalearn.space import get_space
    >>> opt = BayesianOptimizer(get_space("regression"), n_initial=2, random_state=0)
    >>> for _ in range(4):
    ...     trial = opt.ask()
    ...     opt.tell(trial, TrialResult(float(trial.config["family"] == "linear")))
    >>> [t.origin for t, _ in opt.trials]
    ['random', 'random', 'bo', 'bo']
    """

    def __init__(self, space: SearchSpace, *, prior: Prior | None = None, surrogate: str = "extra_trees",
                 acquisition: str = "ei", n_initial: int = 3, prior_n0: float = 10.0,
                 portfolio_trials: int = 25, random_fraction: float = 0.0, candidates: list[dict] | None = None,
                 random_state: int | np.random.Generator | None = None,
                 key: Callable[[dict], str] | None = None) -> None:
        super().__init__(space, candidates=candidates, random_state=random_state, key=key)
        if surrogate not in SURROGATES:
            raise InvalidParameterError(f"surrogate must be one of {SURROGATES}, not {surrogate!r}")
        if acquisition not in ACQUISITIONS:
            raise InvalidParameterError(f"acquisition must be one of {ACQUISITIONS}, not {acquisition!r}")
        if prior is not None and not callable(getattr(prior, "predict", None)):
            raise InvalidParameterError("prior must have a predict(configs) -> (mean, std) method")
        if isinstance(portfolio_trials, bool) or not isinstance(portfolio_trials, (int, np.integer)) \
                or portfolio_trials < 0:
            raise InvalidParameterError(f"portfolio_trials must be a non-negative integer, not {portfolio_trials!r}")
        if not 0.0 <= random_fraction <= 1.0:
            raise InvalidParameterError(f"random_fraction must be in [0, 1], not {random_fraction!r}")
        self.prior = prior
        self.surrogate = surrogate
        self.acquisition = acquisition
        self.n_initial = int(n_initial)
        self.prior_n0 = float(prior_n0)
        self.portfolio_trials = int(portfolio_trials)
        self.random_fraction = float(random_fraction)
        self.prior_weights_: list[float] = []

    def _suggest(self, n: int) -> list[tuple[dict, str]]:
        configs, y = self.known()
        prior = self.prior
        if isinstance(prior, AdaptivePrior):
            prior = prior.condition(configs, y, folds=self.known_folds())
        n_random = sum(self.rng.random() < self.random_fraction for _ in range(n))
        if prior is None and len(y) < self.n_initial:
            n_random = n
        out = [(c, "random") for c in self.random_configs(n_random)]
        if len(out) < n and isinstance(prior, AdaptivePrior) and len(y) < self.portfolio_trials:
            out += [(c, "portfolio") for c in self._by_portfolio(prior, n - len(out), configs)]
        if len(out) < n:
            out += [(c, "bo") for c in self._by_acquisition(n - len(out), configs, y, prior)]
        return out

    def _by_portfolio(self, prior: AdaptivePrior, n: int, done: list[dict]) -> list[dict]:
        """Up to ``n`` untried pool configurations, each the one with the largest expected gain (greedy)."""
        if self.candidates is not None:
            left = self.remaining_candidates()
        else:
            usable = set(self.space.available_families)  # pool configs of families whose library is missing
            left = [c for c in prior.pool_configs if self._key(c) not in self._seen and c["family"] in usable]
        tried = list(done) + [t.config for t in self._pending.values()]
        mean = prior.predict(left)[0] if left else np.empty(0)  # the tie-break; it does not change between picks
        picks: list[dict] = []
        while left and len(picks) < n:
            gains = prior.portfolio_gains(left, tried + picks)
            if not np.any(np.nan_to_num(gains, nan=0.0) > 1e-9):
                break
            order = np.lexsort((-mean, -np.round(np.nan_to_num(gains, nan=-1.0), 12)))
            pick = self.space.validate(dict(left[int(order[0])]))
            picks.append(pick)
            keep = [self._key(c) != self._key(pick) for c in left]  # drop the pick and its equivalents
            left, mean = [c for c, k in zip(left, keep) if k], mean[np.array(keep, dtype=bool)]
            self.prior_weights_.append(1.0)
        return picks

    def _model(self, configs: list[dict], y: np.ndarray, prior: Prior | None):
        """A function mapping configurations to blended (mean, std), and the incumbent score."""
        own = None
        if len(y) >= max(2, self.n_initial if prior is None else 2):
            seed = int(self.rng.integers(2**31 - 1))
            own = ForestSurrogate(self.surrogate, random_state=seed).fit(self.space.encode_many(configs), y)
        prior_at_own = prior.predict(configs)[0] if prior is not None and len(y) else np.empty(0)

        families = {c["family"] for c in configs}
        spread = float(np.std(y)) if len(y) > 1 else 0.0

        def predict(batch: list[dict]) -> tuple[np.ndarray, np.ndarray]:
            own_mean = own_std = None
            if own is not None:
                own_mean, own_std = own.predict(self.space.encode_many(batch))
                # trees cannot tell anything about a family never observed: keep it worth exploring
                unseen = np.array([c["family"] not in families for c in batch])
                own_std = np.where(unseen, np.maximum(own_std, spread), own_std)
            if prior is None:
                return own_mean, own_std
            p_mean, p_std = prior.predict(batch)
            mean, std, weight = blend_prior(p_mean, p_std, own_mean, own_std, prior_at_own, y, n0=self.prior_n0)
            self._last_weight = weight
            return mean, std

        return predict, (float(np.max(y)) if len(y) else None)

    def _by_acquisition(self, n: int, configs: list[dict], y: np.ndarray, prior: Prior | None) -> list[dict]:
        predict, best = self._model(configs, y, prior)
        self._last_weight = 0.0 if prior is None else 1.0

        def score(batch: list[dict]) -> np.ndarray:
            mean, std = predict(batch)
            return acquisition_values(self.acquisition, mean, std, best)

        if self.candidates is not None:
            left = self.remaining_candidates()
            if not left:
                return []
            values = score(left)
            chosen = [left[int(i)] for i in np.argsort(-values, kind="stable")[:n]]
        else:
            order = np.argsort(-y)[:3] if len(y) else []
            chosen = maximize_acquisition(score, self.space, self.rng, incumbents=[configs[int(i)] for i in order],
                                          n=n, exclude=set(self._seen), key=self._key)
        self.prior_weights_.append(self._last_weight)
        return chosen
