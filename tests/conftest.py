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


@pytest.fixture(scope="module")
def kb_path(tmp_path_factory):
    """The synthetic KB of :mod:`synthetic_kb` (12 datasets, 6 families, known best families)."""
    from synthetic_kb import build_synthetic_kb

    return build_synthetic_kb(tmp_path_factory.mktemp("kb") / "kb.sqlite")


@pytest.fixture(scope="module")
def kb(kb_path):
    from metalearn.kb import KnowledgeBase

    return KnowledgeBase.open(kb_path)


@pytest.fixture(scope="module")
def ctx(kb):
    from synthetic_kb import TASK

    from metalearn.recommend import TaskContext

    return TaskContext.from_kb(kb, TASK)
