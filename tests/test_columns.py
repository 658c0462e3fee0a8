"""Column understanding on tables shaped like real exports: dates, free text, identifiers, booleans, locales."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import metalearn
from metalearn.data import DataWarning
from metalearn.exceptions import (
    ColumnProblemsError,
    ComplexValuesError,
    InfiniteValuesError,
    InvalidFeaturesError,
    InvalidParameterError,
    MixedTypeColumnError,
    NoFeaturesError,
    TargetNotFoundError,
)

WORDS = ["great", "terrible", "slow", "fast", "delivery", "refund", "quality", "price", "broken", "arrived"]


def customers(n: int = 120, seed: int = 0) -> pd.DataFrame:
    """A customer table as a CRM export would give it."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "customer_id": [f"CU-{i:06d}" for i in rng.permutation(n)],
        "signup": pd.date_range("2021-03-01 08:00", periods=n, freq="17h").strftime("%Y-%m-%d %H:%M"),
        "plan": rng.choice(["basic", "pro", "team"], n),
        "monthly_fee": rng.normal(30, 8, n).round(2),
        "newsletter": rng.choice([True, False], n),
        "last_review": [" ".join(rng.choice(WORDS, 5)) for _ in range(n)],
        "churned": rng.choice(["no", "yes"], n),
    })


def load_quiet(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        return metalearn.load_dataset(*args, **kwargs)


def kinds(ds) -> dict:
    return {d.name: d.kind for d in ds.plan.decisions}


def test_csv_index_sorted_by_target_is_dropped_and_does_not_leak(tmp_path):
    """R/pandas write the row index; on rows sorted by outcome it would predict the target perfectly."""
    rng = np.random.default_rng(1)
    n = 300
    X = rng.normal(size=(n, 3))
    y = (X[:, 0] + rng.normal(scale=2.0, size=n) > 0).astype(int)  # a weak signal: honest accuracy well below 1
    df = pd.DataFrame(X, columns=["a", "b", "c"]).assign(y=y).sort_values("y").reset_index(drop=True)
    path = tmp_path / "sorted.csv"
    df.to_csv(path)  # index=True, as to_csv does by default: the file gets an 'Unnamed: 0' column
    with pytest.warns(DataWarning, match=r"dropped identifier-like column\(s\) 'Unnamed: 0' \(a row index"):
        ds = metalearn.load_dataset(path, target="y")
    assert "Unnamed: 0" not in ds.feature_names and ds.plan.dropped == ("Unnamed: 0",)
    config = metalearn.get_space("classification").default("random_forest")
    honest = metalearn.evaluate(config, ds, cv=5, isolation="none").mean_score
    leaky_ds = metalearn.load_dataset(path, target="y", column_types={"Unnamed: 0": "numeric"})
    leaky = metalearn.evaluate(config, leaky_ds, cv=5, isolation="none").mean_score
    assert honest < 0.75 < 0.95 < leaky


def test_unique_monotonic_integers_are_dropped_but_shuffled_unique_integers_are_kept():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"row": np.arange(1000, 1100), "income": rng.permutation(100) * 37 + 20_000,
                       "x": rng.normal(size=100), "y": rng.integers(0, 2, 100)})
    with pytest.warns(DataWarning, match=r"'row' \(unique monotonic integers \(1000 \.\. 1099\)\)"):
        ds = metalearn.load_dataset(df, target="y")
    assert kinds(ds) == {"row": "dropped", "income": "numeric", "x": "numeric"}


def test_shuffled_integer_keys_named_like_keys_are_dropped():
    rng = np.random.default_rng(0)
    n = 60
    df = pd.DataFrame({"PatientID": rng.permutation(n) + 5000, "order_key": rng.permutation(n),
                       "paid": rng.permutation(n) * 3, "x": rng.normal(size=n), "y": rng.integers(0, 2, n)})
    with pytest.warns(DataWarning, match=r"'PatientID' \(a key \(60 distinct integers, named like one\)\), "
                                         r"'order_key'"):
        ds = metalearn.load_dataset(df, target="y")
    assert kinds(ds) == {"PatientID": "dropped", "order_key": "dropped", "paid": "numeric", "x": "numeric"}


def test_dates_with_mixed_utc_offsets_are_read_in_utc():
    stamps = [f"2024-03-{d:02d}T10:00:00{'+01:00' if d % 2 else '-05:00'}" for d in range(1, 29)]
    ds = metalearn.load_dataset(pd.DataFrame({"at": stamps, "y": [0, 1] * 14}), target="y")
    assert ds.plan.decisions[0].kind == "datetime"
    assert ds.X["at_hour"].iloc[:2].tolist() == [9.0, 15.0]


