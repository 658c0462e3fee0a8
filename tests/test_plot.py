"""Plots render to non-empty PNG images."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import metalearn

pytest.importorskip("matplotlib")
import metalearn.plot as mlplot  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def history(n: int = 12, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    space = metalearn.get_space("classification")
    configs = [space.sample(rng) for _ in range(n)]
    return pd.DataFrame({
        "config": configs, "score": rng.uniform(0.6, 0.9, n), "status": ["ok"] * n,
        "duration": rng.uniform(0.1, 1.0, n), "origin": (["warm-start"] * 3 + ["bo"] * n)[:n],
    })


def assert_png(fig, path):
    fig.savefig(path)
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC and len(data) > 5000


def test_metafeature_space_png(tmp_path):
    rec = metalearn.recommend("sklearn:wine", k=3)
    assert_png(mlplot.plot_metafeature_space(rec), tmp_path / "space.png")


def test_anytime_png(tmp_path):
    fig = mlplot.plot_anytime({"warm": history(), "cold": history(seed=1)}, regret_reference=0.95)
    assert_png(fig, tmp_path / "anytime.png")
    assert_png(mlplot.plot_anytime(history(), x="seconds"), tmp_path / "anytime_s.png")


def test_trace_png(tmp_path):
    assert_png(mlplot.plot_trace(history(20)), tmp_path / "trace.png")


def test_empty_history_is_a_clear_error():
    with pytest.raises(metalearn.exceptions.InvalidParameterError, match="non-empty"):
        mlplot.plot_trace(history(0))
