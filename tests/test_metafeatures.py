"""Meta-feature extraction: registry, shared path, definitions, robustness."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats
from sklearn.metrics import mutual_info_score

import metalearn
from metalearn.exceptions import InvalidParameterError, MetaLearnError
from metalearn.metafeatures import (
    AUTOSKLEARN_FEATURES,
    FLAML_FEATURES,
    GROUPS,
    OPENML_QUALITIES,
    REGISTRY,
    MetaFeatures,
    _context,
    extract_metafeatures,
    metafeature_table,
)
from metalearn.metafeatures._context import INTERMEDIATES, ExtractionContext
from metalearn.metafeatures._docs import render_markdown
from metalearn.metafeatures._extract import compute_feature

DOCS = Path(__file__).resolve().parents[1] / "docs" / "metafeatures.md"


def _mixed_frame(n: int = 120, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "a": rng.normal(size=n),
            "b": rng.exponential(size=n),
            "c": rng.choice(["x", "y", "z"], size=n).astype(object),
            "d": rng.integers(0, 5, size=n).astype(float),
            "e": rng.choice(["u", "v"], size=n).astype(object),
        }
    )
    frame.loc[::9, "a"] = np.nan
    frame.loc[::13, "c"] = np.nan
    return frame


@pytest.fixture(scope="module")
def classification() -> metalearn.Dataset:
    frame = _mixed_frame()
    y = np.where(frame["b"] > 0.7, "hi", "lo")
    y[:20] = "mid"
    return metalearn.load_dataset((frame, y))


@pytest.fixture(scope="module")
def regression() -> metalearn.Dataset:
    frame = _mixed_frame(seed=1)
    y = frame["b"].to_numpy() * 3 + np.random.default_rng(1).normal(size=len(frame))
    return metalearn.load_dataset((frame, y), task="regression")


@pytest.fixture(scope="module")
def extracted(classification, regression) -> dict[str, MetaFeatures]:
    return {"classification": extract_metafeatures(classification), "regression": extract_metafeatures(regression)}


# ---------------------------------------------------------------- registry and table


def test_registry_has_at_least_60_features_in_known_groups():
    assert len(REGISTRY) >= 60
    assert {f.group for f in REGISTRY.values()} == set(GROUPS)
    for feature in REGISTRY.values():
        assert set(feature.requires) <= set(INTERMEDIATES), feature.name
        assert feature.description


def test_named_subsets_are_registered_names():
    assert FLAML_FEATURES == ("NumberOfInstances", "NumberOfFeatures", "NumberOfClasses", "PercentageOfNumericFeatures")
    assert set(AUTOSKLEARN_FEATURES) <= set(REGISTRY)
    assert len(AUTOSKLEARN_FEATURES) >= 35
    assert set(OPENML_QUALITIES) <= set(REGISTRY)
    assert {"NumberOfInstances", "ClassEntropy", "MeanMutualInformation", "EquivalentNumberOfAtts",
            "MeanNoiseToSignalRatio", "Quartile1SkewnessOfNumericAtts"} <= set(OPENML_QUALITIES)


def test_table_lists_every_feature_once():
    table = metafeature_table()
    assert list(table.columns) == ["name", "group", "task", "description", "openml_quality"]
    assert table["name"].is_unique and len(table) == len(REGISTRY)
    assert set(table.loc[table["openml_quality"], "name"]) == set(OPENML_QUALITIES)


def test_docs_file_is_in_sync_with_registry():
    assert DOCS.exists(), "run: python -m metalearn.metafeatures docs/metafeatures.md"
    assert DOCS.read_text(encoding="utf-8") == render_markdown(), (
        "docs/metafeatures.md is stale: python -m metalearn.metafeatures docs/metafeatures.md"
    )


# ---------------------------------------------------------------- result object


def test_result_is_ordered_and_complete(extracted):
    mf = extracted["classification"]
    assert mf.names == tuple(mf.values) == tuple(mf.to_series().index)
    assert set(mf.names) == set(REGISTRY)
    groups_in_order = [mf.groups[name] for name in mf.names]
    assert groups_in_order == sorted(groups_in_order, key=GROUPS.index)
    assert mf["NumberOfInstances"] == 120.0
    assert set(mf.undefined) == {n for n, v in mf.values.items() if math.isnan(v)}
    assert {"total", *GROUPS} <= set(mf.timings)
    assert all(mf.timings[name] >= 0 for name in mf.names)


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_no_feature_errors_and_other_task_features_say_so(extracted, task):
    mf = extracted[task]
    other = "regression" if task == "classification" else "classification"
    assert not [r for r in mf.undefined.values() if r.startswith("error")], mf.undefined
    for feature in REGISTRY.values():
        if feature.task == other:
            assert mf.undefined[feature.name] == f"{other} only"
        elif feature.task == task:
            assert feature.name not in mf.undefined or "only" not in mf.undefined[feature.name]


def test_same_seed_gives_same_values_and_landmarks_depend_on_seed(classification):
    a = extract_metafeatures(classification, random_state=3).to_series()
    b = extract_metafeatures(classification, random_state=3).to_series()
    pd.testing.assert_series_equal(a, b)
    c = extract_metafeatures(classification, random_state=4, groups=["general"]).to_series()
    pd.testing.assert_series_equal(a[c.index], c)


def test_accepts_raw_input_and_rejects_bad_arguments():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 3)), np.repeat([0, 1], 20)
    assert extract_metafeatures(X, y, groups=["general"])["NumberOfPredictors"] == 3
    assert extract_metafeatures((X, y), groups="general")["NumberOfPredictors"] == 3
    with pytest.raises(InvalidParameterError):
        extract_metafeatures(X)
    with pytest.raises(InvalidParameterError, match="unknown meta-feature group"):
        extract_metafeatures(X, y, groups=["nope"])
    with pytest.raises(InvalidParameterError, match="unknown meta-feature"):
        extract_metafeatures(X, y, features=["Nope"])
    with pytest.raises(MetaLearnError):
        extract_metafeatures(np.zeros((0, 2)), [])


# ---------------------------------------------------------------- each feature alone


@pytest.mark.parametrize("name", list(REGISTRY))
def test_each_feature_alone_matches_shared_path(name, classification, regression, extracted):
    for task, ds in (("classification", classification), ("regression", regression)):
        alone = extract_metafeatures(ds, features=[name])
        shared = extracted[task]
        assert alone.names == (name,)
        np.testing.assert_allclose(alone[name], shared[name], rtol=1e-9, atol=1e-12, equal_nan=True)
        assert alone.undefined.get(name) == shared.undefined.get(name)


class _RecordingContext(ExtractionContext):
    """Records the intermediates a feature asks for directly (not those asked by other intermediates)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.depth = 0
        self.direct: set[str] = set()

    def get(self, name):
        if self.depth == 0:
            self.direct.add(name)
        self.depth += 1
        try:
            return super().get(name)
        finally:
            self.depth -= 1


