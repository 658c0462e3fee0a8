"""`import metalearn` stays light: no torch, openml, dask or matplotlib."""

from __future__ import annotations

import subprocess
import sys


def test_import_metalearn_imports_no_heavy_optional_dependency():
    code = ("import sys, metalearn, metalearn.neural; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('torch', 'openml', 'dask', 'distributed', 'matplotlib')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_public_api_is_declared():
    import metalearn

    for name in metalearn.__all__:
        assert hasattr(metalearn, name), name
    assert {"load_dataset", "recommend", "extract_metafeatures", "evaluate", "KnowledgeBase"} <= set(metalearn.__all__)
