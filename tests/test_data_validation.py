"""Bad input gets a specific, readable MetaLearnError — one test per case the foundation issue lists."""

from __future__ import annotations

import gzip
import warnings

import numpy as np
import pandas as pd
import pytest

import metalearn
from metalearn.data import DataWarning
from metalearn.exceptions import (
    ColumnNamesError,
    ConstantFeaturesError,
    CorruptFileError,
    DatasetNotFoundError,
    DuplicateColumnsError,
    EmptyDatasetError,
    InfiniteValuesError,
    InvalidTargetError,
    LengthMismatchError,
    MetaLearnError,
    MixedTypeColumnError,
    NoFeaturesError,
    TargetNotFoundError,
    TooFewRowsError,
    TooFewSamplesPerClassError,
    UnsupportedFileTypeError,
)


def frame(n: int = 30, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"a": rng.normal(size=n), "b": rng.integers(0, 5, n).astype(float), "y": rng.integers(0, 2, n)})


def test_empty_table():
    with pytest.raises(EmptyDatasetError, match="empty"):
        metalearn.load_dataset(frame().iloc[:0], target="y")


def test_one_row():
    with pytest.raises(TooFewRowsError, match="1 sample"):
        metalearn.load_dataset(frame().iloc[:1], target="y")


def test_no_features():
    with pytest.raises(NoFeaturesError, match="no feature columns"):
        metalearn.load_dataset(frame()[["y"]], target="y")


def test_misspelled_target_suggests_closest_name():
    df = frame().rename(columns={"y": "species"})
    with pytest.raises(TargetNotFoundError, match="did you mean 'species'"):
        metalearn.load_dataset(df, target="specie")


def test_missing_target_lists_columns_and_suggests_a_usual_target_name():
    with pytest.raises(TargetNotFoundError, match="no target column given; did you mean target='y'"):
        metalearn.load_dataset(frame())
    with pytest.raises(TargetNotFoundError, match="no target column given; pass target=NAME") as err:
        metalearn.load_dataset(frame().rename(columns={"y": "species"}))
    assert "'species'" in str(err.value)


def test_target_all_nan():
    df = frame()
    df["y"] = np.nan
    with pytest.raises(InvalidTargetError, match="every value of the target is missing"):
        metalearn.load_dataset(df, target="y")


def test_target_nan_rows_dropped_with_warning():
    df = frame()
    df.loc[[1, 4, 7], "y"] = np.nan
    with pytest.warns(DataWarning, match="dropped 3 of 30 rows"):
        ds = metalearn.load_dataset(df, target="y", task="classification")
    assert ds.n_rows == 27
    assert any("dropped 3" in note for note in ds.notes)


def test_single_class():
    df = frame()
    df["y"] = 1
    with pytest.raises(InvalidTargetError, match="only 1 class"):
        metalearn.load_dataset(df, target="y", task="classification")


def test_class_with_one_sample_rejected_for_cv():
    df = frame()
    df.loc[0, "y"] = 7
    ds = metalearn.load_dataset(df, target="y", task="classification")
    config = metalearn.get_space("classification").default("linear")
    with pytest.raises(TooFewSamplesPerClassError, match=r"\[7\] have only 1 sample"):
        metalearn.evaluate(config, ds, cv=5, isolation="none")


def test_infinite_values():
    df = frame()
    df.loc[3, "a"] = np.inf
    with pytest.raises(InfiniteValuesError, match="infinite values in column\\(s\\) 'a'"):
        metalearn.load_dataset(df, target="y")


def test_constant_features_only():
    df = frame()
    df["a"], df["b"] = 1.0, "x"
    with pytest.raises(ConstantFeaturesError, match="all 2 feature column\\(s\\) are constant"):
        metalearn.load_dataset(df, target="y")


def test_duplicate_column_names():
    df = pd.DataFrame(np.ones((5, 3)), columns=["a", "a", "y"])
    with pytest.raises(DuplicateColumnsError, match="duplicate column names: 'a'"):
        metalearn.load_dataset(df, target="y")


