"""A small synthetic KB whose structure is known, shared by the recommender and benchmark-script tests.

Not a test module: ``conftest.py`` builds the ``kb_path`` / ``kb`` / ``ctx`` fixtures from it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import metalearn
from metalearn.kb import KBStore, RunRecord, config_key
from metalearn.kb._schema import config_row
from metalearn.kb._sources import candidate_pool
from metalearn.space import family_versions

TASK = "classification"


def synthetic_dataset(kind: str, seed: int):
    """'wide' datasets (many features, few rows) favour linear models; 'tall' ones favour boosting."""
    rng = np.random.default_rng(seed)
    n, p = (80, 40) if kind == "wide" else (600, 4)
    X = rng.normal(size=(n, p))
    y = (X[:, 0] + 0.5 * rng.normal(size=n) > 0).astype(int)
    return metalearn.load_dataset((X, y), name=f"{kind}_{seed}")


def build_synthetic_kb(path: Path) -> Path:
    """12 datasets in two kinds and 6 families; scores favour 'linear' on wide and 'hist_gradient_boosting' on tall."""
    pool = candidate_pool(TASK, 21, random_state=0, per_family=0)
    rng = np.random.default_rng(0)
    with KBStore(path, create=True) as store:
        store.record_family_versions(family_versions())
        store.add_configs(config_row(TASK, c) for c in pool)
        for i in range(12):
            kind = "wide" if i % 2 else "tall"
            ds = synthetic_dataset(kind, i)
            mf = metalearn.extract_metafeatures(ds, groups=["general", "statistical"]).values
            did = store.add_dataset(name=ds.name, source="local", task=TASK, family=f"fam{i // 2}",
                                    n_rows=ds.n_rows, n_features=ds.n_features, n_classes=2,
                                    metafeatures={k: (None if v != v else v) for k, v in mf.items()})
            favourite = "linear" if kind == "wide" else "hist_gradient_boosting"
            runs = []
            for c in pool:
                score = 0.6 + 0.05 * rng.random() + (0.3 if c["family"] == favourite else 0.0)
                runs.append(RunRecord(did, config_key(TASK, c), "balanced_accuracy", (score,), score, 0.1, "ok",
                                      "local"))
            store.add_runs(runs)
    return path
