"""Knowledge base: store, resumable builder (SIGKILL), Dask == serial, integrity and versions."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metalearn.exceptions import (
    KnowledgeBaseError,
    KnowledgeBaseIntegrityError,
    KnowledgeBaseVersionError,
)
from metalearn.kb import (
    KBStore,
    KnowledgeBase,
    Protocol,
    ReservedList,
    RunRecord,
    build_local,
    candidate_pool,
    canonical_name,
    config_key,
    dataset_family,
    evaluate_chunk,
    pmlb_specs,
    snapshot,
    tidy,
    write_manifest,
)
from metalearn.kb._shards import export_shard, restore
from metalearn.space import family_versions

REPO = Path(__file__).resolve().parents[1]
FAST = Protocol(cv=3, max_rows=200, time_limit=60, memory_limit_mb=4096)
SMALL_POOL = {"pool_size": 6, "per_family": 0}  # six configs of the original families


def make_pmlb_dir(root: Path) -> Path:
    """Three tiny datasets in the PMLB layout (one is 'iris', which is reserved)."""
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    rows = []
    for name, task in (("toy_cls", "classification"), ("toy_reg", "regression"), ("iris", "classification")):
        X = rng.normal(size=(60, 3))
        y = (X[:, 0] > 0).astype(int) if task == "classification" else X[:, 0] * 2 + rng.normal(size=60)
        frame = pd.DataFrame(X, columns=["a", "b", "c"]).assign(target=y)
        frame.to_csv(root / f"{name}.tsv.gz", sep="\t", index=False)
        rows.append({"name": name, "task": task, "target": "target", "n_rows": 60, "n_features": 3,
                     "n_classes": 2 if task == "classification" else None, "has_nan": False, "source": "test"})
    pd.DataFrame(rows).to_csv(root / "manifest.csv", index=False)
    (root / "reserved.csv").write_text("name,openml_id,why\niris,61,reserved\n")
    return root


def comparable_runs(db: Path) -> pd.DataFrame:
    con = sqlite3.connect(db)
    frame = pd.read_sql_query(
        "SELECT d.name, r.config_id, r.metric, r.fold_scores, r.mean_score, r.status, r.n_rows_used "
        "FROM runs r JOIN datasets d ON d.id = r.dataset_id ORDER BY d.name, r.config_id", con)
    con.close()
    return frame.reset_index(drop=True)


@pytest.fixture(scope="module")
def pmlb(tmp_path_factory) -> Path:
    return make_pmlb_dir(tmp_path_factory.mktemp("pmlb"))


@pytest.fixture(scope="module")
def serial_build(pmlb, tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("serial") / "kb.sqlite"
    build_local(db, pmlb_specs(pmlb), **SMALL_POOL, protocol=FAST, reserved=ReservedList.read(pmlb / "reserved.csv"),
                progress=False, chunk_size=2)
    return db


def test_build_stores_every_pair_and_drops_reserved(serial_build):
    runs = comparable_runs(serial_build)
    assert set(runs["name"]) == {"toy_cls", "toy_reg"}
    assert len(runs) == 2 * 6
    assert (runs["status"] == "ok").all()
    with KBStore(serial_build) as store:
        assert store.get_meta("reserved_dropped") == '["iris"]'
        names = {r[0] for r in store.conn.execute("SELECT name FROM datasets")}
    assert "iris" not in names


def test_rerun_is_a_no_op(pmlb, serial_build):
    out = build_local(serial_build, pmlb_specs(pmlb), **SMALL_POOL, protocol=FAST,
                      reserved=ReservedList.read(pmlb / "reserved.csv"), progress=False)
    assert out["added"] == 0


def test_resuming_with_another_protocol_is_refused(pmlb, serial_build):
    with pytest.raises(KnowledgeBaseError, match="different protocol"):
        build_local(serial_build, pmlb_specs(pmlb), **SMALL_POOL, protocol=Protocol(cv=5), progress=False)


def test_sigkill_mid_build_then_resume_equals_uninterrupted(pmlb, serial_build, tmp_path):
    db = tmp_path / "killed.sqlite"
    cmd = [sys.executable, str(REPO / "scripts" / "build_knowledge_base.py"), "local", "--pmlb-dir", str(pmlb),
           "--output", str(db), "--pool-size", "6", "--per-family", "0",
           "--cv", "3", "--max-rows", "200", "--memory-limit-mb", "4096",
           "--chunk-size", "1", "--reserved", str(pmlb / "reserved.csv"), "--no-progress"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 240
    stored = 0
    while time.time() < deadline and proc.poll() is None:
        if db.exists():
            try:
                stored = sqlite3.connect(db).execute("SELECT COUNT(*) FROM runs").fetchone()[0]
            except sqlite3.OperationalError:
                stored = 0
        if stored >= 3:
            break
        time.sleep(0.2)
    assert proc.poll() is None, "the build finished before it could be killed; make the pool larger"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    interrupted = comparable_runs(db)
    assert 3 <= len(interrupted) < 12
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=600)
    pd.testing.assert_frame_equal(comparable_runs(db), comparable_runs(serial_build))


def test_dask_local_cluster_equals_serial(pmlb, serial_build, tmp_path):
    pytest.importorskip("dask.distributed")
    db = tmp_path / "dask.sqlite"
    build_local(db, pmlb_specs(pmlb), **SMALL_POOL, protocol=FAST, reserved=ReservedList.read(pmlb / "reserved.csv"),
                dask_local=2, progress=False, chunk_size=2)
    pd.testing.assert_frame_equal(comparable_runs(db), comparable_runs(serial_build))


def test_joblib_parallel_equals_serial(pmlb, serial_build, tmp_path):
    db = tmp_path / "joblib.sqlite"
    build_local(db, pmlb_specs(pmlb), **SMALL_POOL, protocol=FAST, reserved=ReservedList.read(pmlb / "reserved.csv"),
                n_jobs=2, progress=False, chunk_size=2)
    pd.testing.assert_frame_equal(comparable_runs(db), comparable_runs(serial_build))


@pytest.fixture()
def published(serial_build, tmp_path) -> Path:
    target = tmp_path / "kb"
    snapshot(serial_build, target)
    write_manifest(target)
    return target


def test_published_kb_opens_and_summarises(published):
    kb = KnowledgeBase.open(published)
    s = kb.summary()
    assert s["n_datasets"] == 2
    assert s["n_configs_per_task"] == {"classification": 6, "regression": 6}
    assert s["n_runs"] == 12 and s["density"] == pytest.approx(1.0)
    assert s["failed_share"] == 0.0
    assert s["local_evaluation_hours"] > 0
    assert s["space_version"] and s["library_versions"]["scikit-learn"]
    assert s["protocol"]["cv"] == 3
    perf = kb.performance("classification")
    assert perf.shape == (1, 6) and perf.notna().all().all()
    assert kb.exclude(names=["toy_cls"]).summary()["n_datasets"] == 1


def test_tampered_kb_file_is_refused_naming_the_file(published):
    db = published / "kb.sqlite"
    data = bytearray(db.read_bytes())
    data[-100] ^= 0xFF
    db.write_bytes(bytes(data))
    with pytest.raises(KnowledgeBaseIntegrityError, match=r"kb\.sqlite does not match the checksum"):
        KnowledgeBase.open(published)


def test_other_schema_version_is_refused(published):
    with KBStore(published / "kb.sqlite") as store:
        store.set_meta({"schema_version": "0"})
    with pytest.raises(KnowledgeBaseVersionError, match="schema version '0'"):
        KnowledgeBase.open(published / "kb.sqlite")


def test_runs_of_another_family_version_are_left_out_and_not_built_into(published, tmp_path):
    db = tmp_path / "kb.sqlite"
    shutil.copy(published / "kb.sqlite", db)
    with KBStore(db) as store:
        store.conn.execute("UPDATE configs SET space_version = '0.9' WHERE family = 'linear'")
        store.conn.commit()
        store.set_meta({"family_versions": {"linear": "0.9"}})
        with pytest.raises(KnowledgeBaseVersionError, match="'linear': \\('0.9', '1.0'\\)"):
            store.record_family_versions(family_versions())
    kb = KnowledgeBase.open(db)
    before = KnowledgeBase.open(published / "kb.sqlite")
    assert "linear" in set(before.configs["family"]) and "linear" not in set(kb.configs["family"])
    assert len(kb.configs) == len(before.configs) - (before.configs["family"] == "linear").sum()
    assert set(kb.runs["config_id"]) <= set(kb.configs["id"])


def test_missing_kb_gives_a_build_hint(tmp_path):
    with pytest.raises(KnowledgeBaseError, match="build_knowledge_base"):
        KnowledgeBase.open(tmp_path / "nothing.sqlite")


def test_reserved_matching_by_name_and_id():
    reserved = ReservedList(frozenset({"connect_4", "kropt"}), frozenset({37}))
    assert reserved.excludes("connect-4")
    assert reserved.excludes("Connect_4")
    assert reserved.excludes("pima_indians", openml_id=37)
    assert not reserved.excludes("mushroom", openml_id=24)


def test_reserved_matching_sees_same_data_aliases_and_id_prefixes():
    reserved = ReservedList(frozenset({"cmc", "australian", "225_puma8nh", "207_autoprice"}), frozenset())
    for alias in ("contraceptive", "23_cmc", "crx", "credit-a", "buggyCrx", "puma8NH", "816_puma8NH",
                  "195_auto_price"):
        assert reserved.excludes(alias), alias
    for other in ("puma32H", "credit_g", "auto", "cmc_like"):
        assert not reserved.excludes(other), other
    assert canonical_name("1027_ESL") == "esl" and canonical_name("agaricus-lepiota") == "mushroom"


def test_tidy_drops_reserved_aliases_with_their_runs_and_refreshes_families(tmp_path):
    with KBStore(tmp_path / "kb.sqlite", create=True) as store:
        ids = {name: store.add_dataset(name=name, source="local", task="classification", family=name)
               for name in ("contraceptive", "Hill_Valley_with_noise", "Hill_Valley_without_noise", "wine")}
        store.add_configs([("c1", "classification", "linear", {"family": "linear"}, "1.0")])
        store.add_runs(RunRecord(i, "c1", "accuracy", (0.5,), 0.5, 0.1, "ok", "local") for i in ids.values())
        out = tidy(store, ReservedList(frozenset({"cmc"}), frozenset()))
        datasets, runs = store.table("datasets"), store.table("runs")
        assert json.loads(store.get_meta("reserved_dropped")) == ["contraceptive"]  # the manifest reports it
    assert out["reserved_dropped"] == ["contraceptive"]
    assert set(datasets["name"]) == {"Hill_Valley_with_noise", "Hill_Valley_without_noise", "wine"}
    assert set(runs["dataset_id"]) == {ids["Hill_Valley_with_noise"], ids["Hill_Valley_without_noise"], ids["wine"]}
    assert set(datasets.loc[datasets["name"].str.startswith("Hill"), "family"]) == {"hill_valley"}
    assert out["families_changed"] == {"Hill_Valley_with_noise": ["Hill_Valley_with_noise", "hill_valley"],
                                       "Hill_Valley_without_noise": ["Hill_Valley_without_noise", "hill_valley"]}


def test_families_of_near_copies():
    assert dataset_family("fri_c0_100_5") == dataset_family("fri_c4_1000_50") == "friedman"
    assert dataset_family("GAMETES_Epistasis_2_Way_20atts_0.1H_EDM_1_1") == "gametes"
    assert dataset_family("1193_BNG_lowbwt") == "bng"
    assert dataset_family("glass") == dataset_family("prnn_fglass")
    assert dataset_family("mushroom") == dataset_family("agaricus_lepiota") == "mushroom"
    for a, b in [("german", "credit_g"), ("bupa", "liver_disorder"), ("vote", "house_votes_84"), ("dna", "splice"),
                 ("spect", "spectf"), ("chess", "kr-vs-kp"), ("solar_flare_1", "solar_flare_2"),
                 ("Hill_Valley_with_noise", "Hill_Valley_without_noise"), ("crx", "credit_a")]:
        assert dataset_family(a) == dataset_family(b), (a, b)
    assert dataset_family("kr_vs_kp") != dataset_family("krkopt")


def test_json_columns_decode_row_by_row_or_refuse():
    from metalearn.kb._store import decode_json_column

    assert decode_json_column(['{"a": 1}', None, "[1, 2]"]) == [{"a": 1}, None, [1, 2]]
    assert decode_json_column([]) == []
    with pytest.raises(KnowledgeBaseError, match="decoded to 3 values"):
        decode_json_column(["1, 2", "3"])  # would silently shift the rows
    with pytest.raises(KnowledgeBaseError, match="neither text nor NULL"):
        decode_json_column([1.5])


def test_shipped_kb_opens_and_is_consistent():
    kb = KnowledgeBase.open()
    s = kb.summary()
    assert s["n_datasets"] >= 1 and s["n_runs"] >= 1
    assert s["reserved_exclusion"]["applied"] is True
    reserved = ReservedList(frozenset({"australian", "cmc", "yeast", "satimage", "krkopt", "iris", "diabetes",
                                       "titanic", "207_autoprice", "225_puma8nh", "344_mv", "537_houses"}), frozenset())
    assert not [n for n in kb.datasets["name"] if reserved.excludes(n)]  # nor under another name (contraceptive)


def test_shipped_kb_is_dense():
    # every PMLB dataset but the five that are reserved data under another name (contraceptive = cmc,
    # crx/credit_a/buggyCrx = australian, 195_auto_price = autoPrice), almost all on every pool config
    s = KnowledgeBase.open().summary()
    assert min(s["n_configs_per_task"].values()) >= 100
    assert sum(s["n_datasets_fully_evaluated"].values()) >= 226
    assert s["n_datasets_per_source"]["local"] == 230


def test_snapshot_shards_restore_a_build_and_hold_each_run_once(serial_build, tmp_path):
    base = tmp_path / "base.sqlite"
    shutil.copy(serial_build, base)
    with KBStore(base) as store:  # the base lacks the classification runs the "build" added
        store.conn.execute("DELETE FROM runs WHERE dataset_id = (SELECT id FROM datasets WHERE name = 'toy_cls')")
        store.conn.commit()
    shards = tmp_path / "shards"
    first = export_shard(serial_build, shards, base)
    assert first is not None and first.name == "shard-0001.jsonl.gz"
    assert export_shard(serial_build, shards, base) is None  # nothing new: no second shard
    restored = tmp_path / "restored.sqlite"
    assert restore(shards, restored, base) == 6
    assert restore(shards, restored, base) == 0
    pd.testing.assert_frame_equal(comparable_runs(restored), comparable_runs(serial_build))


def test_an_orphaned_worker_stops_after_the_evaluation_in_progress(pmlb, monkeypatch):
    from metalearn.kb import _builder

    spec = next(s for s in pmlb_specs(pmlb) if s.name == "toy_cls")
    pool = [(config_key(spec.task, c), c) for c in candidate_pool(spec.task, 3, per_family=0)]
    parents = iter([4242, 4242, 1, 1])  # the build, still there before the first evaluation, then gone
    monkeypatch.setattr(_builder.os, "getppid", lambda: next(parents))
    monkeypatch.setattr(_builder, "_watch_parent", lambda parent: None)  # its thread would read getppid too
    runs = evaluate_chunk(spec, pool, FAST, stop_if_orphaned=True)
    assert len(runs) == 1 and runs[0].status == "ok"


ORPHAN = """
import os, sys, time
read, write = os.pipe()
if os.fork():  # the build: waits until its worker watches it, then dies without any cleanup
    os.read(read, 1)
    os._exit(0)
