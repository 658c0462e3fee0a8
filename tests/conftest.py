"""Shared fixtures. Real-data tests skip cleanly when ../shared/datasets is absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("METALEARN_SHARED", REPO.parent / "shared"))
PMLB_DIR = SHARED / "datasets" / "pmlb"
OMNIGLOT_DIR = SHARED / "datasets" / "omniglot"
RESERVED_CSV = SHARED / "datasets" / "reserved.csv"

needs_pmlb = pytest.mark.skipif(not PMLB_DIR.exists(), reason="../shared/datasets/pmlb is not present")


@pytest.fixture(scope="session")
def pmlb_dir() -> Path:
    if not PMLB_DIR.exists():
        pytest.skip("../shared/datasets/pmlb is not present")
    return PMLB_DIR
