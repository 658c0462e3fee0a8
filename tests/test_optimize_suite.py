"""Every optimizer passes the shared suite (metalearn.testing._optimizer_suite)."""

from __future__ import annotations

import numpy as np
import pytest

from metalearn.optimize import BayesianOptimizer, RandomSearch
from metalearn.testing._optimizer_suite import OptimizerSuite, synthetic_score


class FakePrior:
    """A transfer prior that knows the synthetic objective up to noise."""

    def predict(self, configs):
        mean = np.array([synthetic_score(c) for c in configs])
        return mean, np.full(len(configs), 0.05)


class TestRandomSearch(OptimizerSuite):
    @pytest.fixture
    def make_optimizer(self):
        return lambda space, **kw: RandomSearch(space, **kw)


class TestColdBO(OptimizerSuite):
    @pytest.fixture
    def make_optimizer(self):
        return lambda space, **kw: BayesianOptimizer(space, n_initial=3, **kw)


class TestBOWithPrior(OptimizerSuite):
    @pytest.fixture
    def make_optimizer(self):
        return lambda space, **kw: BayesianOptimizer(space, prior=FakePrior(), **kw)


class TestBOWithUCBAndForest(OptimizerSuite):
    @pytest.fixture
    def make_optimizer(self):
        return lambda space, **kw: BayesianOptimizer(space, surrogate="random_forest", acquisition="ucb",
                                                     random_fraction=0.2, **kw)
