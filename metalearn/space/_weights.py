"""Fitting the search space's pipelines with per-row sample weights.

A pipeline's weights go to its final step only (the model); the
preprocessing steps are fitted unweighted. Wrappers (the row guard, SVM
calibration, target transforms) pass them on to the model they wrap.
"""

from __future__ import annotations

import numpy as np
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import has_fit_parameter

from metalearn.exceptions import SampleWeightError

#: Attributes under which a wrapper keeps the estimator it passes its fit parameters to.
_WRAPPED = ("estimator", "regressor")


def accepts_sample_weight(estimator) -> bool:
    """Whether ``estimator`` (a pipeline: its final step) uses ``fit(..., sample_weight=...)``.

    Examples
    --------
    >>> import metalearn
    >>> from metalearn.space import accepts_sample_weight, get_space
    >>> ds = metalearn.load_dataset("sklearn:wine")
    >>> space = get_space(ds.task)
    >>> [accepts_sample_weight(space.to_pipeline(space.default(f), ds)) for f in ("linear", "knn")]
    [True, False]
    """
    if isinstance(estimator, Pipeline):
        return accepts_sample_weight(estimator.steps[-1][1])
    for attr in _WRAPPED:
        inner = getattr(estimator, attr, None)
        if inner is not None and hasattr(inner, "fit"):
            return accepts_sample_weight(inner)
    return has_fit_parameter(estimator, "sample_weight")


def fit_weighted(pipeline, X, y, sample_weight: np.ndarray | None = None, family: str | None = None):
    """``pipeline.fit(X, y)``, passing ``sample_weight`` (when given) to its final step.

    Raises
    ------
    SampleWeightError
        ``sample_weight`` is given and the final step cannot use it.
    """
    if sample_weight is None:
        return pipeline.fit(X, y)
    if not accepts_sample_weight(pipeline):
        what = f"model family {family!r}" if family else type(pipeline).__name__
        raise SampleWeightError(f"{what} does not accept sample_weight; it is skipped when fitting with weights")
    if isinstance(pipeline, Pipeline):
        return pipeline.fit(X, y, **{f"{pipeline.steps[-1][0]}__sample_weight": sample_weight})
    return pipeline.fit(X, y, sample_weight=sample_weight)