def test_string_key_dropped_with_warning_and_override_keeps_it():
    df = customers()
    with pytest.warns(DataWarning, match="'customer_id' \\(120 distinct strings in 120 rows\\).*"
                                         "column_types=\\{'customer_id': 'categorical'\\}"):
        ds = metalearn.load_dataset(df, target="churned")
    assert "customer_id" not in ds.feature_names
    kept = metalearn.load_dataset(df, target="churned", column_types={"customer_id": "categorical"})
    assert kinds(kept)["customer_id"] == "categorical"


def test_date_strings_become_calendar_features_with_hour_when_times_are_present():
    ds = load_quiet(customers(), target="churned")
    decision = next(d for d in ds.plan.decisions if d.name == "signup")
    assert decision.kind == "datetime" and decision.date_format == "%Y-%m-%d %H:%M"
    assert decision.outputs == tuple(f"signup_{p}" for p in
                                     ("year", "month", "day", "dayofweek", "hour", "elapsed_days"))
    first = ds.X.loc[0, list(decision.outputs)].tolist()  # 2021-03-01 08:00 was a Monday
    assert first == [2021.0, 3.0, 1.0, 0.0, 8.0, pytest.approx((pd.Timestamp("2021-03-01 08:00")
                                                                - pd.Timestamp("1970-01-01")).days + 8 / 24)]


