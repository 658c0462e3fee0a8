"""Experiments on metalearn, kept out of the library: not installed with the wheel.

The modules are the shared code of the benchmark scripts in ``scripts/``:

- :mod:`benchmarks.simulate`: leave-one-family-out simulation of warm-start
  strategies by table lookup on a dense knowledge base;
- :mod:`benchmarks.anytime`: the simulated anytime benchmark of the optimizer
  (methods, resumable cache, targets, draws of one dataset per family);
- :mod:`benchmarks.stats`: Wilcoxon signed-rank with Holm correction, sign test;
- :mod:`benchmarks.sampling`: the held-out datasets of the live benchmarks;
- :mod:`benchmarks.tpe`: the Optuna TPE baseline over metalearn's space.

They import only metalearn's public names. ``benchmarks`` is importable from
the repository root: the tests put the root on the path (``pythonpath`` in
``pyproject.toml``), and each script that imports it adds the root first
(``sys.path.insert(0, <repo root>)``), so ``python scripts/NAME.py`` works from
any directory.
"""
