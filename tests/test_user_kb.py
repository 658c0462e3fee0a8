"""The user's knowledge base: a directory with a manifest, written crash-safe and concurrency-safe, that
gets better with use (the user's own runs count as evidence without breaking the pool's coverage rule)."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from kb_writer import STEPS
from synthetic_kb import TASK, synthetic_dataset

import metalearn
from metalearn import cli
from metalearn.estimators import MetaLearnClassifier
from metalearn.exceptions import InvalidParameterError, KnowledgeBaseError, KnowledgeBaseIntegrityError
from metalearn.kb import KnowledgeBase, add_runs, repair_user_kb, snapshot, write_manifest

WRITER = Path(__file__).resolve().parent / "kb_writer.py"


@pytest.fixture(scope="module")
def base(kb_path, tmp_path_factory) -> Path:
    """The synthetic KB as a published directory (no artifact: user KBs never carry one)."""
    target = tmp_path_factory.mktemp("base") / "kb"
    snapshot(kb_path, target)
    write_manifest(target)
    return target


def run_writer(user: Path, base: Path, name: str, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(WRITER), str(user), str(base), name, *extra],
                          capture_output=True, text=True, timeout=300)


def user_names(kb: KnowledgeBase) -> set[str]:
    return set(kb.datasets.loc[kb.datasets["source"] == "user", "name"])


def bo_history(n: int, seed: int = 0, pool: list[dict] | None = None) -> pd.DataFrame:
    """A search's history: ``pool`` configs (a warm start), then ``n`` configurations no pool dataset has."""
    space = metalearn.get_space(TASK)
    rng = np.random.default_rng(seed)
    configs = list(pool) if pool else [space.default("linear"), space.default("hist_gradient_boosting")]
    configs += [space.sample(rng) for _ in range(n)]
    return pd.DataFrame({"config": configs, "score": np.linspace(0.95, 0.5, len(configs)),
                         "status": ["ok"] * len(configs)})


def test_a_user_kb_is_a_directory_with_a_manifest_that_opens(base, tmp_path):
    user = tmp_path / "mine"
    ds = synthetic_dataset("wide", 40)
    assert add_runs(bo_history(3), ds, user, metric="balanced_accuracy", metafeatures={}, base=base) == 5
    assert (user / "manifest.json").is_file()
    kb = KnowledgeBase.open(user)
    assert kb.manifest["database"] == "kb-000001.sqlite"
    add_runs(bo_history(3, seed=1), synthetic_dataset("wide", 41), user, metric="balanced_accuracy",
             metafeatures={}, base=base)
    kb = KnowledgeBase.open(user)
    assert len(user_names(kb)) == 2 and kb.manifest["database"] == "kb-000002.sqlite"
    assert sorted(p.name for p in user.glob("kb-*")) == ["kb-000002.sqlite"]  # the old generation is gone


def test_user_configs_do_not_break_the_coverage_rule(base, tmp_path):
    """40 BO configs outside the pool once made every dataset fail min_coverage=0.9."""
    user = tmp_path / "mine"
    ds = synthetic_dataset("wide", 42)
    shipped = KnowledgeBase.open(base)
    warm = [shipped.config_dict(c) for c in shipped.pool_config_ids(TASK)[:4]]
    add_runs(bo_history(40, pool=warm), ds, user, metric="balanced_accuracy",
             metafeatures=metalearn.extract_metafeatures(ds, groups=["general", "statistical"]).values, base=base)
    kb = KnowledgeBase.open(user)
    dense = kb.performance(TASK, min_coverage=0.9)
    assert len(dense) == 12 and set(dense.columns) == set(kb.pool_config_ids(TASK))
    rec = metalearn.recommend(synthetic_dataset("wide", 42), k=3, kb=user, strategy="knn")
    assert rec.neighbors[0].name.startswith("user_")  # the user's own dataset is the evidence


def test_update_kb_is_checked_before_the_search(base, tmp_path):
    ds = synthetic_dataset("wide", 43)
    a_file = tmp_path / "notes"
    a_file.write_text("x")
    clf = MetaLearnClassifier(n_trials=1, cv=2, kb=str(base), ensemble=False)
    with pytest.raises(InvalidParameterError, match="is a file"):
        clf.fit(ds.X, ds.y, update_kb=a_file)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "manifest.json").write_text("{")
    with pytest.raises(KnowledgeBaseIntegrityError):
        clf.fit(ds.X, ds.y, update_kb=broken)
    assert not hasattr(clf, "history_")  # no search ran


