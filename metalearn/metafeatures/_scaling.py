"""Putting meta-features of different datasets on one scale, and distances between datasets.

Shared by the recommender (neighbours, performance model) and the optimizer's
table prior, so both layers measure "similar dataset" the same way.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from metalearn.utils import signed_log

#: Meta-features missing on more than this share of datasets are not used for similarity.
MAX_MISSING_SHARE = 0.5
#: Scaled values are clipped to +-CLIP so one extreme feature cannot dominate a distance.
CLIP = 5.0


@dataclass(frozen=True)
class MetaFeatureScaler:
    """Signed-log transform, then robust standardisation (median / IQR); NaN becomes 0 (the median).

    Examples
    --------
    >>> import pandas as pd
    >>> from metalearn.metafeatures import MetaFeatureScaler
    >>> scaler = MetaFeatureScaler.fit(pd.DataFrame({"a": [1.0, 10.0, 100.0], "b": [0.0, 0.5, 1.0]}))
    >>> scaler.names
    ('a', 'b')
    >>> scaler.transform({"a": 10.0}).round(2).tolist()
    [0.0, 0.0]
    """

    names: tuple[str, ...]
    center: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, frame: pd.DataFrame, names: Sequence[str] | None = None) -> MetaFeatureScaler:
        """Fit on a datasets x features frame; keeps features defined on most datasets and not constant."""
        cols = list(names) if names is not None else list(frame.columns)
        cols = [c for c in cols if c in frame.columns]
        logged = signed_log(frame[cols].to_numpy(dtype=float))
        if logged.shape[0] == 0 or logged.shape[1] == 0:
            return cls((), np.empty(0), np.empty(0))
        present = np.mean(~np.isnan(logged), axis=0) >= 1 - MAX_MISSING_SHARE
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns: dropped just below
            center = np.nanmedian(logged, axis=0)
            q75, q25 = np.nanpercentile(logged, [75, 25], axis=0)
            std = np.nanstd(logged, axis=0)
        scale = np.where(q75 - q25 > 1e-9, (q75 - q25) / 1.349, std)
        keep = present & (scale > 1e-9) & np.isfinite(center)
        return cls(tuple(str(c) for c, k in zip(cols, keep) if k), center[keep], scale[keep])

    def transform_frame(self, frame: pd.DataFrame) -> np.ndarray:
        """Scale a datasets x features frame (missing columns count as NaN)."""
        values = frame.reindex(columns=list(self.names)).to_numpy(dtype=float)
        return self._scale(values)

    def transform(self, values: Mapping[str, float | None]) -> np.ndarray:
        """Scale one dataset's meta-features (absent or None count as NaN)."""
        row = np.array([np.nan if values.get(n) is None else float(values[n]) for n in self.names], dtype=float)
        return self._scale(row[None, :])[0]

    def _scale(self, values: np.ndarray) -> np.ndarray:
        z = (signed_log(values) - self.center) / self.scale
        return np.clip(np.nan_to_num(z, nan=0.0, posinf=CLIP, neginf=-CLIP), -CLIP, CLIP)


def scaled_distances(scaled: np.ndarray, query: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Mean absolute (optionally feature-weighted) difference between a scaled query and each scaled row."""
    diff = np.abs(scaled - query[None, :])
    if weights is not None:
        diff = diff * weights[None, :]
    return diff.mean(axis=1) if diff.shape[1] else np.zeros(len(scaled))
