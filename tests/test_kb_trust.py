"""A KB directory is data: checked before it is read, never executed, read without being written.

The payload tests plant a pickle that would create a marker directory when
unpickled, in every file a KB directory could be read from, and drive every
entry point (Python and CLI) over it: the marker must never appear.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import sqlite3

import numpy as np
import pandas as pd
import pytest
from synthetic_kb import TASK, synthetic_dataset

import metalearn
from metalearn import cli
from metalearn.estimators import MetaLearnClassifier
from metalearn.exceptions import KnowledgeBaseError, KnowledgeBaseIntegrityError, MetaLearnError
from metalearn.kb import ARTIFACT_FILES, KnowledgeBase, add_runs, snapshot, write_manifest
from metalearn.recommend import Recommender, get_recommender, publish_recommender
from metalearn.recommend._forest import ArrayForest

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


class Payload:
    """Unpickling this creates ``marker``: proof that a file was unpickled."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.makedirs, (self.marker,))


def pickled(marker) -> bytes:
    import pickle

    return pickle.dumps(Payload(str(marker)))


@pytest.fixture(scope="module")
def published_kb(kb_path, tmp_path_factory):
    """The synthetic KB published as a directory with its recommender artifact."""
    target = tmp_path_factory.mktemp("published") / "kb"
    snapshot(kb_path, target)
    publish_recommender(target)
    return target


@pytest.fixture()
def copied(published_kb, tmp_path):
    target = tmp_path / "copy"
    shutil.copytree(published_kb, target)
    return target


def relist(kb_dir) -> None:
    """Rewrite the manifest's checksums for the files as they now are (what an attacker controls too)."""
    manifest = json.loads((kb_dir / "manifest.json").read_text())
    from metalearn.kb import sha256_file

    manifest["sha256"] = {name: sha256_file(kb_dir / name) for name in manifest["sha256"]
                          if (kb_dir / name).exists()}
    (kb_dir / "manifest.json").write_text(json.dumps(manifest))


# -- the artifact is data ---------------------------------------------------------
def test_published_artifact_is_listed_and_restores_the_fitted_strategy(published_kb):
    manifest = json.loads((published_kb / "manifest.json").read_text())
    assert set(ARTIFACT_FILES) <= set(manifest["sha256"])
    loaded = get_recommender(published_kb)
    assert set(loaded._stored) == {TASK}
    ds = synthetic_dataset("wide", 3)
    a = metalearn.recommend(ds, k=3, kb=loaded)
    b = metalearn.recommend(ds, k=3, kb=Recommender(KnowledgeBase.open(published_kb)))
    assert a.config_ids == b.config_ids and a.rationale == b.rationale
    assert a.predicted_scores == b.predicted_scores


def test_artifact_written_under_other_library_versions_loads(copied):
    header = json.loads((copied / "recommender.json").read_text())
    header["library_versions"] = {"metalearn": "0.0.9", "scikit-learn": "1.4.2", "numpy": "1.26.4",
                                  "pandas": "2.1.0"}
    (copied / "recommender.json").write_text(json.dumps(header))
    relist(copied)
    rec = get_recommender(copied)
    rec.fitted(TASK)
    assert set(rec._fitted) == {TASK} and not rec._stored  # restored, not refitted


def test_artifact_of_another_format_is_refitted_with_a_warning(copied, caplog):
    header = json.loads((copied / "recommender.json").read_text())
    header["format"] = 1
    (copied / "recommender.json").write_text(json.dumps(header))
    relist(copied)
    rec = get_recommender(copied)
    assert not rec._stored and "fitting the recommender now" in caplog.text


def test_forest_arrays_that_do_not_form_trees_are_refused():
    from sklearn.ensemble import ExtraTreesRegressor

    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    forest = ArrayForest.from_sklearn(ExtraTreesRegressor(n_estimators=3, random_state=0).fit(X, X[:, 0]))
    per_tree = np.stack([t.predict(X) for t in ExtraTreesRegressor(n_estimators=3, random_state=0)
                         .fit(X, X[:, 0]).estimators_])
    assert np.array_equal(forest.predict_per_tree(X), per_tree)
    arrays = forest.arrays()
    cyclic = dict(arrays, left=np.where(arrays["left"] > 0, 0, arrays["left"]))  # a child pointing at the root
    with pytest.raises(KnowledgeBaseIntegrityError, match="do not form a tree"):
        ArrayForest.from_arrays(cyclic)
    with pytest.raises(KnowledgeBaseIntegrityError, match="feature"):
        ArrayForest.from_arrays(dict(arrays, feature=arrays["feature"] + 99))
    with pytest.raises(KnowledgeBaseIntegrityError, match="wrong type"):
        ArrayForest.from_arrays(dict(arrays, threshold=arrays["threshold"].astype(str)))


