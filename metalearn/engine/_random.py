"""Random search: the baseline every optimizer must beat."""

from __future__ import annotations

from metalearn.engine._base import BaseOptimizer


class RandomSearch(BaseOptimizer):
    """Uniform random configurations (after any enqueued warm-start ones).

    Examples
    --------
    >>> from metalearn.engine import RandomSearch
    >>> from metalearn.space import get_space
    >>> opt = RandomSearch(get_space("classification"), random_state=0)
    >>> trial = opt.ask()
    >>> trial.origin, trial.number
    ('random', 0)
    """

    def _suggest(self, n: int) -> list[tuple[dict, str]]:
        return [(c, "random") for c in self.random_configs(n)]
