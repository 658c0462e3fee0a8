"""The README's Python quickstart runs as printed (slow: it fits real models)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.mark.slow
def test_the_python_quickstart_runs_as_printed(capsys):
    block = re.search(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert block is not None, "the README lost its Python quickstart"
    namespace: dict = {}
    exec(compile(block.group(1), "README.md quickstart", "exec"), namespace)  # noqa: S102 - our own README
    assert namespace["model"].score(namespace["X_test"], namespace["y_test"]) > 0.8
    assert list(namespace["res"].history["origin"][:3]) == ["warm-start"] * 3
