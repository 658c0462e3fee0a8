"""Acquisition functions and their optimisation over the conditional space.

The acquisition is maximised by scoring many random configurations plus
neighbours of the best known ones, then hill-climbing from the most
promising with :meth:`SearchSpace.neighbor` moves (SMAC's
"random + local search"). When the search is restricted to a candidate
pool, every remaining candidate is scored instead.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.stats import norm

from metalearn.exceptions import InvalidParameterError
from metalearn.space import SearchSpace, canonical_json

ACQUISITIONS = ("ei", "ucb")


def expected_improvement(mean: np.ndarray, std: np.ndarray, best: float, xi: float = 0.0) -> np.ndarray:
    """Expected improvement over ``best`` (maximisation).

    Examples
    --------
    >>> import numpy as np
    >>> from metalearn.engine import expected_improvement
    >>> ei = expected_improvement(np.array([0.0, 1.0]), np.array([1.0, 1.0]), best=0.5)
    >>> bool(ei[1] > ei[0])
    True
    """
    std = np.maximum(np.asarray(std, dtype=float), 1e-12)
    z = (np.asarray(mean) - best - xi) / std
    return (np.asarray(mean) - best - xi) * norm.cdf(z) + std * norm.pdf(z)


def upper_confidence_bound(mean: np.ndarray, std: np.ndarray, kappa: float = 1.0) -> np.ndarray:
    """``mean + kappa * std``.

    Examples
    --------
    >>> import numpy as np
    >>> from metalearn.engine import upper_confidence_bound
    >>> upper_confidence_bound(np.array([1.0]), np.array([0.5]), kappa=2.0).tolist()
    [2.0]
    """
    return np.asarray(mean) + kappa * np.asarray(std)


def acquisition_values(kind: str, mean: np.ndarray, std: np.ndarray, best: float | None,
                       kappa: float = 1.0) -> np.ndarray:
    """Values of acquisition ``kind``; EI falls back to UCB before any observation (``best`` None)."""
    if kind not in ACQUISITIONS:
        raise InvalidParameterError(f"acquisition must be one of {ACQUISITIONS}, not {kind!r}")
    if kind == "ucb" or best is None:
        return upper_confidence_bound(mean, std, kappa)
    return expected_improvement(mean, std, best)


def maximize_acquisition(score: Callable[[list[dict]], np.ndarray], space: SearchSpace,
                         rng: np.random.Generator, *, incumbents: list[dict], n: int = 1,
                         exclude: set[str] | None = None, n_random: int = 200, n_local_starts: int = 3,
                         n_local_steps: int = 10, key: Callable[[dict], str] = canonical_json) -> list[dict]:
    """The ``n`` configurations with the highest acquisition found by random + local search.

    Parameters
    ----------
    score : callable
        Maps a list of configurations to their acquisition values.
    incumbents : list of dict
        Best known configurations; their neighbours are scored too.
    exclude : set of str
        Keys (see ``key``) never to return (already tried or pending).
    key : callable
        Configurations with equal keys count as one (default: the config id).

    Examples
    --------
    >>> import numpy as np
    >>> from metalearn.engine import maximize_acquisition
    >>> from metalearn.space import get_space
    >>> space = get_space("regression")
    >>> by_alpha = lambda cs: np.array([c.get("alpha", 0.0) if c["family"] == "linear" else 0 for c in cs])
    >>> best = maximize_acquisition(by_alpha, space, np.random.default_rng(0), incumbents=[])
    >>> best[0]["family"]
    'linear'
    """
    exclude = set(exclude or ())
    pool = [space.sample(rng) for _ in range(n_random)]
    for inc in incumbents:
        pool += [space.neighbor(inc, rng) for _ in range(max(5, n_random // (5 * max(len(incumbents), 1))))]
    pool = _unique(pool, exclude, key)
    values = score(pool)
    order = np.argsort(-values)
    for start in order[:n_local_starts]:
        config, value = pool[int(start)], float(values[int(start)])
        for _ in range(n_local_steps):
            moves = _unique([space.neighbor(config, rng) for _ in range(6)], exclude, key)
            if not moves:
                break
            move_values = score(moves)
            j = int(np.argmax(move_values))
            if move_values[j] <= value:
                break
            config, value = moves[j], float(move_values[j])
            pool.append(config)
            values = np.append(values, value)
    chosen, keys = [], set()
    for i in np.argsort(-values):
        k = key(pool[int(i)])
        if k not in keys:
            chosen.append(pool[int(i)])
            keys.add(k)
        if len(chosen) == n:
            break
    return chosen


def _unique(configs: list[dict], exclude: set[str], key: Callable[[dict], str]) -> list[dict]:
    out, keys = [], set(exclude)
    for config in configs:
        k = key(config)  # configs come from the space itself: no need to re-validate
        if k not in keys:
            keys.add(k)
            out.append(config)
    return out