# -- nothing runs from a hostile KB directory -------------------------------------------
PLACES = ("kb.sqlite", "manifest.json", "recommender.json", "recommender.npz", "recommender.joblib",
          "recommender.npz as object array")


def _entry_points(kb_dir):
    ds = synthetic_dataset("wide", 5)
    yield lambda: KnowledgeBase.open(kb_dir)
    yield lambda: metalearn.recommend(ds, k=2, kb=str(kb_dir))
    yield lambda: metalearn.recommend(ds, k=2, kb=KnowledgeBase.open(kb_dir, accept_modified=True))
    yield lambda: MetaLearnClassifier(n_trials=1, cv=2, kb=str(kb_dir), ensemble=False).fit(ds.X, ds.y)
    history = pd.DataFrame({"config": [metalearn.get_space(TASK).default("linear")], "score": [0.5],
                            "status": ["ok"]})
    yield lambda: add_runs(history, ds, kb_dir.parent / "user", metric="balanced_accuracy", metafeatures={},
                           base=kb_dir)  # the hostile KB as the base of a new user KB
    yield lambda: add_runs(history, ds, kb_dir, metric="balanced_accuracy", metafeatures={})  # as the user KB
    yield lambda: MetaLearnClassifier(n_trials=1, cv=2, warm_start="defaults", ensemble=False).fit(
        ds.X, ds.y, update_kb=kb_dir)


@pytest.mark.parametrize("place", PLACES)
def test_a_pickle_planted_anywhere_in_a_kb_never_runs(copied, tmp_path, place, capsys):
    marker = tmp_path / "payload_ran"
    payload = pickled(marker)
    if place == "recommender.npz as object array":
        buf = io.BytesIO()
        np.savez(buf, **{f"{TASK}.global_mean": np.array([Payload(str(marker))], dtype=object)})
        (copied / "recommender.npz").write_bytes(buf.getvalue())
    else:
        (copied / place).write_bytes(payload)
    if place != "manifest.json":
        relist(copied)  # the attacker also writes a manifest that matches; recommender.joblib is never read
    for call in _entry_points(copied):
        try:
            call()
        except MetaLearnError:
            pass
    for argv in (["recommend", "sklearn:wine", "--kb", str(copied)], ["kb", "info", "--kb", str(copied)]):
        assert cli.main(argv) in (0, 1)
        err = capsys.readouterr().err
        assert "Traceback" not in err and len(err.strip().splitlines()) <= 1
    assert not marker.exists()


def test_a_kb_with_a_pickled_artifact_raises_an_integrity_error(copied, tmp_path):
    (copied / "recommender.json").write_bytes(pickled(tmp_path / "ran"))
    relist(copied)
    with pytest.raises(KnowledgeBaseIntegrityError, match="not valid JSON"):
        metalearn.recommend(synthetic_dataset("wide", 5), k=2, kb=copied)


