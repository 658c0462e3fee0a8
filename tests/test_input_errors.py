"""Wrong inputs to the estimators get a specific MetaLearnError, not scikit-learn's or narwhals' ValueError."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import sparse

import metalearn
from metalearn.estimators import MetaLearnClassifier, MetaLearnRegressor
from metalearn.exceptions import (
    ColumnMismatchError,
    ComplexValuesError,
    DuplicateColumnsError,
    EmptyDatasetError,
    InfiniteValuesError,
    InvalidTargetError,
    MetaLearnError,
    NonNumericArrayError,
    SparseInputError,
    TooFewSamplesPerClassError,
)


def tiny(cls=MetaLearnClassifier):
    task = "classification" if cls is MetaLearnClassifier else "regression"
    return cls(n_trials=1, cv=2, warm_start=[metalearn.get_space(task).default("linear")], ensemble=False,
               random_state=0)


def data(n: int = 60) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n), "c": rng.choice(["u", "v"], n)})
    return X, (X["a"] > 0).astype(int).to_numpy()


@pytest.fixture(scope="module")
def fitted():
    X, y = data()
    return tiny().fit(X, y), X


@pytest.fixture(scope="module")
def fitted_array():
    X, y = data()
    return tiny().fit(X[["a", "b"]].to_numpy(), y), X[["a", "b"]].to_numpy()


def test_object_array_with_strings():
    X, y = data()
    with pytest.raises(NonNumericArrayError, match="X is an array holding strings such as '[uv]'; pass a pandas"):
        tiny().fit(X.to_numpy(), y)


def test_infinite_values_at_fit_and_predict(fitted, fitted_array):
    X, y = data()
    arr = X[["a", "b"]].to_numpy().copy()
    arr[4, 1] = np.inf
    with pytest.raises(InfiniteValuesError, match=r"infinite values in column\(s\) 1 of X"):
        tiny().fit(arr, y)
    with pytest.raises(InfiniteValuesError, match=r"column\(s\) 1 of X"):
        fitted_array[0].predict(arr)
    bad = X.copy()
    bad.loc[2, "b"] = -np.inf
    with pytest.raises(InfiniteValuesError, match=r"infinite values in column\(s\) 'b'"):
        fitted[0].predict(bad)


def test_reordered_or_missing_columns_at_predict(fitted):
    model, X = fitted
    with pytest.raises(ColumnMismatchError, match="(?s)must be in the same order.*X\\[model.feature_names_in_\\]"):
        model.predict(X[["b", "a", "c"]])
    with pytest.raises(ColumnMismatchError, match="seen at fit time, yet now missing:\n- c"):
        model.predict(X[["a", "b"]])
    assert model.predict(X[["a", "b", "c"]]).shape == (60,)  # the fit's order works


def test_wrong_number_of_array_columns_at_predict(fitted_array):
    with pytest.raises(ColumnMismatchError, match="X has 3 features, but MetaLearnClassifier is expecting 2"):
        fitted_array[0].predict(np.ones((3, 3)))


def test_zero_rows(fitted):
    X, y = data()
    with pytest.raises(EmptyDatasetError, match=r"0 rows"):
        tiny().fit(X.iloc[:0], y[:0])
    with pytest.raises(EmptyDatasetError, match=r"X is empty \(0 rows\)"):
        fitted[0].predict(X.iloc[:0])
    with pytest.raises(EmptyDatasetError, match=r"X is empty \(0 rows, shape \(0, 2\)\)"):
        fitted[0].predict(np.empty((0, 2)))


def test_sparse_input_names_its_real_shape():
    X = sparse.random(50, 7, density=0.2, format="csr", random_state=0)
    y = np.arange(50) % 2
    with pytest.raises(SparseInputError, match=r"X is a sparse matrix \(50 rows x 7 columns, 70 stored values\)"):
        tiny().fit(X, y)


def test_complex_values_are_refused_not_cast():
    X, y = data()
    with pytest.raises(ComplexValuesError, match="Complex data not supported: X holds complex numbers"):
        tiny().fit(X[["a", "b"]].to_numpy() + 1j, y)
    Xc = X.assign(b=X["b"] * 1j)
    with pytest.raises(ComplexValuesError, match=r"column\(s\) 'b' hold complex numbers.*np.real"):
        tiny().fit(Xc, y)


def test_class_with_one_sample():
    X, y = data()
    y = y.copy()
    y[0] = 7
    with pytest.raises(TooFewSamplesPerClassError, match=r"class\(es\) \[7\] have only 1 sample"):
        tiny().fit(X, y)


def test_single_class_is_our_error():
    X, _ = data()
    with pytest.raises(InvalidTargetError, match="only one class"):
        tiny().fit(X, np.zeros(len(X)))


def test_duplicate_column_names_in_fit():
    X, y = data()
    X.columns = ["a", "a", "c"]
    with pytest.raises(DuplicateColumnsError, match="duplicate column names: 'a'"):
        tiny().fit(X, y)


def test_regressor_errors_are_metalearn_errors_too():
    X, y = data()
    with pytest.raises(MetaLearnError):
        tiny(MetaLearnRegressor).fit(sparse.csr_matrix(X[["a", "b"]].to_numpy()), y.astype(float))
