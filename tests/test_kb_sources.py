"""KB sources ``lcdb`` and ``openml``.

The openml tests run the real ``openml`` package; only ``requests.Session.get`` is
replaced, answering each URL with a recorded response from ``tests/data/openml``
(see its README), so pagination, the no-results answer, XML parsing and our
retries all go through openml's own code.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from metalearn.exceptions import KnowledgeBaseError
from metalearn.kb import KBStore, ReservedList, config_key
from metalearn.space import get_space

DATA = Path(__file__).resolve().parent / "data"
LCDB_SAMPLE = DATA / "lcdb"
OPENML_DIR = DATA / "openml"
RESERVED = ReservedList(frozenset({"cmc", "satimage", "diabetes"}), frozenset({23, 182, 37}), "test-reserved")
FLOWS = [17001, 17002, 17003]


# -- lcdb -------------------------------------------------------------------------------------------

def test_lcdb_sample_import(tmp_path):
    from metalearn.kb._lcdb import LCDB_LEARNERS, import_lcdb

    db = tmp_path / "kb.sqlite"
    out = import_lcdb(db, directory=LCDB_SAMPLE, reserved=RESERVED)
    assert out["datasets"] == 3  # kr-vs-kp, credit-g, vehicle; cmc and satimage are reserved
    assert out["reserved_dropped"] == ["cmc (23)", "satimage (182)"]
    assert out["runs_per_family"] == {f: 3 for f in LCDB_LEARNERS.values()}
    assert "sklearn.ensemble.GradientBoostingClassifier" in out["unmapped_learners"]
    with KBStore(db) as store:
        ds = store.table("datasets").set_index("openml_id")
        runs = store.table("runs")
        meta = json.loads(store.get_meta("source_lcdb"))
    assert set(ds.index) == {3, 31, 54}
    assert (runs["source"] == "lcdb").all() and (runs["metric"] == "accuracy").all()
    assert meta["reserved_dropped"] == ["cmc (23)", "satimage (182)"]
    assert "SVC_linear" in meta["unmapped_learners"] and "AutoCorrelation" in meta["qualities_not_stored"]
    mf = ds.loc[31, "metafeatures"]
    assert mf["NumberOfInstances"] == 1000 and "AutoCorrelation" not in mf
    assert ds.loc[31, "n_features"] == 20 and ds.loc[31, "n_classes"] == 2
    knn = config_key("classification", get_space("classification").default("knn"))
    row = runs[(runs["dataset_id"] == ds.loc[31, "id"]) & (runs["config_id"] == knn)].iloc[0]
    assert len(row["fold_scores"]) == 2  # the third seed never reached the largest training size
    assert math.isclose(row["mean_score"], sum(row["fold_scores"]) / 2)
    assert row["n_rows_used"] == 810
    # re-running adds nothing
    assert import_lcdb(db, directory=LCDB_SAMPLE, reserved=RESERVED)["runs_added"] == 0


def test_lcdb_shared_names_and_datasets_without_runs(tmp_path):
    import pandas as pd

    from metalearn.kb._lcdb import import_lcdb

    datasets = pd.read_csv(LCDB_SAMPLE / "datasets.csv")
    scores = pd.read_csv(LCDB_SAMPLE / "database-accuracy.csv")
    copy = datasets.loc[datasets["openmlid"] == 31].assign(openmlid=99031)  # a second version of credit-g
    no_runs = datasets.loc[datasets["openmlid"] == 54].assign(openmlid=99054, Name="no-runs")
    pd.concat([datasets, copy, no_runs]).to_csv(tmp_path / "datasets.csv", index=False)
    pd.concat([scores, scores.loc[scores["openmlid"] == 31].assign(openmlid=99031)]).to_csv(
        tmp_path / "database-accuracy.csv", index=False)
    import_lcdb(tmp_path / "kb.sqlite", directory=tmp_path, reserved=RESERVED)
    with KBStore(tmp_path / "kb.sqlite") as store:
        ds = store.table("datasets").set_index("openml_id")
        meta = json.loads(store.get_meta("source_lcdb"))
    assert ds.loc[31, "name"] == "31_credit-g" and ds.loc[99031, "name"] == "99031_credit-g"
    assert ds.loc[31, "family"] == ds.loc[99031, "family"] == "credit_g"
    assert 99054 not in ds.index and meta["datasets_without_mapped_runs"] == [99054]


def test_lcdb_missing_directory(tmp_path):
    from metalearn.kb._lcdb import import_lcdb

    with pytest.raises(KnowledgeBaseError, match="datasets.csv"):
        import_lcdb(tmp_path / "kb.sqlite", directory=tmp_path)


def test_lcdb_cli(tmp_path):
    from metalearn.kb_build import main

    reserved = tmp_path / "reserved.csv"
    reserved.write_text("name,openml_id,why\ncmc,23,test\nSatImage,,test\n")
    out = tmp_path / "kb.sqlite"
    assert main(["lcdb", "--lcdb-dir", str(LCDB_SAMPLE), "--output", str(out), "--reserved", str(reserved)]) == 0
    with KBStore(out) as store:
        assert set(store.table("datasets")["openml_id"]) == {3, 31, 54}


@pytest.mark.slow
def test_lcdb_full_import(tmp_path):
    import importlib.util

    from metalearn.kb._lcdb import import_lcdb

    if importlib.util.find_spec("lcdb") is None:
        pytest.skip("lcdb is not installed")
    reserved = ReservedList.read(Path(__file__).resolve().parents[2] / "shared" / "datasets" / "reserved.csv")
    out = import_lcdb(tmp_path / "kb.sqlite", reserved=reserved)
    assert out["datasets"] > 150 and sum(out["runs_per_family"].values()) > 900


# -- openml: recorded responses at the HTTP layer ------------------------------------------------------

class RecordedServer:
    """Answers ``requests.Session.get`` from ``index.json``; can fail the first tries of one URL."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.index = json.loads((root / "index.json").read_text())
        self.asked: list[str] = []
        self.failures: dict[str, int] = {}

    def get(self, session, url, params=None, headers=None, **kwargs):
        import openml
        import requests

        endpoint = url.removeprefix(openml.config.server.rstrip("/") + "/")
        self.asked.append(endpoint)
        if self.failures.get(endpoint, 0) > 0:
            self.failures[endpoint] -= 1
            raise requests.exceptions.ConnectionError(f"recorded outage of {endpoint}")
        entry = self.index.get(endpoint)
        if entry is None:
            raise AssertionError(f"no recorded response for {endpoint}")
        response = requests.Response()
        response.url, response.status_code = url, entry.get("status", 200)
        response._content = (self.root / "responses" / entry["file"]).read_bytes()
        response.headers["Content-Encoding"] = "gzip"
        return response