def test_mixed_string_and_non_string_column_names():
    df = pd.DataFrame({"a": [1.0, 2.0, 3.0], 0: [1.0, 0.0, 1.0], "y": [0, 1, 0]})
    with pytest.raises(ColumnNamesError, match="mix strings and non-strings"):
        metalearn.load_dataset(df, target="y")


def test_object_column_with_mixed_types():
    df = frame()
    df["c"] = ["x", 1] * 15
    with pytest.raises(MixedTypeColumnError, match="column 'c' mixes value types \\(int, str\\)"):
        metalearn.load_dataset(df, target="y")


def test_regression_target_given_as_strings():
    df = frame()
    df["y"] = ["cheap", "dear"] * 15
    with pytest.raises(InvalidTargetError, match="regression target must be numeric.*strings"):
        metalearn.load_dataset(df, target="y", task="regression")


def test_more_than_1000_classes():
    n = 2400
    X = np.random.default_rng(0).normal(size=(n, 2))
    y = np.array([f"c{i // 2}" for i in range(n)])
    with pytest.raises(InvalidTargetError, match="1200 classes, more than the 1000"):
        metalearn.load_dataset((X, y))


def test_x_and_y_of_different_lengths():
    with pytest.raises(LengthMismatchError, match="X has 10 rows but y has 9"):
        metalearn.load_dataset((np.ones((10, 2)), np.ones(9)))


def test_unsupported_file_type(tmp_path):
    path = tmp_path / "data.xlsx"
    path.write_bytes(b"not really excel")
    with pytest.raises(UnsupportedFileTypeError, match="supported files are .csv"):
        metalearn.load_dataset(path, target="y")


def test_corrupt_gzip(tmp_path):
    path = tmp_path / "data.csv.gz"
    path.write_bytes(b"this is not gzip at all")
    with pytest.raises(CorruptFileError, match="corrupt or not gzip"):
        metalearn.load_dataset(path, target="y")


def test_path_does_not_exist(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="no such file"):
        metalearn.load_dataset(tmp_path / "nope.csv", target="y")


def test_every_error_is_a_metalearn_error_and_a_value_error():
    with pytest.raises(MetaLearnError):
        metalearn.load_dataset(frame().iloc[:0], target="y")
    with pytest.raises(ValueError):
        metalearn.load_dataset(frame().iloc[:0], target="y")


def test_user_objects_are_not_modified():
    df = frame()
    df.loc[2, "y"] = np.nan
    df["s"] = ["u", "v", None] * 10
    before = df.copy(deep=True)
    X, y = df.drop(columns="y"), df["y"]
    X_before, y_before = X.copy(), y.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        metalearn.load_dataset(df, target="y", task="classification")
        metalearn.load_dataset((X, y), task="classification")
    pd.testing.assert_frame_equal(df, before)
    pd.testing.assert_frame_equal(X, X_before)
    pd.testing.assert_series_equal(y, y_before)


def test_gzip_tsv_roundtrip(tmp_path):
    path = tmp_path / "d.tsv.gz"
    with gzip.open(path, "wt") as fh:
        frame().to_csv(fh, sep="\t", index=False)
    ds = metalearn.load_dataset(path, target="y")
    assert (ds.n_rows, ds.n_features, ds.task) == (30, 2, "classification")


def test_a_quantity_forced_into_classification_is_refused_or_flagged():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=60)})
    with pytest.raises(InvalidTargetError, match="fractional numbers such as 0.5; .*task='regression'"):
        metalearn.load_dataset((X, np.arange(60) + 0.5), task="classification")
    with pytest.warns(DataWarning, match="60 of the target's 60 classes have fewer than 3 rows"):
        metalearn.load_dataset((X, np.arange(60)), task="classification")
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)  # a few rare classes among common ones are fine
        metalearn.load_dataset((X, np.r_[np.zeros(30), np.ones(28), [2, 3]]), task="classification")
