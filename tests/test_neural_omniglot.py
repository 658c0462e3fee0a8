"""Omniglot loading and alphabet splits (skipped without ../shared/datasets/omniglot)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from metalearn.neural import OMNIGLOT_SPLITS, load_omniglot, omniglot_family

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