@pytest.fixture
def server(monkeypatch, tmp_path):
    pytest.importorskip("openml")
    import requests

    recorded = RecordedServer(OPENML_DIR)
    monkeypatch.setattr(requests.Session, "get", lambda self, url, **kw: recorded.get(self, url, **kw))
    return recorded


def _import(tmp_path, **kwargs):
    from metalearn.kb._openml_source import RetryPolicy, import_openml

    kwargs.setdefault("policy", RetryPolicy(attempts=3, backoff=0.0))
    return import_openml(tmp_path / "kb.sqlite", flows=FLOWS, suite=99, reserved=RESERVED, page_size=4,
                         cache_dir=tmp_path / "cache", **kwargs)


def test_openml_import(server, tmp_path):
    out = _import(tmp_path)
    assert out["evaluations"] == 12
    assert out["reserved_dropped"] == ["cmc (23)", "diabetes (37)"]
    assert sum(out["skipped"].values()) == 3  # n_estimators=500, kernel=poly, a PCA step
    assert any("n_estimators" in r for r in out["skipped"]) and any("PCA" in r for r in out["skipped"])
    # 4 pages of 4 (the last answered "no results"), the suite, users, setups, 2 datasets x 2 files
    assert sum(a.startswith("evaluation/list") for a in server.asked) == 4
    assert not any(a.endswith(("/23", "/37")) for a in server.asked)  # reserved: no qualities fetched
    with KBStore(tmp_path / "kb.sqlite") as store:
        ds = store.table("datasets").set_index("openml_id")
        runs = store.table("runs")
        configs = store.table("configs").set_index("id")
        meta = json.loads(store.get_meta("source_openml"))
    assert set(ds.index) == {3, 31} and ds.loc[3, "metafeatures"]["NumberOfInstances"] == 3196
    assert len(runs) == 6 and (runs["metric"] == "accuracy").all() and (runs["source"] == "openml").all()
    rf_default = config_key("classification", get_space("classification").default("random_forest"))
    assert rf_default in configs.index  # setup 101 is scikit-learn's RandomForest at its defaults
    svm = runs[runs["config_id"].map(lambda c: configs.loc[c, "config"]["family"] == "svm")
               & (runs["dataset_id"] == ds.loc[31, "id"])].iloc[0]
    assert svm["fold_scores"] == [0.742, 0.746] and math.isclose(svm["mean_score"], 0.744)
    assert configs.loc[svm["config_id"], "config"]["gamma"] == 0.01
    assert meta["reserved_dropped"] == ["cmc (23)", "diabetes (37)"] and meta["flows"] == FLOWS


