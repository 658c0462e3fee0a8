"""The held-out datasets of the live benchmarks: one per family of near-copies, sizes spread evenly."""

from __future__ import annotations

import numpy as np

from metalearn.exceptions import InvalidParameterError
from metalearn.kb import dataset_family
from metalearn.utils import check_random_state


def family_sample(manifest, n: int, *, random_state: int = 0, min_rows: int = 300,
                  max_rows: int = 20000) -> list[str]:
    """Held-out benchmark datasets: half classification, half regression, one per family.

    Within each task, one dataset is drawn at random from every family of
    near-copies (so 62 friedman datasets count once), then ``n / 2`` of them
    are taken with sizes spread evenly between ``min_rows`` and ``max_rows``.

    Parameters
    ----------
    manifest : pandas.DataFrame
        Indexed by dataset name, with columns ``task`` and ``n_rows``
        (:func:`metalearn.data.pmlb_manifest`).
    n : int
        Datasets wanted (classification gets the odd one).
    random_state : int
    min_rows, max_rows : int

    Returns
    -------
    list of str
        Classification names first, each task ordered by size.

    Raises
    ------
    InvalidParameterError
        ``n`` below 1, ``min_rows > max_rows``, or a manifest without ``task`` and ``n_rows`` columns.
    """
    missing = {"task", "n_rows"} - set(getattr(manifest, "columns", ()))
    if missing:
        raise InvalidParameterError(f"family_sample needs a manifest DataFrame with columns 'task' and 'n_rows' "
                                    f"(metalearn.data.pmlb_manifest); missing: {sorted(missing)}")
    if int(n) < 1 or min_rows > max_rows:
        raise InvalidParameterError(f"family_sample needs n >= 1 and min_rows <= max_rows, not n={n!r}, "
                                    f"min_rows={min_rows!r}, max_rows={max_rows!r}")
    sized = manifest[(manifest["n_rows"] >= min_rows) & (manifest["n_rows"] <= max_rows)]
    chosen: list[str] = []
    for task, n_task in (("classification", n - n // 2), ("regression", n // 2)):
        names = list(sized.index[sized["task"] == task])
        per_family: dict[str, str] = {}
        for i in check_random_state(random_state).permutation(len(names)):
            per_family.setdefault(dataset_family(names[i]), names[i])
        pick = sorted(per_family.values(), key=lambda name: (manifest.loc[name, "n_rows"], name))
        if pick and n_task:
            spread = np.linspace(0, len(pick) - 1, min(n_task, len(pick))).round().astype(int)
            chosen += [pick[i] for i in np.unique(spread)]
    return chosen
