"""The estimators' controls: metric (scorer names and callables), sample_weight, groups and cv splitters,
leaderboard_, feature_importance, per-trial logging and the progress bar."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, make_scorer, mean_absolute_error
from sklearn.model_selection import GroupKFold, LeaveOneGroupOut, cross_val_score

import metalearn
from metalearn.estimators import MetaLearnClassifier, MetaLearnRegressor
from metalearn.evaluation import get_metric, make_folds
from metalearn.exceptions import GroupsError, InvalidParameterError, SampleWeightError, UnknownMetricError
from metalearn.optimize import LEADERBOARD_COLUMNS, leaderboard
from metalearn.optimize import _optimize as optimize_module
from metalearn.space import get_space


def _defaults(task: str, *families: str) -> list[dict]:
    space = get_space(task)
    return [space.default(f) for f in families]


@pytest.fixture(scope="module")
def blobs():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(160, 4))
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)
    return X, y


# -- metric -------------------------------------------------------------------------------------------------
def test_an_unknown_metric_is_a_one_line_error_that_lists_the_valid_names(blobs):
    with pytest.raises(UnknownMetricError) as info:
        MetaLearnClassifier(metric="roc_aux", n_trials=1).fit(*blobs)
    message = str(info.value)
    assert "\n" not in message
    assert "did you mean roc_auc" in message and "balanced_accuracy" in message
    assert "get_scorer_names" in message and "callable" in message
    with pytest.raises(UnknownMetricError, match="is for regression"):
        get_metric("rmse", "classification")
    with pytest.raises(UnknownMetricError, match="'neg_mean_squared_error' is a regression scorer"):
        get_metric("neg_mean_squared_error", "classification")
    with pytest.raises(UnknownMetricError, match="'f1_macro' is a classification scorer"):
        get_metric("f1_macro", "regression")


def test_a_scikit_learn_scorer_name_is_what_the_search_optimises():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(120, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + rng.normal(scale=0.1, size=120)
    reg = MetaLearnRegressor(metric="neg_mean_absolute_error", n_trials=1, cv=3, ensemble=False,
                             warm_start=_defaults("regression", "linear"), random_state=0).fit(X, y)
    assert reg.metric_ == "neg_mean_absolute_error"
    score = reg.history_["score"].iloc[0]
    assert -1.0 < score < 0  # a negated MAE, not an R² near 1
    # the score is the cross-validated MAE the scorer computes
    ds = metalearn.load_dataset((X, y), task="regression")
    res = metalearn.evaluate(reg.best_config_, ds, cv=3, metric=make_scorer(mean_absolute_error,
                                                                            greater_is_better=False),
                             random_state=reg._fit_seed, isolation="none")
    assert res.mean_score == pytest.approx(score)


def test_a_custom_scorer_callable_decides_the_search(blobs):
    def likes_knn(estimator, X, y):  # prefers a known configuration, whatever its accuracy
        return 1.0 if "KNeighbors" in repr(estimator) else 0.0

    clf = MetaLearnClassifier(metric=likes_knn, n_trials=3, cv=3, ensemble=False, random_state=0,
                              warm_start=_defaults("classification", "linear", "knn", "random_forest")).fit(*blobs)
    scores = dict(zip(clf.history_["family"], clf.history_["score"]))
    assert scores == {"linear": 0.0, "knn": 1.0, "random_forest": 0.0}
    assert clf.best_config_["family"] == "knn" and clf.metric_ == "likes_knn"
    # score() keeps scikit-learn's convention: accuracy, not the search metric
    assert clf.score(*blobs) == pytest.approx(accuracy_score(blobs[1], clf.predict(blobs[0])))


def test_a_lambda_scorer_reaches_the_isolated_evaluations(blobs):
    clf = MetaLearnClassifier(metric=lambda est, X, y: 0.25, n_trials=1, cv=2, ensemble=False, random_state=0,
                              warm_start=_defaults("classification", "linear")).fit(*blobs)
    assert clf.history_["score"].tolist() == [0.25]


def test_metrics_weight_rows_and_pass_weights_to_scorers_that_take_them():
    class Fixed:
        classes_ = np.array([0, 1])

        def predict(self, X):
            return np.array([0, 0, 1, 1])

    y, w = np.array([0, 1, 1, 1]), np.array([1.0, 0.0, 1.0, 1.0])
    assert get_metric("accuracy", "classification").score(Fixed(), None, y, sample_weight=w) == 1.0
    assert get_metric("accuracy", "classification").score(Fixed(), None, y) == 0.75
    seen = {}

    def weighted(estimator, X, y, sample_weight=None):
        seen["w"] = sample_weight
        return 0.0

    get_metric(weighted, "classification").score(Fixed(), None, y, sample_weight=w)
    assert seen["w"] is w
    assert get_metric(lambda e, X, y: 1.0, "classification").score(Fixed(), None, y, sample_weight=w) == 1.0


def test_the_ensemble_selection_scores_with_scikit_learn_scorers():
    from metalearn.optimize._ensemble import score_predictions

    proba = np.c_[np.full(4, 0.3), np.full(4, 0.7)]
    y, classes = np.array([0, 1, 1, 1]), np.array([0, 1])
    expected = (np.log(0.3) + 3 * np.log(0.7)) / 4
    assert score_predictions(get_metric("neg_log_loss", "classification"), proba, y, classes) == pytest.approx(
        expected)
    weights = np.array([0.0, 1.0, 1.0, 1.0])
    assert score_predictions(get_metric("neg_log_loss", "classification"), proba, y, classes,
                             weights) == pytest.approx(np.log(0.7))
    values = np.array([0.0, 1.0, 2.0])
    assert score_predictions(get_metric("neg_mean_absolute_error", "regression"), values, values + 1.0,
                             None) == pytest.approx(-1.0)


def test_update_kb_refuses_a_metric_the_knowledge_base_does_not_store(blobs, tmp_path):
    with pytest.raises(InvalidParameterError, match="update_kb stores runs only"):
        MetaLearnClassifier(metric="f1_macro", n_trials=1).fit(*blobs, update_kb=tmp_path / "kb")


# -- sample_weight -------------------------------------------------------------------------------------------
def test_zero_weights_fit_the_same_model_as_dropping_those_rows():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(80, 3))
    y = X @ np.array([2.0, -1.0, 0.5]) + rng.normal(scale=0.1, size=80)
    # the zero-weight half repeats X (the unweighted preprocessing sees the same column statistics) with a
    # target that is pure noise: only the model's weights can keep it out
    X_all, y_all = np.vstack([X, X]), np.concatenate([y, rng.normal(scale=5.0, size=80)])
    weights = np.r_[np.ones(80), np.zeros(80)]
    kw = dict(n_trials=1, cv=3, ensemble=False, warm_start=_defaults("regression", "linear"), random_state=0)
    kept = MetaLearnRegressor(**kw).fit(X, y)
    zeroed = MetaLearnRegressor(**kw).fit(X_all, y_all, sample_weight=weights)
    unweighted = MetaLearnRegressor(**kw).fit(X_all, y_all)
    probe = rng.normal(size=(20, 3))
    np.testing.assert_allclose(zeroed.predict(probe), kept.predict(probe), rtol=1e-6, atol=1e-8)
    assert not np.allclose(unweighted.predict(probe), kept.predict(probe), atol=1e-2)


def test_the_stored_out_of_fold_predictions_use_the_weights():
    from metalearn.evaluation._evaluate import cross_validate

    rng = np.random.default_rng(5)
    X = rng.normal(size=(60, 3))
    y = X @ np.array([1.0, 2.0, -1.0])
    kept = metalearn.load_dataset((X, y), task="regression")
    doubled = metalearn.load_dataset((np.vstack([X, X]), np.r_[y, rng.normal(scale=9.0, size=60)]),
                                     task="regression").with_weights(np.r_[np.ones(60), np.zeros(60)])
    folds = make_folds(kept, 3, random_state=0)
    # the same folds with the zero-weight copies added to each training part
    doubled_folds = [(np.r_[train, train + 60], test) for train, test in folds]
    config = get_space("regression").default("linear")
    *_, weighted = cross_validate(config, doubled, doubled_folds, "r2", 0, keep_predictions=True)
    *_, plain = cross_validate(config, kept, folds, "r2", 0, keep_predictions=True)
    np.testing.assert_allclose(weighted[:60], plain, rtol=1e-5, atol=1e-5)
    *_, unweighted = cross_validate(config, doubled.with_weights(None, None), doubled_folds, "r2", 0,
                                    keep_predictions=True)
    assert not np.allclose(unweighted[:60], plain, rtol=1e-3)  # the noisy copies do count without weights


def test_families_without_sample_weight_are_skipped_with_the_reason(blobs, caplog):
    X, y = blobs
    with caplog.at_level(logging.INFO, logger="metalearn"):
        clf = MetaLearnClassifier(n_trials=1, cv=3, ensemble=False, random_state=0,
                                  warm_start=_defaults("classification", "knn", "linear")).fit(
            X, y, sample_weight=np.ones(len(y)))
    assert clf.history_["family"].tolist() == ["linear"]  # knn left out of the warm start
    assert "takes no sample_weight" in caplog.text or "take no sample_weight" in caplog.text
    # proposed anyway (here: evaluated directly), it fails with the reason
    ds = metalearn.load_dataset((X, y)).with_weights(np.ones(len(y)))
    res = metalearn.evaluate(_defaults("classification", "knn")[0], ds, cv=3, isolation="none")
    assert res.status == "failed" and "does not accept sample_weight" in res.error


@pytest.mark.parametrize(("weights", "words"), [
    (np.ones(5), "one weight per row"), (-np.ones(160), "non-negative"), (np.zeros(160), "not all zero"),
    (np.r_[np.nan, np.ones(159)], "finite"),
])
def test_bad_sample_weight_is_a_one_line_error(blobs, weights, words):
    with pytest.raises(SampleWeightError, match=words) as info:
        MetaLearnClassifier(n_trials=1).fit(*blobs, sample_weight=weights)
    assert "\n" not in str(info.value)


# -- groups and cv splitters -----------------------------------------------------------------------------------
def _grouped(n_groups: int = 12, per: int = 10, seed: int = 3):
    """Rows of a group share a label and sit close together: memorising groups looks like skill."""
    rng = np.random.default_rng(seed)
    groups = np.repeat(np.arange(n_groups), per)
    labels = rng.permutation(np.arange(n_groups) % 2)
    X = (groups[:, None] + rng.normal(scale=0.05, size=(len(groups), 2))).astype(float)
    return X, labels[groups], groups


def test_group_folds_never_split_a_group():
    X, y, groups = _grouped()
    ds = metalearn.load_dataset((X, y)).with_weights(groups=groups)
    folds = make_folds(ds, 4, random_state=0)
    assert len(folds) == 4
    for train, test in folds:
        assert not set(groups[train]) & set(groups[test])
    with pytest.raises(GroupsError, match="at least 20 groups"):
        make_folds(ds, 20, random_state=0)


def test_groups_keep_the_cross_validated_score_honest():
    X, y, groups = _grouped()
    kw = dict(n_trials=1, cv=4, ensemble=False, warm_start=_defaults("classification", "knn"), random_state=0)
    leaky = MetaLearnClassifier(**kw).fit(X, y)
    honest = MetaLearnClassifier(**kw).fit(X, y, groups=groups)
    assert leaky.best_score_ > 0.95  # neighbours from the same group in the training folds
    assert honest.best_score_ < 0.8  # unseen groups: the labels are a coin flip per group


def test_cv_accepts_a_splitter_and_gets_the_groups(blobs):
    X, y = blobs
    groups = np.arange(len(y)) % 4
    clf = MetaLearnClassifier(n_trials=2, cv=LeaveOneGroupOut(), random_state=0, ensemble=True,
                              warm_start=_defaults("classification", "linear", "random_forest")).fit(
        X, y, groups=groups)
    assert (clf.history_["status"] == "ok").all()
    with pytest.raises(InvalidParameterError, match="groups"):
        MetaLearnClassifier(n_trials=1, cv=LeaveOneGroupOut()).fit(X, y)


def test_cross_val_score_with_groups_works(blobs):
    X, y = blobs
    groups = np.arange(len(y)) % 6
    clf = MetaLearnClassifier(n_trials=1, cv=2, ensemble=False, random_state=0,
                              warm_start=_defaults("classification", "linear"))
    scores = cross_val_score(clf, X, y, groups=groups, cv=GroupKFold(3))
    assert scores.shape == (3,) and (scores > 0.7).all()


def test_metadata_routing_sends_groups_to_fit_too(blobs):
    import sklearn

    X, y = blobs
    groups = np.arange(len(y)) % 6
    with sklearn.config_context(enable_metadata_routing=True):
        clf = MetaLearnClassifier(n_trials=1, cv=2, ensemble=False, random_state=0,
                                  warm_start=_defaults("classification", "linear")).set_fit_request(groups=True)
        scores = cross_val_score(clf, X, y, cv=GroupKFold(3), params={"groups": groups})
    assert scores.shape == (3,)


# -- leaderboard ---------------------------------------------------------------------------------------------------
def test_the_leaderboard_has_every_trial_best_first_and_marks_the_model(blobs):
    clf = MetaLearnClassifier(n_trials=4, cv=3, random_state=0, warm_start=_defaults(
        "classification", "linear", "knn", "random_forest", "hist_gradient_boosting")).fit(*blobs)
    board = clf.leaderboard_
    assert tuple(board.columns) == LEADERBOARD_COLUMNS
    ensemble_rows = int(clf.ensemble_ is not None)
    assert len(board) == len(clf.history_) + ensemble_rows
    assert sorted(board["trial"].iloc[: len(clf.history_) + ensemble_rows]) == list(range(len(board)))
    scores = board["score"].to_numpy()
    assert (np.diff(scores[np.isfinite(scores)]) <= 0).all()
    assert board["rank"].tolist() == list(range(1, len(board) + 1))
    assert board["selected"].sum() == 1
    chosen = board.loc[board["selected"]].iloc[0]
    if clf.ensemble_ is not None:
        assert chosen["origin"] == "ensemble" and "x0." in chosen["hyperparameters"]
    else:
        assert chosen["config"] == clf.best_config_
    assert (board["fit_time"] > 0).all() and board.loc[board["origin"] != "ensemble", "score_sd"].notna().all()


def test_the_leaderboard_puts_unfinished_trials_last():
    history = pd.DataFrame({
        "number": [0, 1, 2], "config": [{"family": "knn"}, {"family": "svm", "C": 2.0}, {"family": "linear"}],
        "family": ["knn", "svm", "linear"], "score": [0.7, float("nan"), 0.9],
        "status": ["ok", "timeout", "ok"], "duration": [1.0, 5.0, 2.0], "origin": ["warm-start", "bo", "bo"],
        "error": ["", "exceeded the time limit", ""]})
    board = leaderboard(history, selected=2)
    assert board["family"].tolist() == ["linear", "knn", "svm"]
    assert board["status"].tolist() == ["ok", "ok", "timeout"]
    assert board["hyperparameters"].iloc[2] == "C=2" and board["selected"].tolist() == [True, False, False]


# -- feature importance ----------------------------------------------------------------------------------------------
def test_feature_importance_ranks_the_informative_column_first():
    rng = np.random.default_rng(4)
    n = 300
    frame = pd.DataFrame({"noise": rng.normal(size=n), "signal": rng.normal(size=n),
                          "colour": rng.choice(["red", "green", "blue"], size=n)})
    y = (frame["signal"] > 0).astype(int).to_numpy()
    clf = MetaLearnClassifier(n_trials=1, cv=3, ensemble=False, random_state=0,
                              warm_start=_defaults("classification", "random_forest")).fit(frame[:200], y[:200])
    table = clf.feature_importance(frame[200:], y[200:], random_state=0)
    assert list(table.columns) == ["feature", "importance", "importance_sd"]
    assert sorted(table["feature"]) == ["colour", "noise", "signal"]  # one row per input column
    assert table["feature"].iloc[0] == "signal"
    assert table["importance"].iloc[0] > 0.2 > table.set_index("feature").loc["noise", "importance"]


# -- logging and progress ----------------------------------------------------------------------------------------------
def test_each_trial_is_logged_at_info(blobs, caplog):
    with caplog.at_level(logging.INFO, logger="metalearn"):
        MetaLearnClassifier(n_trials=2, cv=2, ensemble=False, random_state=0,
                            warm_start=_defaults("classification", "linear", "knn")).fit(*blobs)
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("metalearn.optimize")]
    assert any(m.startswith("trial 1/2 [warm-start] linear: score 0.") for m in lines)
    assert any(m.startswith("trial 2/2 [warm-start] knn: score 0.") for m in lines)


def test_the_progress_bar_shows_in_a_notebook_and_only_when_asked(monkeypatch):
    monkeypatch.setattr(optimize_module.sys.stderr, "isatty", lambda: False, raising=False)
    monkeypatch.setattr(optimize_module, "_in_notebook", lambda: False)
    assert optimize_module._progress(5, None, verbose=1) is None
    monkeypatch.setattr(optimize_module, "_in_notebook", lambda: True)
    assert optimize_module._progress(5, None, verbose=0) is None
    bar = optimize_module._progress(5, None, verbose=1)
    assert bar is not None and bar.total == 5
    bar.close()
