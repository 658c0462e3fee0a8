"""Prototypical networks: the loss, episodic training, and when the recommender picks them."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from metalearn.neural import (  # noqa: E402
    AugmentedFamily,
    BackboneRecord,
    BackboneRegistry,
    FewShotTask,
    ProtoNetConfig,
    RecipeResult,
    adapt,
    build_model,
    conv4_architecture,
    digits_family,
    meta_train_protonet,
    prototypical_loss,
    recommend_backbone,
)


def test_prototypical_loss_is_cross_entropy_over_negative_squared_distances():
    model = build_model(conv4_architecture((1, 8, 8), 3, channels=4), seed=0)
    x = torch.rand(6, 1, 8, 8)
    sy, qy = torch.tensor([0, 1, 2, 0, 1, 2]), torch.tensor([2, 1, 0, 0, 1, 2])
    with torch.no_grad():
        loss, accuracy = prototypical_loss(model, x, sy, x, qy, 3)
        support = model.embed(x)
        protos = torch.stack([support[sy == c].mean(0) for c in range(3)])
        logits = -((model.embed(x)[:, None, :] - protos[None]) ** 2).sum(-1)
    assert float(loss) == pytest.approx(float(torch.nn.functional.cross_entropy(logits, qy)), rel=1e-4)
    assert accuracy == pytest.approx(float((logits.argmax(1) == qy).float().mean()))


def test_protonet_training_is_deterministic_trains_features_only_and_lowers_the_loss():
    family = AugmentedFamily(digits_family())
    config = ProtoNetConfig(n_way=5, k_shot=1, n_query=3, n_iterations=40, lr=3e-3)
    arch = conv4_architecture((1, 8, 8), 5, channels=8)
    models, histories = [], []
    for _ in range(2):
        model = build_model(arch, seed=0)
        histories.append(meta_train_protonet(model, family, config, random_state=1))
        models.append(model)
    fresh = build_model(arch, seed=0)
    assert histories[0] == histories[1]
    assert torch.equal(models[0].head.weight, fresh.head.weight)  # the head is not part of the metric
    assert not torch.equal(models[0].features[0].weight, fresh.features[0].weight)
    assert np.mean(histories[0][-10:]) < np.mean(histories[0][:10])


def test_centroid_recipe_is_the_prototypical_classifier():
    model = build_model(conv4_architecture((1, 8, 8), 3, channels=4), seed=0)
    ep = digits_family().sample_episode("test", 3, 2, 4, np.random.default_rng(0))
    fitted = adapt(model, ep.support_x, ep.support_y, {"finetune": "centroid"})
    with torch.no_grad():
        _, accuracy = prototypical_loss(
            model, *(torch.from_numpy(a) for a in (ep.support_x, ep.support_y, ep.query_x, ep.query_y)), 3
        )
    assert np.mean(fitted.predict(ep.query_x) == ep.query_y) == pytest.approx(accuracy)


def _record(bid: str, method: str, mean: float) -> BackboneRecord:
    result = RecipeResult({"adapt": method, "finetune": "centroid"}, "accuracy", 20, 1, mean, 0.004, 600)
    return BackboneRecord(bid, "omniglot", "image", method, {"name": "conv4"}, (1, 28, 28), 0, 0, 0, 0.0,
                          f"{bid}.pt", "0" * 64, "x", (result,))  # fmt: skip


@pytest.mark.parametrize(("proto_mean", "winner"), [(0.92, "omniglot-protonet"), (0.88, "omniglot-transfer")])
def test_recommender_picks_protonet_only_when_its_evidence_wins(tmp_path, proto_mean, winner):
    registry = BackboneRegistry(
        tmp_path, (_record("omniglot-transfer", "transfer", 0.89), _record("omniglot-protonet", "protonet", proto_mean))
    )
    task = FewShotTask(np.zeros((20, 1, 28, 28), np.float32), np.arange(20))
    assert recommend_backbone(task, registry).backbone.id == winner


def test_validation_keeps_the_best_scoring_weights():
    family = digits_family()
    config = ProtoNetConfig(n_way=5, k_shot=1, n_query=2, n_iterations=6, lr=1e-2)
    arch = conv4_architecture((1, 8, 8), 5, channels=4)
    calls = []

    def first_is_best(net):  # the initial weights score best, so training must leave them in place
        calls.append(1)
        return -float(len(calls))

    model = build_model(arch, seed=0)
    meta_train_protonet(model, family, config, validate=first_is_best, validate_every=2)
    assert len(calls) == 4  # before training and after episodes 2, 4, 6
    initial = build_model(arch, seed=0).state_dict()
    assert all(torch.equal(value, initial[name]) for name, value in model.state_dict().items())
    calls.clear()

    def last_is_best(net):
        calls.append(1)
        return float(len(calls))

    meta_train_protonet(model, family, config, validate=last_is_best, validate_every=1)
    assert len(calls) == 7 and not torch.equal(model.features[0].weight, build_model(arch, seed=0).features[0].weight)