@pytest.mark.parametrize("name", list(REGISTRY))
def test_declared_requirements_cover_what_a_feature_reads(name, classification, regression):
    feature = REGISTRY[name]
    ds = regression if feature.task == "regression" else classification
    ctx = _RecordingContext(ds, 0)
    compute_feature(feature, ctx)
    assert ctx.direct <= set(feature.requires), f"{name} reads {ctx.direct - set(feature.requires)} undeclared"


# ---------------------------------------------------------------- definitions


def test_counts_follow_openml_definitions(classification, extracted):
    mf = extracted["classification"]
    assert mf["NumberOfFeatures"] == 6  # 5 predictors + the target
    assert mf["NumberOfNumericFeatures"] == 3
    assert mf["NumberOfSymbolicFeatures"] == 3  # c, e and the nominal target
    assert mf["NumberOfBinaryFeatures"] == 1  # e (the target has 3 classes)
    assert mf["PercentageOfNumericFeatures"] == pytest.approx(50.0)
    assert mf["NumberOfMissingValues"] == classification.n_missing
    assert mf["MaxNominalAttDistinctValues"] == 3
    counts = np.array(list(classification.class_counts.values()))
    p = counts / counts.sum()
    assert mf["ClassEntropy"] == pytest.approx(-(p * np.log2(p)).sum())
    assert mf["MinorityClassSize"] == counts.min() and mf["MajorityClassSize"] == counts.max()


