"""The benchmarks package (repo root, not installed): simulation, statistics, dataset sampling."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from benchmarks.sampling import family_sample
from benchmarks.simulate import regret_at_k, simulate, strategy_method, summarise
from benchmarks.stats import holm, sign_test
from metalearn.exceptions import InvalidParameterError
from metalearn.kb import dataset_family
from metalearn.recommend import AutoStrategy, AutoVariant


def test_simulation_leave_one_family_out(ctx):
    methods = {"auto": strategy_method(lambda: AutoStrategy(variants=[AutoVariant(n_neighbors=3)])),
               "random": lambda train: (lambda row, q, k: np.random.default_rng(row).permutation(21)[:k])}
    result = simulate(ctx, methods, ks=(1, 3))
    assert result.regret["auto"].shape == (12, 2)
    assert result.regret["auto"][:, 0].mean() < result.regret["random"][:, 0].mean()
    summary = summarise(result, "auto")
    assert summary[1]["random"]["vs_reference"][0] >= 8


def test_regret_and_holm():
    assert regret_at_k(np.array([0.0, 0.5, 1.0]), np.array([1, 2]), (1, 2)).tolist() == [0.5, 0.0]
    adjusted = holm({"a": 0.01, "b": 0.04, "c": 0.03})
    assert adjusted["a"] == pytest.approx(0.03) and adjusted["b"] == pytest.approx(0.06)


def test_sign_test_is_one_sided_and_leaves_ties_out():
    assert sign_test(15, 5) == pytest.approx(0.020695, abs=1e-6)
    assert sign_test(5, 15) > 0.5 and sign_test(0, 0) == 1.0


def test_family_sample_takes_one_per_family_and_both_tasks():
    rows = [(f"{i}_fri_c0_{i}_5", "regression", 500 + i) for i in range(30)]
    rows += [("mushroom", "classification", 8000), ("wine", "classification", 400), ("tiny", "classification", 50),
             ("analcatdata_a", "classification", 900), ("analcatdata_b", "classification", 950),
             ("1027_ESL", "regression", 488)]
    manifest = pd.DataFrame(rows, columns=["name", "task", "n_rows"]).set_index("name")
    picked = family_sample(manifest, 6, random_state=0)
    assert picked[:3] == ["wine", picked[1], "mushroom"] and picked[1].startswith("analcatdata")
    assert len(picked) == 5 and picked[3] == "1027_ESL" and dataset_family(picked[4]) == "friedman"
    assert "tiny" not in picked  # under min_rows
    assert family_sample(manifest, 6, random_state=0) == picked
    with pytest.raises(InvalidParameterError, match="n >= 1"):
        family_sample(manifest, 0)
    with pytest.raises(InvalidParameterError, match="missing"):
        family_sample(manifest.drop(columns="n_rows"), 4)
