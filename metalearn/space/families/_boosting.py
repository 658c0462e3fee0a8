"""scikit-learn estimators around LightGBM, XGBoost and CatBoost, with their native categorical handling.

:class:`NativeFrame` turns the pipeline's input into a frame of float numeric
columns and pandas ``category`` columns of integer codes (missing and unseen
levels become missing), with positional column names that every library
accepts. :class:`BoostedClassifier` / :class:`BoostedRegressor` then hand that
frame to the library so each treats categoricals its own way: LightGBM and
XGBoost split on categories natively, CatBoost uses its ordered target
statistics (a missing or unseen level is one more level, ``-1``). Each model
runs with one thread; the library is imported only when a model is fitted,
so a missing library fails that one evaluation with a clear
:class:`~metalearn.exceptions.OptionalDependencyError`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, TransformerMixin
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.validation import check_is_fitted

from metalearn.exceptions import InvalidConfigError
from metalearn.space._preprocessing import ordinal_encoder
from metalearn.space._text import TextFeatures
from metalearn.utils import import_optional

#: pip extra that installs each library
EXTRAS = {"lightgbm": "lightgbm", "xgboost": "xgboost", "catboost": "catboost"}


class NativeFrame(TransformerMixin, BaseEstimator):
    """Numeric columns as float, categorical columns as pandas categories of integer codes.

    Parameters
    ----------
    numeric, categorical, text : tuple of str
        Column names of the input frame (text columns become TF-IDF features, see ``_text``).
    """

    def __init__(self, numeric: tuple = (), categorical: tuple = (), text: tuple = ()) -> None:
        self.numeric = numeric
        self.categorical = categorical
        self.text = text

    def fit(self, X, y=None):
        """Learn the categories of each categorical column (rare ones grouped, see ``ordinal_encoder``)."""
        self.encoder_ = ordinal_encoder().fit(X[list(self.categorical)]) if self.categorical else None
        self.n_levels_ = ([len(c) for c in self.encoder_.categories_] if self.encoder_ is not None else [])
        self.text_ = TextFeatures().fit(X[list(self.text)]) if self.text else None
        return self

    def transform(self, X) -> pd.DataFrame:
        """The frame the boosting libraries read (columns ``n0..``, ``t0..``, then ``c0..``)."""
        check_is_fitted(self, "n_levels_")
        parts = {f"n{i}": pd.to_numeric(X[c], errors="coerce").to_numpy(dtype=float)
                 for i, c in enumerate(self.numeric)}
        if self.text_ is not None:
            parts.update({f"t{i}": col for i, col in enumerate(self.text_.transform(X[list(self.text)]).T)})
        if self.encoder_ is not None:
            codes = self.encoder_.transform(X[list(self.categorical)]).astype(int)
            for i, levels in enumerate(self.n_levels_):
                parts[f"c{i}"] = pd.Categorical.from_codes(np.where(codes[:, i] < levels, codes[:, i], -1),
                                                           categories=range(levels))
        return pd.DataFrame(parts, index=getattr(X, "index", None))


def _categorical_columns(X: pd.DataFrame) -> list[str]:
    return [c for c in X.columns if isinstance(X[c].dtype, pd.CategoricalDtype)]


def _make_model(library: str, classification: bool, params: dict, random_state: int | None):
    module = import_optional(library, EXTRAS[library])
    seed = 0 if random_state is None else int(random_state)
    if library == "lightgbm":
        cls = module.LGBMClassifier if classification else module.LGBMRegressor
        return cls(**params, random_state=seed, n_jobs=1, verbose=-1)
    if library == "xgboost":
        cls = module.XGBClassifier if classification else module.XGBRegressor
        return cls(**params, random_state=seed, n_jobs=1, tree_method="hist", enable_categorical=True,
                   verbosity=0)
    cls = module.CatBoostClassifier if classification else module.CatBoostRegressor
    return cls(**params, random_seed=seed, thread_count=1, verbose=False, allow_writing_files=False)


def _library_input(library: str, X: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """The frame and extra fit arguments one library wants (CatBoost: integer codes, named)."""
    if library != "catboost":
        return X, {}
    cats = _categorical_columns(X)
    if not cats:
        return X, {}
    X = X.assign(**{c: X[c].cat.codes.astype(np.int64) for c in cats})
    return X, {"cat_features": cats}


class _Boosted(BaseEstimator):
    """Shared fit logic of :class:`BoostedClassifier` and :class:`BoostedRegressor`."""

    _classification = False

    def __init__(self, library: str = "lightgbm", params: dict | None = None, random_state: int | None = 0) -> None:
        self.library = library
        self.params = params
        self.random_state = random_state

    def _fit_model(self, X, y, sample_weight):
        if self.library not in EXTRAS:
            raise InvalidConfigError(f"unknown boosting library {self.library!r}; choose from {sorted(EXTRAS)}")
        model = _make_model(self.library, self._classification, dict(self.params or {}), self.random_state)
        X, extra = _library_input(self.library, X)
        if sample_weight is not None:
            extra["sample_weight"] = np.asarray(sample_weight, dtype=float)
        self.model_ = model.fit(X, y, **extra)
        self.n_features_in_ = X.shape[1]
        return self

    def _predict_input(self, X) -> pd.DataFrame:
        check_is_fitted(self, "model_")
        return _library_input(self.library, X)[0]


class BoostedClassifier(ClassifierMixin, _Boosted):
    """A LightGBM, XGBoost or CatBoost classifier on any labels (encoded to ``0..K-1`` for the library).

    Parameters
    ----------
    library : {"lightgbm", "xgboost", "catboost"}
    params : dict
        Keyword arguments of the library's scikit-learn estimator.
    random_state : int or None
    """

    _classification = True

    def fit(self, X, y, sample_weight=None):
        """Fit on a :class:`NativeFrame` output."""
        self.label_encoder_ = LabelEncoder().fit(y)
        self.classes_ = self.label_encoder_.classes_
        return self._fit_model(X, self.label_encoder_.transform(y), sample_weight)

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, columns in :attr:`classes_` order."""
        proba = np.asarray(self.model_.predict_proba(self._predict_input(X)), dtype=float)
        if proba.ndim == 1:  # a library that returns P(class 1) alone
            proba = np.column_stack([1.0 - proba, proba])
        return proba

    def predict(self, X) -> np.ndarray:
        """Most probable class."""
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


class BoostedRegressor(RegressorMixin, _Boosted):
    """A LightGBM, XGBoost or CatBoost regressor (parameters as :class:`BoostedClassifier`)."""

    def fit(self, X, y, sample_weight=None):
        """Fit on a :class:`NativeFrame` output."""
        return self._fit_model(X, np.asarray(y, dtype=float), sample_weight)

    def predict(self, X) -> np.ndarray:
        """Predicted values."""
        return np.asarray(self.model_.predict(self._predict_input(X)), dtype=float).ravel()


def boosted_pipeline(library: str, params: dict, context):
    """``NativeFrame`` then the library's model, for a :class:`~metalearn.space.BuildContext`."""
    cls = BoostedClassifier if context.classification else BoostedRegressor
    return Pipeline([
        ("prep", NativeFrame(context.columns.numeric, context.columns.categorical, context.columns.text)),
        ("model", cls(library, params, context.random_state)),
    ])