@pytest.mark.parametrize("step", STEPS)
def test_sigkill_at_each_step_of_the_first_write_leaves_no_kb_or_a_whole_one(base, tmp_path, step):
    user = tmp_path / "mine"
    killed = run_writer(user, base, "first", "--kill-after", step)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    try:
        kb = KnowledgeBase.open(user)
    except KnowledgeBaseError as exc:  # no KB: the manifest, the commit point, was never written
        assert not (user / "manifest.json").exists(), exc
    else:
        assert user_names(kb) == {"first_0"} and len(kb.datasets) == 13
    repair_user_kb(user)
    done = run_writer(user, base, "again")
    assert done.returncode == 0, done.stderr
    kb = KnowledgeBase.open(user)
    assert "again_0" in user_names(kb) and user_names(kb) <= {"first_0", "again_0"}
    assert not list(user.glob(".*.tmp"))


@pytest.mark.parametrize("step", ["_store_rows", "replace", "write_manifest"])
def test_sigkill_during_a_later_write_keeps_every_earlier_run(base, tmp_path, step):
    user = tmp_path / "mine"
    assert run_writer(user, base, "kept", "--times", "2").returncode == 0
    assert run_writer(user, base, "killed", "--kill-after", step).returncode == -signal.SIGKILL
    kb = KnowledgeBase.open(user)
    assert {"kept_0", "kept_1"} <= user_names(kb)


def test_concurrent_first_writers_lose_nothing(base, tmp_path):
    user = tmp_path / "mine"
    procs = [subprocess.Popen([sys.executable, str(WRITER), str(user), str(base), f"p{i}", "--times", "3"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(4)]
    outputs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-500:] for o in outputs]
    kb = KnowledgeBase.open(user)
    assert user_names(kb) == {f"p{i}_{j}" for i in range(4) for j in range(3)}
    assert (kb.runs["source"] == "user").sum() == 12 * 3


def test_repair_adopts_a_whole_database_and_sets_a_damaged_one_aside(base, tmp_path, capsys):
    user = tmp_path / "mine"
    assert run_writer(user, base, "x").returncode == 0
    (user / "manifest.json").unlink()
    with pytest.raises(KnowledgeBaseIntegrityError, match="metalearn kb repair"):
        KnowledgeBase.open(user)
    assert cli.main(["kb", "repair", str(user)]) == 0
    assert "wrote" in capsys.readouterr().out
    assert user_names(KnowledgeBase.open(user)) == {"x_0"}

    bare = tmp_path / "bare.sqlite"
    shutil.copyfile(base / "kb.sqlite", bare)
    bare.write_bytes(bare.read_bytes()[:5000])
    with pytest.raises(KnowledgeBaseIntegrityError, match="metalearn kb repair"):
        KnowledgeBase.open(bare)
    assert any("damaged" in line for line in repair_user_kb(bare)) and not bare.exists()


def test_a_legacy_user_kb_without_a_manifest_is_adopted_on_the_next_write(base, tmp_path):
    user = tmp_path / "old"
    user.mkdir()
    shutil.copyfile(base / "kb.sqlite", user / "kb.sqlite")
    assert run_writer(user, base, "new").returncode == 0
    kb = KnowledgeBase.open(user)
    assert user_names(kb) == {"new_0"} and not (user / "kb.sqlite").exists()


@pytest.mark.slow
def test_ten_successive_fits_make_the_user_kb_better_not_worse(tmp_path):
    """Ten fits with update_kb on different datasets; then recommend(kb=P) works and cites the user's runs.

    Each fit starts from the shipped KB's top 3 and then lets BO propose configurations outside the pool
    (what a default 50-trial fit does after its portfolio phase), so the user KB ends with 50 configurations
    no pool dataset has: counting them in the coverage rule used to leave no dataset usable.
    """
    from sklearn.datasets import make_classification

    user = tmp_path / "mine"
    for seed in range(10):
        X, y = make_classification(n_samples=120, n_features=5 + seed, n_informative=3, random_state=seed)
        top3 = list(metalearn.recommend((X, y), k=3).configs)
        MetaLearnClassifier(n_trials=8, cv=2, ensemble=False, warm_start=top3, random_state=seed).fit(
            X, y, update_kb=user)
    kb = KnowledgeBase.open(user)
    assert len(user_names(kb)) == 10
    assert len(kb.configs.loc[kb.configs["task"] == TASK]) - len(kb.pool_config_ids(TASK)) >= 40
    X, y = make_classification(n_samples=120, n_features=5, n_informative=3, random_state=0)
    rec = metalearn.recommend((X, y), k=3, kb=user)
    assert rec.neighbors[0].name.startswith("user_") and rec.neighbors[0].distance < 1e-6
    assert any(e.neighbor.startswith("user_") for ev in rec.evidence for e in ev)