def test_openml_retries_transient_failures(server, tmp_path):
    server.failures["study/99"] = 2
    server.failures["data/qualities/31"] = 1
    out = _import(tmp_path)
    assert out["datasets"] == 2 and server.asked.count("study/99") == 3


def test_openml_gives_up_after_bounded_attempts(server, tmp_path):
    from metalearn.kb._openml_source import RetryPolicy

    server.failures["study/99"] = 10
    with pytest.raises(KnowledgeBaseError, match="failed 2 times"):
        _import(tmp_path, policy=RetryPolicy(attempts=2, backoff=0.0))
    assert server.asked.count("study/99") == 2


def test_openml_rejects_unknown_measure(tmp_path):
    from metalearn.kb._openml_source import import_openml

    with pytest.raises(KnowledgeBaseError, match="unknown"):
        import_openml(tmp_path / "kb.sqlite", flows=[1], functions=("f_measure",))


@pytest.mark.parametrize(("flow", "params", "expected"), [
    ("sklearn.svm.classes.SVC(2)", {"sklearn.svm.classes.SVC(2)_gamma": '"auto"'}, None),
    ("sklearn.neighbors.classification.KNeighborsClassifier(1)",
     {"sklearn.neighbors.classification.KNeighborsClassifier(1)_n_neighbors": "7",
      "sklearn.neighbors.classification.KNeighborsClassifier(1)_metric": '"manhattan"'},
     {"n_neighbors": 7, "p": 1}),
    ("sklearn.neural_network.multilayer_perceptron.MLPClassifier(1)",
     {"sklearn.neural_network.multilayer_perceptron.MLPClassifier(1)_hidden_layer_sizes": "[64, 64]"},
     {"hidden_units": 64, "n_layers": 2}),
    ("sklearn.linear_model.logistic.LogisticRegression(1)",
     {"sklearn.linear_model.logistic.LogisticRegression(1)_solver": '"liblinear"'}, None),
    ("sklearn.model_selection._search.RandomizedSearchCV(estimator=sklearn.ensemble.forest.RandomForestClassifier)(1)",
     {}, None),
])
def test_map_setup(flow, params, expected):
    from metalearn.kb._openml_mapping import map_setup

    config, reason = map_setup(flow, params, get_space("classification"))
    if expected is None:
        assert config is None and reason
    else:
        assert config is not None and expected.items() <= config.items()
