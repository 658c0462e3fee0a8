"""Every example in the library's docstrings runs and shows what it prints (so the docs cannot rot)."""

from __future__ import annotations

import doctest
import importlib
import importlib.util
import pkgutil
from pathlib import Path

import pytest

import metalearn
from metalearn.exceptions import OptionalDependencyError


def _modules_with_examples() -> list[str]:
    """Library modules whose source holds a ``>>>`` example (modules are read as text, not imported)."""
    names = []
    for info in pkgutil.walk_packages(metalearn.__path__, "metalearn."):
        spec = importlib.util.find_spec(info.name)
        if spec is not None and spec.origin and ">>> " in Path(spec.origin).read_text(encoding="utf-8"):
            names.append(info.name)
    return sorted(names)


@pytest.mark.parametrize("name", _modules_with_examples())
def test_docstring_examples_run(name):
    try:
        module = importlib.import_module(name)
    except (ImportError, OptionalDependencyError) as exc:  # e.g. torch for metalearn.neural without the extra
        pytest.skip(f"{name} needs an optional dependency: {exc}")
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    examples = 0
    for test in doctest.DocTestFinder().find(module, name):
        examples += len(test.examples)
        runner.run(test)
    assert examples > 0
    assert runner.summarize(verbose=False).failed == 0