from metalearn.kb._builder import _watch_parent
_watch_parent(os.getppid(), interval=0.05)
print(os.getpid(), flush=True)
os.write(write, b"x")
time.sleep(120)  # an idle pooled worker: only the watchdog can end it early
"""


def test_an_idle_worker_exits_when_its_build_is_killed():
    psutil = pytest.importorskip("psutil")
    out = subprocess.run([sys.executable, "-c", ORPHAN], capture_output=True, text=True, timeout=60, check=True)
    worker = int(out.stdout.split()[0])
    try:
        gone = psutil.wait_procs([psutil.Process(worker)], timeout=60)[0]
    except psutil.NoSuchProcess:
        gone = [worker]
    assert gone, "the orphaned worker was still running after 60 s"


def test_sigterm_stops_a_parallel_build_and_its_workers(pmlb, tmp_path):
    psutil = pytest.importorskip("psutil")
    db = tmp_path / "term.sqlite"
    cmd = [sys.executable, str(REPO / "scripts" / "build_knowledge_base.py"), "local", "--pmlb-dir", str(pmlb),
           "--output", str(db), "--pool-size", "6", "--per-family", "0", "--cv", "3", "--max-rows", "200",
           "--memory-limit-mb", "4096", "--chunk-size", "1", "--n-jobs", "2", "--no-progress",
           "--reserved", str(pmlb / "reserved.csv")]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    children, deadline = [], time.time() + 240
    while time.time() < deadline and proc.poll() is None:
        children = psutil.Process(proc.pid).children(recursive=True) or children
        if len(children) >= 2 and db.exists() and _stored(db) >= 1:
            break
        time.sleep(0.2)
    if proc.poll() is not None:
        pytest.skip("the build finished before it could be interrupted")
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=120)
    gone, alive = psutil.wait_procs(children, timeout=60)
    assert not alive, f"workers left running after SIGTERM: {[p.pid for p in alive]}"


def _stored(db) -> int:
    try:
        return sqlite3.connect(db).execute("SELECT COUNT(*) FROM runs").fetchone()[0]
    except sqlite3.OperationalError:
        return 0
