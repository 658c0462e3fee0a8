"""Evaluation: scores, metrics, and containment of hanging / crashing / memory-hungry pipelines."""

from __future__ import annotations

import numpy as np
import pytest

import metalearn
from metalearn.evaluation import EvaluationResult, get_metric, make_folds
from metalearn.exceptions import InvalidParameterError
from metalearn.testing import CrashingClassifier, MemoryHogClassifier, RaisingClassifier, SleepingClassifier


@pytest.fixture(scope="module")
def cancer():
    return metalearn.load_dataset("sklearn:breast_cancer")


def test_default_config_scores_every_fold(cancer):
    config = metalearn.get_space("classification").default("linear")
    res = metalearn.evaluate(config, cancer, cv=3, isolation="process")
    assert isinstance(res, EvaluationResult) and res.status == "ok"
    assert len(res.fold_scores) == 3
    assert res.mean_score == pytest.approx(np.mean(res.fold_scores))
    assert 0.9 < res.mean_score <= 1.0
    assert res.fit_time > 0 and res.duration >= res.fit_time


def test_process_and_inprocess_give_identical_scores(cancer):
    config = metalearn.get_space("classification").default("random_forest")
    a = metalearn.evaluate(config, cancer, cv=3, isolation="process")
    b = metalearn.evaluate(config, cancer, cv=3, isolation="none")
    assert a.fold_scores == b.fold_scores


def test_hanging_pipeline_times_out_without_blocking_the_caller(cancer):
    res = metalearn.evaluate({}, cancer, estimator=SleepingClassifier(seconds=120), time_limit=2)
    assert res.status == "timeout"
    assert "time limit of 2 s" in res.error
    assert res.duration < 60
    assert np.isnan(res.mean_score) and res.fold_scores == ()


def test_crashing_process_is_contained(cancer):
    res = metalearn.evaluate({}, cancer, estimator=CrashingClassifier(), time_limit=30)
    assert res.status == "failed"
    assert "worker process died" in res.error


def test_raising_pipeline_is_reported(cancer):
    for isolation in ("process", "none"):
        res = metalearn.evaluate({}, cancer, estimator=RaisingClassifier(), isolation=isolation)
        assert res.status == "failed"
        assert "RuntimeError: this estimator always fails" in res.error


def test_memory_blowup_is_contained(cancer):
    res = metalearn.evaluate({}, cancer, estimator=MemoryHogClassifier(seconds=8), memory_limit_mb=3000,
                             time_limit=60)
    assert res.status == "failed"
    assert "MemoryError" in res.error


@pytest.mark.parametrize("metric", ["balanced_accuracy", "accuracy", "roc_auc", "log_loss"])
def test_classification_metrics(cancer, metric):
    config = metalearn.get_space("classification").default("svm")
    res = metalearn.evaluate(config, cancer, cv=3, metric=metric, isolation="none")
    assert res.status == "ok", res.error
    if get_metric(metric, "classification").negated:
        assert res.mean_score < 0
    else:
        assert 0.8 < res.mean_score <= 1


@pytest.mark.parametrize("metric", ["r2", "rmse", "mae"])
def test_regression_metrics(metric):
    ds = metalearn.load_dataset("sklearn:diabetes_regression")
    res = metalearn.evaluate(metalearn.get_space("regression").default("linear"), ds, cv=3, metric=metric,
                             isolation="none")
    assert res.status == "ok"
    assert (res.mean_score > 0.3) if metric == "r2" else (res.mean_score < 0)


def test_multiclass_roc_auc_with_a_class_missing_from_a_fold():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = np.array([0] * 29 + [1] * 29 + [2] * 2)
    X[y == 1] += 2
    ds = metalearn.load_dataset((X, y))
    res = metalearn.evaluate(metalearn.get_space("classification").default("knn"), ds, cv=5, metric="roc_auc",
                             isolation="none")
    assert res.status == "ok" and 0.5 < res.mean_score <= 1


def test_large_data_is_subsampled():
    rng = np.random.default_rng(0)
    ds = metalearn.load_dataset((rng.normal(size=(3000, 2)), rng.integers(0, 2, 3000)))
    res = metalearn.evaluate(metalearn.get_space("classification").default("linear"), ds, cv=3, max_rows=500,
                             isolation="none")
    assert res.n_rows <= 502


def test_wrong_metric_for_task_is_a_clear_error(cancer):
    with pytest.raises(InvalidParameterError, match="metric 'r2' is for regression"):
        metalearn.evaluate(metalearn.get_space("classification").default("linear"), cancer, metric="r2")


def test_folds_are_stratified_and_deterministic(cancer):
    a = make_folds(cancer, 5, random_state=3)
    b = make_folds(cancer, 5, random_state=3)
    assert all((x[1] == y[1]).all() for x, y in zip(a, b))
    ratios = [np.mean(cancer.y[test] == cancer.classes[0]) for _, test in a]
    assert max(ratios) - min(ratios) < 0.05


def test_isolation_works_from_stdin_and_does_not_rerun_unguarded_scripts(tmp_path):
    """A script without a __main__ guard (or code piped on stdin) must not be re-run by evaluation children."""
    import subprocess
    import sys

    marker = tmp_path / "runs.txt"
    script = (
        "import metalearn\n"
        f"open({str(marker)!r}, 'a').write('x')\n"
        "ds = metalearn.load_dataset('sklearn:wine')\n"
        "res = metalearn.evaluate(metalearn.get_space(ds.task).default('linear'), ds, cv=2)\n"
        "print(res.status)\n"
    )
    path = tmp_path / "unguarded.py"
    path.write_text(script)
    out = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=300)
    assert out.stdout.strip() == "ok", out.stderr[-2000:]
    assert marker.read_text() == "x"
    piped = subprocess.run([sys.executable, "-"], input=script, capture_output=True, text=True, timeout=300)
    assert piped.stdout.strip() == "ok", piped.stderr[-2000:]