def test_datetime_dtype_day_first_strings_and_date_objects():
    n = 40
    dates = pd.date_range("2019-12-25", periods=n, freq="D")
    df = pd.DataFrame({
        "stamp": dates,
        "aware": dates.tz_localize("Europe/Paris"),
        "european": dates.strftime("%d/%m/%Y"),
        "objects": pd.Series(list(dates.date), dtype=object),
        "y": [0, 1] * (n // 2),
    })
    ds = metalearn.load_dataset(df, target="y")
    assert set(kinds(ds).values()) == {"datetime"}
    assert next(d for d in ds.plan.decisions if d.name == "european").date_format == "%d/%m/%Y"
    assert "stamp_hour" not in ds.feature_names  # dates only: no hour feature
    assert ds.X["european_day"].tolist() == ds.X["stamp_day"].tolist()
    assert ds.X["european_month"].iloc[:8].tolist() == [12.0] * 7 + [1.0]


def test_free_text_is_text_and_its_words_are_learned():
    rng = np.random.default_rng(0)
    n = 200
    y = rng.integers(0, 2, n)
    good, bad = ["great", "fast", "love"], ["broken", "refund", "terrible"]
    review = [" ".join([*rng.choice(good if label else bad, 3), *rng.choice(WORDS, 3)]) for label in y]
    df = pd.DataFrame({"review": review, "noise": rng.normal(size=n), "y": y})
    ds = metalearn.load_dataset(df, target="y")
    assert kinds(ds)["review"] == "text" and "free text (6.0 words per value" in ds.plan.decisions[0].reason
    space = metalearn.get_space("classification")
    for family in ("linear", "hist_gradient_boosting"):
        result = metalearn.evaluate(space.default(family), ds, cv=3, isolation="none")
        assert result.status == "ok" and result.mean_score > 0.8, (family, result.error)


def test_booleans_stay_booleans(tmp_path):
    df = pd.DataFrame({
        "flag": [True, False] * 15,
        "nullable": pd.array([True, None, False] * 10, dtype="boolean"),
        "with_missing": pd.Series([True, np.nan, False] * 10, dtype=object),
        "words": ["yes", "no"] * 15,
        "lower": ["true", "false", None] * 10,
        "y": [0, 1, 1] * 10,
    })
    ds = metalearn.load_dataset(df, target="y")
    assert kinds(ds) == {"flag": "boolean", "nullable": "boolean", "with_missing": "boolean",
                         "words": "categorical", "lower": "boolean"}
    assert ds.X["nullable"].tolist()[:3] == [1.0, pytest.approx(np.nan, nan_ok=True), 0.0]
    path = tmp_path / "r_export.csv"
    path.write_text('"x","y"\n' + "".join(f"{'TRUE' if i % 2 else 'FALSE'},{i % 3 == 0:d}\n" for i in range(30)))
    assert kinds(metalearn.load_dataset(path, target="y")) == {"x": "boolean"}


def test_locale_csv_with_semicolons_and_decimal_commas(tmp_path):
    path = tmp_path / "umfrage.csv"
    rows = [f"{i};{3 + i % 5},{i % 10}5;Stadt{i % 3};{i % 2}" for i in range(40)]
    path.write_text("nr_antwort;gewicht;ort;y\n" + "\n".join(rows) + "\n", encoding="utf-8")
    ds = load_quiet(path, target="y", column_types={"nr_antwort": "drop"})
    assert kinds(ds) == {"nr_antwort": "dropped", "gewicht": "numeric", "ort": "categorical"}
    assert ds.X["gewicht"].iloc[:2].tolist() == [3.05, 4.15]


def test_every_column_problem_is_reported_in_one_error():
    df = customers(40)
    df["mixed"] = ["a", 1] * 20
    df["also_mixed"] = [2.5, "b"] * 20
    df["wave"] = np.exp(1j * np.arange(40))
    df.loc[3, "monthly_fee"] = np.inf
    with pytest.raises(ColumnProblemsError, match=r"^4 column problems: \(1\) column 'mixed' mixes value types") as err:
        metalearn.load_dataset(df, target="churned")
    assert [type(p) for p in err.value.problems] == [MixedTypeColumnError, MixedTypeColumnError, ComplexValuesError,
                                                     InfiniteValuesError]
    assert "column_types={'also_mixed': 'categorical'}" in str(err.value)
    assert "Complex data not supported: column 'wave'" in str(err.value)


def test_overrides_are_checked():
    df = customers(40)
    with pytest.raises(TargetNotFoundError, match=r"cannot override column\(s\) 'plann'"):
        metalearn.load_dataset(df, target="churned", drop=["plann"])
    with pytest.raises(InvalidParameterError, match=r"unknown column type\(s\) \{'plan': 'ordinal'\}"):
        metalearn.load_dataset(df, target="churned", column_types={"plan": "ordinal"})
    with pytest.raises(InvalidFeaturesError, match="'plan' was declared numeric but holds values such as"):
        metalearn.load_dataset(df, target="churned", column_types={"plan": "numeric"})
    with pytest.raises(NoFeaturesError, match="no feature column is left"), pytest.warns(DataWarning):
        metalearn.load_dataset(df[["customer_id", "churned"]], target="churned")
    ds = load_quiet(df, target="churned", drop=["last_review"], column_types={"monthly_fee": "categorical"})
    assert kinds(ds)["last_review"] == "dropped" and kinds(ds)["monthly_fee"] == "categorical"


def test_describe_shows_every_decision():
    ds = load_quiet(customers(), target="churned", drop=["plan"])
    text = ds.describe()
    assert text.splitlines()[0].startswith("Dataset 'dataframe' (dataframe): classification, 120 rows, 2 classes")
    for expected in ("customer_id  dropped      identifier: 120 distinct strings in 120 rows",
                     "signup       datetime     strings parsed as dates (%Y-%m-%d %H:%M) -> signup_year",
                     "plan         dropped      drop=", "newsletter   boolean", "last_review  text",
                     "monthly_fee  numeric      numbers (float64)"):
        assert expected in text


def test_integer_target_with_many_values_taken_as_regression_says_how_to_override():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=500)})
    with pytest.warns(DataWarning, match="420 distinct integers, so it is taken as a quantity.*task='classification'"):
        ds = metalearn.load_dataset((X, np.r_[np.arange(420), np.arange(80)]))
    assert ds.task == "regression"
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        metalearn.load_dataset((X, np.r_[np.arange(420), np.arange(80)]), task="regression")


def test_fitted_estimator_applies_the_same_plan_at_predict_time():
    from metalearn.estimators import MetaLearnClassifier

    df = customers(150)
    X, y = df.drop(columns="churned"), df["churned"]
    space = metalearn.get_space("classification")
    clf = MetaLearnClassifier(n_trials=1, cv=2, warm_start=[space.default("linear")], ensemble=False,
                              random_state=0)
    with pytest.warns(DataWarning, match="customer_id"):
        clf.fit(X, y, drop=["plan"], column_types={"monthly_fee": "categorical"})
    assert {d.name: d.kind for d in clf.column_plan_.decisions}["plan"] == "dropped"
    assert clf.predict(X.iloc[:7]).shape == (7,)
    assert clf.predict_proba(X.iloc[[3]]).shape == (1, 2)
