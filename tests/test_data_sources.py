"""Every dataset source yields a Dataset with task, feature types, missing values and classes."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import metalearn
from metalearn.data import infer_task

PMLB = Path(__file__).resolve().parents[1].parent / "shared" / "datasets" / "pmlb"
needs_pmlb = pytest.mark.skipif(not PMLB.exists(), reason="../shared/datasets/pmlb not present")


def mixed_frame(n: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    df = pd.DataFrame({
        "num": rng.normal(size=n),
        "cat": rng.choice(["red", "green", "blue"], n),
        "flag": rng.integers(0, 2, n).astype(bool),
        "target": rng.choice(["yes", "no"], n),
    })
    df.loc[[3, 9], "num"] = np.nan
    df.loc[5, "cat"] = None
    return df


def test_tuple_of_numpy_arrays():
    X = np.random.default_rng(0).normal(size=(40, 3))
    y = X[:, 0] * 2.5 + 0.1
    ds = metalearn.load_dataset((X, y))
    assert ds.task == "regression"
    assert ds.feature_names == ("x0", "x1", "x2")
    assert ds.feature_types == ("numeric",) * 3


def test_dataframe_with_target_detects_types_and_missing():
    ds = metalearn.load_dataset(mixed_frame(), target="target")
    assert ds.task == "classification"
    assert dict(zip(ds.feature_names, ds.feature_types)) == {"num": "numeric", "cat": "categorical",
                                                             "flag": "boolean"}
    assert ds.n_missing == 3
    assert set(ds.class_counts) == {"yes", "no"}
    assert sum(ds.class_counts.values()) == 60


def test_task_override_and_inference():
    assert infer_task(pd.Series([0, 1, 1, 0])) == "classification"
    assert infer_task(pd.Series(np.linspace(0, 1, 50))) == "regression"
    assert infer_task(pd.Series(np.arange(200))) == "regression"
    ds = metalearn.load_dataset((np.random.default_rng(0).normal(size=(50, 2)), np.arange(50) % 3),
                                task="regression")
    assert ds.task == "regression"
    assert ds.with_task("classification").n_classes == 3


def test_csv_file_defaults_to_target_column(tmp_path):
    path = tmp_path / "mixed.csv"
    mixed_frame().to_csv(path, index=False)
    ds = metalearn.load_dataset(path)
    assert ds.name == "mixed"
    assert ds.task == "classification"
    assert "target" not in ds.feature_names


def test_parquet_file(tmp_path):
    pytest.importorskip("pyarrow")
    path = tmp_path / "mixed.parquet"
    mixed_frame().to_parquet(path)
    ds = metalearn.load_dataset(path, target="target")
    assert ds.n_rows == 60 and ds.n_features == 3


def test_pmlb_layout_directory(tmp_path):
    root = tmp_path / "pmlb"
    root.mkdir()
    df = mixed_frame().assign(cat=lambda d: d["cat"].map({"red": 0, "green": 1, "blue": 2}),
                              target=lambda d: (d["target"] == "yes").astype(int))
    df.to_csv(root / "toy.tsv.gz", sep="\t", index=False)
    pd.DataFrame([{"name": "toy", "task": "classification", "target": "target", "n_rows": 60,
                   "n_features": 3, "n_classes": 2, "has_nan": True, "source": "test"}]).to_csv(
        root / "manifest.csv", index=False)
    (root / "metadata").mkdir()
    (root / "metadata" / "toy.yaml").write_text("features:\n  - name: cat\n    type: categorical\n")
    ds = metalearn.load_dataset(f"pmlb-dir:{root / 'toy'}")
    assert ds.name == "toy"
    assert dict(zip(ds.feature_names, ds.feature_types))["cat"] == "categorical"


@needs_pmlb
def test_real_pmlb_dataset():
    ds = metalearn.load_pmlb("1027_ESL", root=PMLB)
    assert ds.task == "regression" and ds.openml_id == 1027
    assert ds.n_rows == 488


def test_sklearn_bundled():
    ds = metalearn.load_dataset("sklearn:wine")
    assert ds.n_classes == 3 and ds.n_rows == 178


class _FakeOpenMLDataset:
    """Shaped like openml.datasets.OpenMLDataset for the fields load_openml reads."""

    name = "toy-openml"
    default_target_attribute = "target"
    ignore_attribute = ["row_id_like"]
    row_id_attribute = None

    def __init__(self, frame: pd.DataFrame) -> None:
        self._frame = frame

    def get_data(self, target=None):
        X = self._frame.drop(columns=[target])
        categorical = [not pd.api.types.is_numeric_dtype(X[c]) for c in X.columns]
        return X, self._frame[target], categorical, list(X.columns)


def test_openml_source_uses_openml_package(monkeypatch):
    """The real code path of load_openml runs against a recorded dataset object (no network)."""
    pytest.importorskip("openml")
    import openml

    recorded = mixed_frame().assign(row_id_like=np.arange(60))
    calls = []

    def fake_get_dataset(did, **kwargs):
        calls.append((did, kwargs))
        return _FakeOpenMLDataset(recorded)

    monkeypatch.setattr(openml.datasets, "get_dataset", fake_get_dataset)
    ds = metalearn.load_dataset("openml:4242")
    assert calls[0][0] == 4242 and calls[0][1]["download_data"] is True
    assert ds.openml_id == 4242 and ds.source == "openml:4242"
    assert "row_id_like" not in ds.feature_names
    assert json.dumps(ds.class_counts)


def test_openml_missing_package_gives_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "openml", types.ModuleType("openml_broken"))
    monkeypatch.setitem(sys.modules, "openml", None)
    with pytest.raises(metalearn.exceptions.OptionalDependencyError, match=r"metalearn\[openml\]"):
        metalearn.load_dataset("openml:61")


def test_subsample_keeps_every_class():
    y = np.array([0] * 990 + [1] * 8 + [2] * 2)
    ds = metalearn.load_dataset((np.random.default_rng(0).normal(size=(1000, 2)), y))
    sub = ds.subsample(100, random_state=0)
    assert sub.n_rows <= 104
    assert set(sub.class_counts) == {0, 1, 2}
    assert sub.class_counts[2] == 2