def test_moments_and_quartiles_follow_openml(classification, extracted):
    mf = extracted["classification"]
    x = classification.X[classification.columns_of_type("numeric")]
    skews = [stats.skew(x[c].dropna(), bias=False) for c in x]
    kurts = [stats.kurtosis(x[c].dropna(), bias=False) for c in x]
    assert mf["MeanSkewnessOfNumericAtts"] == pytest.approx(np.mean(skews))
    assert mf["MaxKurtosisOfNumericAtts"] == pytest.approx(np.max(kurts))
    assert mf["Quartile1SkewnessOfNumericAtts"] == pytest.approx(np.percentile(skews, 25, method="weibull"))
    assert mf["MeanStdDevOfNumericAtts"] == pytest.approx(x.std(ddof=1).mean())
    assert mf["Quartile3MeansOfNumericAtts"] == pytest.approx(np.percentile(x.mean(), 75, method="weibull"))


def test_information_theory_matches_direct_computation(classification, extracted):
    mf = extracted["classification"]
    y = classification.y
    mis, ents = [], []
    for col in classification.columns_of_type("categorical", "boolean", "text"):
        present = classification.X[col].notna().to_numpy()
        values = classification.X[col][present].astype(str).to_numpy()
        mis.append(mutual_info_score(values, y[present]) / np.log(2))
        ents.append(stats.entropy(pd.Series(values).value_counts(), base=2))
    assert mf["MeanMutualInformation"] == pytest.approx(np.mean(mis))
    assert mf["MeanAttributeEntropy"] == pytest.approx(np.mean(ents))
    assert mf["EquivalentNumberOfAtts"] == pytest.approx(mf["ClassEntropy"] / np.mean(mis))
    assert mf["MeanNoiseToSignalRatio"] == pytest.approx((np.mean(ents) - np.mean(mis)) / np.mean(mis))


def test_regression_target_statistics(regression, extracted):
    mf = extracted["regression"]
    assert mf["TargetSkewness"] == pytest.approx(stats.skew(regression.y, bias=False))
    assert mf["TargetKurtosis"] == pytest.approx(stats.kurtosis(regression.y, bias=False))
    assert mf["TargetUniqueShare"] == pytest.approx(np.unique(regression.y).size / regression.n_rows)
    assert 0 <= mf["TargetMaxAbsCorrelation"] <= 1
    assert mf.undefined["NumberOfClasses"] == "classification only"


def test_landmarks_are_scores(extracted):
    mf = extracted["classification"]
    for name in ("Landmark1NN", "LandmarkDecisionNodeLearner", "LandmarkDecisionTree", "LandmarkNaiveBayes",
                 "LandmarkLDA", "NaiveBayesAUC"):
        assert 0.0 <= mf[name] <= 1.0, name
    assert mf["NaiveBayesErrRate"] == pytest.approx(1 - mf["LandmarkNaiveBayes"])


def test_numeric_only_data_has_documented_nans():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4))
    mf = extract_metafeatures(X, (X[:, 0] > 0).astype(int))
    assert mf.undefined["MeanAttributeEntropy"] == "no nominal attributes"
    assert mf.undefined["EquivalentNumberOfAtts"] == "no nominal attributes"
    assert math.isfinite(mf["EquivalentNumberOfAttsDiscretized"])


# ---------------------------------------------------------------- cost bound


