"""Free-text columns as numbers: TF-IDF reduced by truncated SVD, fitted inside each pipeline.

The data layer marks a column ``text`` when its values are several words
long (:mod:`metalearn.data._columns`); every pipeline then carries a
:class:`TextFeatures` step for those columns, so cross-validation fits the
vocabulary on the training folds only and prediction applies the same one.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

#: vocabulary size and number of SVD components (fewer when the vocabulary or the rows are fewer)
MAX_VOCABULARY = 5000
MAX_COMPONENTS = 20


def _documents(X) -> np.ndarray:
    """One string per row: the row's text columns joined, missing values as empty strings."""
    frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame(np.asarray(X, dtype=object).reshape(len(X), -1))
    filled = frame.astype(object).where(frame.notna(), "").astype(str)
    return filled.agg(" ".join, axis=1).to_numpy()


class TextFeatures(TransformerMixin, BaseEstimator):
    """TF-IDF of the text columns, reduced to at most ``n_components`` standardised SVD components.

    Parameters
    ----------
    max_features : int
        Vocabulary size of the TF-IDF.
    n_components : int
        Upper bound on the output columns.
    random_state : int or None
        Seed of the randomized SVD.

    Examples
    --------
    >>> import pandas as pd
    >>> X = pd.DataFrame({"review": ["good fast delivery", "bad and slow", "good value", "slow refund"] * 5})
    >>> TextFeatures(n_components=2).fit_transform(X).shape
    (20, 2)
    """

    def __init__(self, max_features: int = MAX_VOCABULARY, n_components: int = MAX_COMPONENTS,
                 random_state: int | None = 0):
        self.max_features = max_features
        self.n_components = n_components
        self.random_state = random_state

    def fit(self, X, y=None):
        """Learn the vocabulary, the SVD and the scaling from ``X`` (the text columns)."""
        docs = _documents(X)
        self.vectorizer_ = TfidfVectorizer(max_features=self.max_features, sublinear_tf=True,
                                           token_pattern=r"(?u)\b\w+\b")
        if not any(doc.strip() for doc in docs):  # every value missing: one constant column
            self.vectorizer_ = None
            self.n_out_ = 1
            return self
        tfidf = self.vectorizer_.fit_transform(docs)
        k = min(self.n_components, tfidf.shape[1] - 1, tfidf.shape[0] - 1)
        self.svd_ = TruncatedSVD(k, random_state=self.random_state) if k >= 1 else None
        dense = self.svd_.fit_transform(tfidf) if self.svd_ is not None else tfidf.toarray()
        self.scaler_ = StandardScaler().fit(dense)
        self.n_out_ = dense.shape[1]
        return self

    def transform(self, X) -> np.ndarray:
        """The standardised components of each row."""
        check_is_fitted(self, "n_out_")
        docs = _documents(X)
        if self.vectorizer_ is None:
            return np.zeros((len(docs), 1))
        tfidf = self.vectorizer_.transform(docs)
        dense = self.svd_.transform(tfidf) if self.svd_ is not None else tfidf.toarray()
        return self.scaler_.transform(dense)

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """``text0``, ``text1`` ... (one per output column)."""
        check_is_fitted(self, "n_out_")
        return np.array([f"text{i}" for i in range(self.n_out_)], dtype=object)


def text_parts(columns) -> list[tuple[str, TextFeatures, list[str]]]:
    """The ``ColumnTransformer`` entry for the text columns of a :class:`~metalearn.space.Columns` (or none)."""
    return [("text", TextFeatures(), list(columns.text))] if columns.text else []
