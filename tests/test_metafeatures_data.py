"""Meta-features on real data: every PMLB dataset, and agreement with OpenML qualities shipped by LCDB."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import metalearn
from metalearn.metafeatures import OPENML_QUALITIES, extract_metafeatures

PMLB = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "pmlb"
_LCDB = importlib.util.find_spec("lcdb")
LCDB_QUALITIES = Path(_LCDB.submodule_search_locations[0]) / "datasets.csv" if _LCDB else Path("/nonexistent")

needs_pmlb = pytest.mark.skipif(not PMLB.exists(), reason="needs ../shared/datasets/pmlb")
needs_lcdb = pytest.mark.skipif(not LCDB_QUALITIES.exists(), reason="needs lcdb==0.1.0 (datasets.csv)")


def _names() -> list[str]:
    return list(pd.read_csv(PMLB / "manifest.csv")["name"]) if PMLB.exists() else []


@needs_pmlb
@pytest.mark.slow
@pytest.mark.parametrize("name", _names())
def test_every_pmlb_dataset_extracts_with_documented_nans_only(name):
    mf = extract_metafeatures(metalearn.load_pmlb(name, root=PMLB))
    unexpected = {k: v for k, v in mf.undefined.items() if v.startswith(("error", "not finite"))}
    assert not unexpected
    assert all(math.isfinite(v) or k in mf.undefined for k, v in mf.values.items())


@needs_pmlb
@needs_lcdb
@pytest.mark.parametrize(
    ("name", "openml_id", "data_differences"),
    [
        ("letter", 6, ()),
        # OpenML counts the values an ARFF header declares; one kr-vs-kp attribute declares 3 but shows 2.
        ("kr_vs_kp", 3, ("NumberOfBinaryFeatures", "PercentageOfBinaryFeatures")),
    ],
)
def test_openml_qualities_match_lcdb(name, openml_id, data_differences):
    expected = pd.read_csv(LCDB_QUALITIES).set_index("openmlid").loc[openml_id]
    names = [n for n in OPENML_QUALITIES if n in expected.index and n not in data_differences]
    assert len(names) >= 40
    mf = extract_metafeatures(metalearn.load_pmlb(name, root=PMLB), features=names)
    for feature in names:
        want = float(expected[feature])
        if math.isnan(want):
            assert math.isnan(mf[feature]), feature
        else:
            np.testing.assert_allclose(mf[feature], want, rtol=1e-4, atol=1e-5, err_msg=feature)
