"""Report what column understanding decides on every dataset of a PMLB-layout folder.

Usage::

    nice -n 10 .venv/bin/python scripts/column_decisions.py [--pmlb ../shared/datasets/pmlb]

Prints one line per dataset where some column is not kept as it is (dropped
as an identifier, expanded from dates, taken as free text), then the number
of datasets read and of datasets with such a column. These datasets' feature
sets differ from those of a loader that keeps every column, e.g. the one a
knowledge base was built with before column understanding.
"""

from __future__ import annotations

import argparse
import warnings
from collections import Counter

from metalearn.data import load_dataset, pmlb_manifest

CHANGED_KINDS = ("dropped", "datetime", "text")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pmlb", default="../shared/datasets/pmlb", help="PMLB-layout folder")
    args = ap.parse_args(argv)
    names = list(pmlb_manifest(args.pmlb).index)
    changed: Counter = Counter()
    n_changed = 0
    for name in names:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = load_dataset(f"pmlb-dir:{args.pmlb}/{name}")
        decisions = [d for d in ds.plan.decisions if d.kind in CHANGED_KINDS]
        if decisions:
            changed.update({d.kind for d in decisions})
            n_changed += 1
            print(f"{name}: " + "; ".join(f"{d.name} {d.kind} ({d.reason})" for d in decisions))
    print(f"\n{len(names)} datasets read; {n_changed} have a column that is {', '.join(CHANGED_KINDS)} "
          f"(datasets per kind: {dict(changed)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