def test_subsampling_caps_rows_and_columns(monkeypatch):
    monkeypatch.setattr(_context, "MAX_ROWS_COLUMN_STATS", 50)
    monkeypatch.setattr(_context, "MIN_ROWS_COLUMN_STATS", 10)
    monkeypatch.setattr(_context, "MAX_COLUMNS", 3)
    monkeypatch.setattr(_context, "MAX_ROWS_MATRIX", 40)
    monkeypatch.setattr(_context, "MAX_COLUMNS_MATRIX", 2)
    rng = np.random.default_rng(0)
    ds = metalearn.load_dataset((rng.normal(size=(300, 6)), rng.integers(0, 2, 300)))
    ctx = ExtractionContext(ds, 0)
    assert ctx.get("numeric_matrix").shape == (50, 3)
    assert ctx.get("matrix_sample").shape == (40, 2)
    assert ctx.get("nominal_codes").shape == (50, 0)


def test_large_table_uses_bounded_landmark_sample():
    rng = np.random.default_rng(0)
    ds = metalearn.load_dataset((rng.normal(size=(3000, 150)), rng.integers(0, 3, 3000)))
    x, y, folds = ExtractionContext(ds, 0).get("landmark_data")
    assert x.shape[0] <= 1010 and x.shape[1] == 100 and len(folds) == 5


# ---------------------------------------------------------------- robustness


def test_strings_nan_and_mixed_types_frame():
    frame = pd.DataFrame(
        {
            "text": ["alpha beta", "gamma", None, "delta epsilon"] * 10,
            "cat": pd.Categorical(["a", "b", "a", None] * 10),
            "flag": [True, False, True, True] * 10,
            "num": [1.0, np.nan, 3.5, 2.0] * 10,
            "int": list(range(40)),
            "const": [7] * 40,
        }
    )
    y = ["p", "q"] * 20
    mf = extract_metafeatures(frame, y)
    assert not [r for r in mf.undefined.values() if r.startswith("error")], mf.undefined
    assert mf["NumberOfMissingValues"] == 30


def _frames():
    n_rows = st.integers(min_value=2, max_value=30)

    @st.composite
    def build(draw):
        n = draw(n_rows)
        n_cols = draw(st.integers(min_value=1, max_value=5))
        columns = {}
        for j in range(n_cols):
            kind = draw(st.sampled_from(["float", "int", "cat", "const", "nan-heavy"]))
            if kind == "float":
                col = draw(st.lists(st.one_of(st.floats(-1e6, 1e6), st.just(np.nan)), min_size=n, max_size=n))
            elif kind == "int":
                col = draw(st.lists(st.integers(-3, 3), min_size=n, max_size=n))
            elif kind == "cat":
                col = draw(st.lists(st.sampled_from(["a", "b", "c", None]), min_size=n, max_size=n))
            elif kind == "const":
                col = [1.5] * n
            else:
                col = draw(st.lists(st.sampled_from([np.nan, np.nan, 0.0, 2.0]), min_size=n, max_size=n))
            columns[f"c{j}"] = col
        task = draw(st.sampled_from(["classification", "regression"]))
        if task == "classification":
            y = draw(st.lists(st.sampled_from(["a", "b", "c"]), min_size=n, max_size=n))
        else:
            y = draw(st.lists(st.floats(-100, 100), min_size=n, max_size=n))
        return pd.DataFrame(columns), y, task

    return build()


@pytest.mark.filterwarnings("ignore::metalearn.data.DataWarning")  # tiny random frames are degenerate by design
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_frames())
def test_random_small_frames_never_crash(case):
    frame, y, task = case
    try:
        ds = metalearn.load_dataset((frame, pd.Series(y)), task=task)
    except MetaLearnError:
        return  # degenerate input is rejected by loading, with a clear error; not the extractor's concern
    mf = extract_metafeatures(ds)
    assert len(mf) == len(REGISTRY)
    assert not [r for r in mf.undefined.values() if r.startswith("error")], mf.undefined
    assert all(math.isfinite(v) or name in mf.undefined for name, v in mf.values.items())