def test_an_artifact_missing_from_the_manifest_is_an_error(copied):
    manifest = json.loads((copied / "manifest.json").read_text())
    del manifest["sha256"]["recommender.json"]
    (copied / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(KnowledgeBaseIntegrityError, match="not listed"):
        get_recommender(copied)


def test_a_manifest_without_the_database_entry_is_an_error(copied):
    manifest = json.loads((copied / "manifest.json").read_text())
    del manifest["sha256"]["kb.sqlite"]
    (copied / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(KnowledgeBaseIntegrityError, match="does not list the database"):
        KnowledgeBase.open(copied)


@pytest.mark.parametrize("text", ["{not json", "[1, 2]", '{"sha256": [1]}', '{"sha256": {"../kb.sqlite": "ab"}}',
                                  '{"sha256": {"kb.sqlite": "zz"}}', "\udcff".encode("utf-8", "surrogateescape")])
def test_malformed_manifests_are_integrity_errors_in_python_and_one_line_in_the_cli(copied, text, capsys):
    if isinstance(text, bytes):
        (copied / "manifest.json").write_bytes(text)
    else:
        (copied / "manifest.json").write_text(text)
    with pytest.raises(KnowledgeBaseIntegrityError):
        KnowledgeBase.open(copied)
    assert cli.main(["kb", "info", "--kb", str(copied)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("metalearn: error:")


def test_fit_on_a_tampered_kb_is_an_error_unless_the_user_accepts_the_risk(copied):
    with sqlite3.connect(copied / "kb.sqlite") as conn:
        conn.execute("UPDATE runs SET mean_score = 1.0")
    ds = synthetic_dataset("wide", 5)
    clf = MetaLearnClassifier(n_trials=1, cv=2, kb=str(copied), ensemble=False)
    with pytest.raises(KnowledgeBaseIntegrityError, match="does not match the checksum"):
        clf.fit(ds.X, ds.y)
    with pytest.raises(KnowledgeBaseIntegrityError):
        metalearn.recommend(ds, kb=str(copied))
    accepted = KnowledgeBase.open(copied, accept_modified=True)
    assert accepted.manifest is None  # its artifact is never read
    MetaLearnClassifier(n_trials=1, cv=2, kb=accepted, ensemble=False).fit(ds.X, ds.y)


# -- read-only means read-only ---------------------------------------------------------------
def test_a_foreign_sqlite_file_is_refused_and_left_untouched(tmp_path, capsys):
    other = tmp_path / "some_other_app.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE users (name TEXT)")
    before = other.read_bytes()
    assert cli.main(["kb", "info", "--kb", str(other)]) == 1
    assert "not a metalearn knowledge base" in capsys.readouterr().err
    assert other.read_bytes() == before


def test_an_empty_file_stays_empty(tmp_path):
    empty = tmp_path / "empty.sqlite"
    empty.touch()
    with pytest.raises(KnowledgeBaseIntegrityError, match="is empty.*metalearn kb repair"):
        KnowledgeBase.open(empty)
    assert empty.stat().st_size == 0


def test_a_dropped_runs_table_is_detected_and_not_recreated(copied):
    with sqlite3.connect(copied / "kb.sqlite") as conn:
        conn.execute("DROP TABLE runs")
    relist(copied)
    before = (copied / "kb.sqlite").read_bytes()
    with pytest.raises(KnowledgeBaseIntegrityError, match="no 'runs' table"):
        KnowledgeBase.open(copied)
    assert (copied / "kb.sqlite").read_bytes() == before


def test_opening_a_kb_changes_no_file(copied):
    def state():
        return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in copied.iterdir() if p.is_file()}

    before = state()
    metalearn.recommend(synthetic_dataset("tall", 2), k=2, kb=copied)
    KnowledgeBase.open(copied).summary()
    assert state() == before


def test_a_truncated_database_is_explained(copied):
    db = copied / "kb.sqlite"
    db.write_bytes(db.read_bytes()[: db.stat().st_size // 3])
    relist(copied)
    with pytest.raises(KnowledgeBaseError, match="metalearn kb repair"):
        KnowledgeBase.open(copied)


def test_write_manifest_lists_every_kb_file(copied):
    manifest = write_manifest(copied)
    assert set(manifest["sha256"]) == {"kb.sqlite", *ARTIFACT_FILES}


def test_the_shipped_kb_is_package_data_and_metalearn_kb_overrides_it(monkeypatch, tmp_path):
    from pathlib import Path

    from metalearn.kb import default_kb_path

    monkeypatch.delenv("METALEARN_KB", raising=False)
    shipped = default_kb_path()
    assert shipped == Path(metalearn.__file__).resolve().parent / "kb_data"
    assert {"kb.sqlite", "manifest.json", *ARTIFACT_FILES} <= {p.name for p in shipped.iterdir()}
    assert not list(shipped.glob("*.joblib"))
    monkeypatch.setenv("METALEARN_KB", str(tmp_path))
    assert default_kb_path() == tmp_path


def test_a_kb_configuration_outside_the_search_space_is_an_integrity_error(copied):
    with sqlite3.connect(copied / "kb.sqlite") as conn:
        cid, config = conn.execute("SELECT id, config FROM configs LIMIT 1").fetchone()
        config = json.loads(config)
        config["family"] = "os.system"
        conn.execute("UPDATE configs SET config = ? WHERE id = ?", (json.dumps(config), cid))
    relist(copied)
    with pytest.raises(KnowledgeBaseIntegrityError, match=f"configuration {cid}"):
        metalearn.recommend(synthetic_dataset("wide", 5), k=2, kb=KnowledgeBase.open(copied))
