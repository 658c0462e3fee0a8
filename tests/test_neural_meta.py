"""MAML / Reptile steps against hand-computed gradients, checkpoints, adaptation and tuning (tiny configs)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from metalearn.exceptions import KnowledgeBaseIntegrityError  # noqa: E402
from metalearn.neural import (  # noqa: E402
    MAML,
    BackboneRecord,
    BackboneRegistry,
    Episode,
    FewShotTask,
    MetaTrainConfig,
    RecipeResult,
    SinusoidFamily,
    adapt,
    build_model,
    conv4_architecture,
    digits_family,
    load_backbone,
    load_registry,
    meta_train_maml,
    meta_train_reptile,
    mlp_architecture,
    recommend_backbone,
    reptile_step,
    save_checkpoint,
    score_recipe,
    tune_adaptation,
    write_registry,
)
from metalearn.neural._maml import task_loss  # noqa: E402

ALPHA = 0.1


def _linear_model():
    """y = w.x + b with w = (0.5, -1), b = 0.25 (a 'MLP' without hidden layers)."""
    model = build_model(mlp_architecture(in_features=2, out_features=1, hidden=()))
    with torch.no_grad():
        model.head.weight.copy_(torch.tensor([[0.5, -1.0]]))
        model.head.bias.fill_(0.25)
    return model


def _data():
    rng = np.random.default_rng(0)
    xs, xq = rng.normal(size=(4, 2)), rng.normal(size=(3, 2))
    return xs, xs @ [1.0, 2.0] - 0.5, xq, xq @ [1.0, 2.0] - 0.5


def _aug(x):
    return np.hstack([x, np.ones((len(x), 1))])


def _mse_grad(x, y, theta):
    xa = _aug(x)
    return 2.0 / len(x) * xa.T @ (xa @ theta - y)


@pytest.mark.parametrize("first_order", [False, True])
def test_one_maml_step_matches_the_hand_computed_meta_gradient(first_order):
    xs, ys, xq, yq = _data()
    model = _linear_model()
    learner = MAML(model, inner_lr=ALPHA, first_order=first_order).clone()
    f32 = torch.float32
    learner.adapt(task_loss(learner(torch.tensor(xs, dtype=f32)), torch.tensor(ys, dtype=f32)))
    task_loss(learner(torch.tensor(xq, dtype=f32)), torch.tensor(yq, dtype=f32)).backward()

    theta = np.array([0.5, -1.0, 0.25])
    adapted = theta - ALPHA * _mse_grad(xs, ys, theta)
    np.testing.assert_allclose(learner.params["head.weight"].detach().numpy().ravel(), adapted[:2], rtol=1e-5)
    outer = _mse_grad(xq, yq, adapted)
    if not first_order:  # (I - alpha * Hessian of the support loss) times the query gradient
        outer = (np.eye(3) - ALPHA * 2.0 / len(xs) * _aug(xs).T @ _aug(xs)) @ outer
    got = np.r_[model.head.weight.grad.numpy().ravel(), model.head.bias.grad.numpy()]
    np.testing.assert_allclose(got, outer, rtol=1e-4, atol=1e-6)


def test_one_reptile_step_moves_towards_the_sgd_solution_by_epsilon():
    xs, ys, xq, yq = _data()
    model = _linear_model()
    f32 = np.float32
    ep = Episode(xs.astype(f32), ys.astype(f32), xq.astype(f32), yq.astype(f32), 0, 4)
    reptile_step(model, [ep], inner_lr=ALPHA, inner_steps=2, epsilon=0.5, zero_init_head=False)

    theta = np.array([0.5, -1.0, 0.25])
    x_all, y_all = np.vstack([xs, xq]), np.r_[ys, yq]
    phi = theta.copy()
    for _ in range(2):
        phi = phi - ALPHA * _mse_grad(x_all, y_all, phi)
    expected = theta + 0.5 * (phi - theta)
    got = np.r_[model.head.weight.detach().numpy().ravel(), model.head.bias.detach().numpy()]
    np.testing.assert_allclose(got, expected, rtol=1e-5)


def _params(model):
    return {n: p.detach().clone() for n, p in model.named_parameters()}


def test_tiny_meta_training_is_deterministic_and_changes_the_backbone():
    cfg = MetaTrainConfig(n_way=3, k_shot=1, n_query=2, meta_batch=2, inner_steps=1, inner_lr=0.3, n_iterations=1)
    arch = conv4_architecture((1, 8, 8), 3, channels=4)
    runs = []
    for _ in range(2):
        model = build_model(arch, seed=0)
        before = _params(model)
        meta_train_maml(model, digits_family(), cfg, random_state=0)
        after = _params(model)
        assert any(not torch.equal(before[n], after[n]) for n in before if not n.startswith("head"))
        runs.append(after)
    assert all(torch.equal(runs[0][n], runs[1][n]) for n in runs[0])


def test_reptile_training_on_sinusoid_changes_every_parameter():
    model = build_model(mlp_architecture(), seed=0)
    before = _params(model)
    cfg = MetaTrainConfig(k_shot=10, n_query=10, meta_batch=2, inner_steps=2, inner_lr=0.01, n_iterations=3)
    meta_train_reptile(model, SinusoidFamily(), cfg, epsilon=0.5)
    assert all(not torch.equal(before[n], p) for n, p in _params(model).items())


def _saved_record(tmp_path, model, arch, results=()):
    sha = save_checkpoint(model, arch, tmp_path / "tiny.pt")
    record = BackboneRecord(
        "tiny", "digits", "image", "transfer", arch, (1, 8, 8), 5, 1, 1, 0.1, "tiny.pt", sha, torch.__version__,
        tuple(results),
    )  # fmt: skip
    write_registry(BackboneRegistry(tmp_path, (record,)))
    return record


def test_checkpoint_round_trip_loads_with_weights_only(tmp_path, monkeypatch):
    arch = conv4_architecture((1, 8, 8), 5, channels=4)
    model = build_model(arch, seed=1)
    _saved_record(tmp_path, model, arch)
    calls = []
    real_load = torch.load
    monkeypatch.setattr(torch, "load", lambda *a, **k: calls.append(k) or real_load(*a, **k))
    loaded = load_backbone(load_registry(tmp_path).get("tiny"))
    assert calls and all(k.get("weights_only") is True for k in calls)
    x = torch.rand(6, 1, 8, 8)
    assert torch.equal(loaded(x), model(x))


def test_tampered_checkpoint_is_refused_naming_the_file(tmp_path):
    arch = conv4_architecture((1, 8, 8), 5, channels=4)
    record = _saved_record(tmp_path, build_model(arch), arch)
    with (tmp_path / "tiny.pt").open("ab") as handle:
        handle.write(b"\0")
    with pytest.raises(KnowledgeBaseIntegrityError, match="tiny.pt"):
        load_registry(tmp_path)
    with pytest.raises(KnowledgeBaseIntegrityError, match="sha256"):
        load_backbone(record, root=tmp_path)


@pytest.mark.parametrize(
    "recipe",
    [{"finetune": "centroid"}, {"finetune": "head", "inner_lr": 0.1, "steps": 3}, {"finetune": "all", "steps": 2}],
)
def test_adapt_returns_a_classifier_for_every_recipe(recipe):
    model = build_model(conv4_architecture((1, 8, 8), 5, channels=4))
    ep = next(digits_family().episodes("test", 1, 5, 2, 3))
    fitted = adapt(model, ep.support_x, ep.support_y, recipe=recipe)
    proba = fitted.predict_proba(ep.query_x)
    assert proba.shape == (15, 5) and np.allclose(proba.sum(1), 1, atol=1e-5)
    assert set(fitted.predict(ep.query_x)) <= set(range(5))


def test_finetuning_all_reduces_sinusoid_support_loss():
    model = build_model(mlp_architecture())
    ep = next(SinusoidFamily().episodes("test", 1, 0, 10, 10, random_state=0))
    mse = [
        np.mean((adapt(model, ep.support_x, ep.support_y, {"finetune": "all", "inner_lr": 0.01, "steps": s})
                 .predict(ep.support_x) - ep.support_y) ** 2)
        for s in (0, 20)
    ]  # fmt: skip
    assert mse[1] < mse[0]


def test_score_recipe_reports_mean_and_ci():
    model = build_model(conv4_architecture((1, 8, 8), 5, channels=4))
    mean, ci, scores = score_recipe(model, digits_family().episodes("test", 4, 5, 1, 2), {"finetune": "centroid"})
    assert len(scores) == 4 and 0 <= mean <= 1 and ci >= 0


@pytest.mark.parametrize("method", ["bo", "random"])
def test_tune_adaptation_cross_validates_on_the_support_set(method):
    model = build_model(conv4_architecture((1, 8, 8), 5, channels=4))
    ep = next(digits_family().episodes("test", 1, 5, 3, 1))
    start = {"finetune": "head", "inner_lr": 0.1, "steps": 5}
    tuning = tune_adaptation(model, FewShotTask(ep.support_x, ep.support_y), n_trials=4, method=method,
                             initial_recipes=[start])
    assert tuning.folds == 3 and len(tuning.trials) == 4 and tuning.metric == "accuracy"
    assert tuning.score == max(score for _, score in tuning.trials)
    assert tuning.trials[0][0]["finetune"] == "head" and tuning.trials[0][0]["inner_lr"] == pytest.approx(0.1)
    assert len({str(r) for r, _ in tuning.trials}) == 4


def test_adaptation_search_space_roundtrips_recipes():
    from metalearn.neural._tune import adaptation_search_space, config_of, recipe_of

    space = adaptation_search_space(classification=False)
    assert space.families == ("head", "all")
    recipe = recipe_of(config_of({"finetune": "all", "inner_lr": 5.0, "steps": 3}, space))
    assert recipe == {"finetune": "all", "inner_lr": 0.3, "steps": 3}


def test_recommended_record_adapts_end_to_end(tmp_path):
    arch = conv4_architecture((1, 8, 8), 5, channels=4)
    result = RecipeResult({"adapt": "transfer", "finetune": "centroid"}, "accuracy", 5, 1, 0.7, 0.02, 10)
    _saved_record(tmp_path, build_model(arch), arch, [result])
    ep = next(digits_family().episodes("test", 1, 5, 1, 2))
    rec = recommend_backbone(FewShotTask(ep.support_x, ep.support_y), load_registry(tmp_path))
    fitted = adapt(rec.backbone, ep.support_x, ep.support_y, rec.recipe)
    assert rec.backbone.id == "tiny" and fitted.predict(ep.query_x).shape == (10,)


def test_adapt_from_a_record_uses_the_best_recipe_of_the_closest_setting(tmp_path):
    arch = conv4_architecture((1, 8, 8), 5, channels=4)
    results = [
        RecipeResult({"finetune": "centroid"}, "accuracy", 5, 1, 0.9, 0.01, 10),
        RecipeResult({"finetune": "all", "inner_lr": 0.1, "steps": 1}, "accuracy", 5, 1, 0.8, 0.01, 10),
        RecipeResult({"finetune": "head", "inner_lr": 0.1, "steps": 1}, "accuracy", 5, 5, 0.99, 0.01, 10),
    ]
    _saved_record(tmp_path, build_model(arch), arch, results)
    record = load_registry(tmp_path).get("tiny")
    ep = next(digits_family().episodes("test", 1, 5, 1, 2))
    assert adapt(record, ep.support_x, ep.support_y).recipe == {"finetune": "centroid"}
    ep5 = next(digits_family().episodes("test", 1, 5, 5, 2))
    assert adapt(record, ep5.support_x, ep5.support_y).recipe["finetune"] == "head"
