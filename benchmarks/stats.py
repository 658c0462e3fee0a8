"""Statistics of the benchmark reports: Wilcoxon signed-rank with Holm correction, and the sign test.

Methods are compared over datasets (or families) as Demšar recommends: a
paired test per baseline, Holm-adjusted for the number of baselines.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import binomtest, wilcoxon


def wilcoxon_holm(reference: np.ndarray, others: dict[str, np.ndarray]) -> dict[str, float]:
    """Two-sided Wilcoxon signed-rank p-values of ``reference`` against each of ``others``, Holm-adjusted.

    Zero differences are split between the signs (``zero_method="zsplit"``,
    as Demšar recommends for comparing methods over datasets); a method
    identical to the reference everywhere gets p = 1.
    """
    pvals = {}
    for m, other in others.items():
        diff = np.asarray(reference, float) - np.asarray(other, float)
        pvals[m] = float(wilcoxon(diff, zero_method="zsplit").pvalue) if np.any(np.abs(diff) > 1e-12) else 1.0
    return holm(pvals)


def holm(pvalues: dict[str, float]) -> dict[str, float]:
    """Holm-Bonferroni adjusted p-values."""
    items = sorted(pvalues.items(), key=lambda kv: kv[1])
    n, running, out = len(items), 0.0, {}
    for i, (name, p) in enumerate(items):
        running = max(running, min(1.0, (n - i) * p))
        out[name] = running
    return out


def sign_test(won: int, lost: int) -> float:
    """One-sided sign test p-value that the method wins more often than it loses (ties left out; 1 when none).

    Examples
    --------
    >>> round(sign_test(15, 5), 4)
    0.0207
    >>> sign_test(0, 0)
    1.0
    """
    return float(binomtest(won, won + lost, alternative="greater").pvalue) if won + lost else 1.0
