"""Omniglot loading and alphabet splits (skipped without ../shared/datasets/omniglot)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from metalearn.neural import OMNIGLOT_SPLITS, load_omniglot, load_runs, omniglot_family

OMNIGLOT = Path(__file__).resolve().parents[1] / ".." / "shared" / "datasets" / "omniglot"
pytestmark = pytest.mark.skipif(not any(OMNIGLOT.glob("*.zip")), reason="needs ../shared/datasets/omniglot")


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("omniglot-cache")


def test_omniglot_decodes_to_28x28_ink_images_and_caches(cache_dir):
    pool = load_omniglot(OMNIGLOT, cache_dir=cache_dir)
    assert pool.images.shape[1:] == (1, 28, 28) and pool.images.dtype == np.float32
    assert 0 < pool.images.mean() < 0.3  # ink (1) is the minority of pixels
    assert np.all(np.bincount(pool.labels) == 20)
    assert list(cache_dir.glob("*.npz"))
    again = load_omniglot(OMNIGLOT, cache_dir=cache_dir)
    assert np.array_equal(again.labels, pool.labels) and again.characters == pool.characters


def test_omniglot_splits_by_alphabet_and_supports_20_way_test_episodes(cache_dir):
    fam = omniglot_family(OMNIGLOT, cache_dir=cache_dir)
    pool = load_omniglot(OMNIGLOT, cache_dir=cache_dir)
    ep = next(fam.episodes("test", 1, 20, 1, 5, random_state=0))
    alphabets = {pool.alphabets[c] for c, _ in ep.info["classes"]}
    assert alphabets <= set(OMNIGLOT_SPLITS["test"])
    assert ep.support_x.shape == (20, 1, 28, 28) and ep.query_x.shape == (100, 1, 28, 28)
    assert fam.n_classes("train") % 4 == 0  # every meta-train character in four rotations


def test_held_out_runs_are_written_in_lakes_layout_and_read_back(tmp_path):
    pytest.importorskip("torch")
    import importlib.util

    spec = importlib.util.spec_from_file_location("bfs", Path(__file__).resolve().parents[1] / "scripts"
                                                  / "benchmark_few_shot.py")  # fmt: skip
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    script.write_demo_runs(tmp_path, OMNIGLOT, n_runs=3, seed=0, n_way=5)
    lines = (tmp_path / "run02" / "class_labels.txt").read_text().splitlines()
    assert len(lines) == 5 and all(ln.startswith("run02/test/item") and " run02/training/class" in ln for ln in lines)
    runs = load_runs(tmp_path)
    assert [r.name for r in runs] == ["run01", "run02", "run03"]
    for run in runs:
        assert run.train_x.shape == (5, 1, 28, 28) and sorted(run.test_y.tolist()) == list(range(5))
        assert not np.allclose(run.test_x, run.train_x[run.test_y])  # another drawer drew the test items
