"""Imported once by the evaluation forkserver (never by user code): pays first-call costs up front.

Fitting every family's default once on a tiny dataset triggers the lazy
imports and one-off initialisation inside scikit-learn/scipy, and scanning
the thread pools once gives a controller the children reuse. All of this
runs with OpenMP/BLAS limited to one thread, so no thread pool exists in the
server when it forks (GNU OpenMP is not fork-safe once its pool is started).
"""

from __future__ import annotations

import warnings

import numpy as np
from threadpoolctl import ThreadpoolController

from metalearn.data import load_dataset
from metalearn.space import get_space

CONTROLLER = ThreadpoolController()


def _warm_up() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    targets = {"classification": np.arange(40) % 2, "regression": X[:, 0] + rng.normal(size=40)}
    with CONTROLLER.limit(limits=1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for task, y in targets.items():
            ds = load_dataset((X, y), task=task)
            space = get_space(task)
            for config in space.defaults():
                space.to_pipeline(config, ds).fit(ds.X, ds.y).predict(ds.X)


_warm_up()
