"""Torch-free parts of metalearn.neural: tasks, episodes, families, runs loader, registry, recommendation."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from metalearn.exceptions import InvalidDatasetError, InvalidParameterError, KnowledgeBaseError
from metalearn.neural import (
    BackboneRecord,
    BackboneRegistry,
    FewShotTask,
    PoolFamily,
    RecipeResult,
    SinusoidFamily,
    digits_family,
    load_registry,
    load_runs,
    recommend_backbone,
    write_registry,
)


def test_importing_metalearn_neural_does_not_import_torch():
    code = "import sys, metalearn, metalearn.neural; from metalearn.neural._task import FewShotTask; "
    code += "print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_fewshottask_infers_image_modality_ways_and_shots():
    task = FewShotTask(np.zeros((15, 28, 28)), np.repeat(np.arange(5), 3))
    assert (task.modality, task.n_way, task.k_shot, task.input_shape) == ("image", 5, 3, (1, 28, 28))


def test_fewshottask_infers_regression_from_float_targets():
    x = np.linspace(-5, 5, 10)[:, None]
    task = FewShotTask(x, np.sin(x[:, 0]) + 0.1)
    assert (task.modality, task.n_way, task.k_shot, task.input_shape) == ("regression-1d", 0, 10, (1,))


def test_fewshottask_rejects_labels_that_are_not_0_to_n():
    with pytest.raises(InvalidDatasetError, match="0..n_way-1"):
        FewShotTask(np.zeros((2, 1, 8, 8)), np.array([1, 2]))


def _toy_family() -> PoolFamily:
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(12), 6)
    x = rng.random((len(y), 1, 6, 6)).astype(np.float32)
    return PoolFamily("toy", x, y, {"train": range(6), "val": range(6, 8), "test": range(8, 12)})


@pytest.mark.parametrize(("n_way", "k_shot", "n_query"), [(3, 1, 2), (4, 2, 3), (2, 5, 1)])
def test_episode_has_n_distinct_classes_k_shots_and_disjoint_support_query(n_way, k_shot, n_query):
    fam = _toy_family()
    for ep in fam.episodes("test", 5, n_way, k_shot, n_query, random_state=1):
        assert sorted(set(ep.support_y.tolist())) == list(range(n_way))
        assert np.all(np.bincount(ep.support_y) == k_shot)
        assert np.all(np.bincount(ep.query_y) == n_query)
        assert len({c for c, _ in ep.info["classes"]}) == n_way
        support = {s.tobytes() for s in ep.support_x}
        assert not support & {q.tobytes() for q in ep.query_x}


def test_episodes_draw_only_from_their_split_and_rotate_only_meta_train():
    fam = _toy_family()
    assert fam.n_classes("train") == 24 and fam.n_classes("test") == 4
    for ep in fam.episodes("test", 10, 4, 1, 1, random_state=0):
        assert {c for c, _ in ep.info["classes"]} <= set(range(8, 12))
        assert {r for _, r in ep.info["classes"]} == {0}
    rotations = {r for ep in fam.episodes("train", 20, 5, 1, 1, random_state=0) for _, r in ep.info["classes"]}
    assert rotations == {0, 1, 2, 3}


def test_same_random_state_gives_the_same_episodes():
    fam = _toy_family()
    a = next(fam.episodes("val", 1, 2, 2, 2, random_state=3))
    b = next(fam.episodes("val", 1, 2, 2, 2, random_state=3))
    assert np.array_equal(a.support_x, b.support_x) and np.array_equal(a.query_y, b.query_y)


def test_too_many_ways_or_shots_is_refused():
    fam = _toy_family()
    with pytest.raises(InvalidParameterError, match="4 classes"):
        next(fam.episodes("test", 1, 5, 1, 1))
    with pytest.raises(InvalidParameterError, match="too many"):
        next(fam.episodes("test", 1, 2, 5, 5))


def test_meta_train_shares_no_class_with_meta_test():
    with pytest.raises(InvalidParameterError, match="meta-train"):
        PoolFamily("bad", np.zeros((4, 1, 2, 2)), np.array([0, 0, 1, 1]), {"train": [0, 1], "test": [1]})


def test_sinusoid_episodes_follow_the_maml_protocol():
    for ep in SinusoidFamily().episodes("train", 50, 0, 10, 5, random_state=0):
        assert ep.support_x.shape == (10, 1) and ep.query_x.shape == (5, 1)
        assert 0.1 <= ep.info["amplitude"] <= 5 and 0 <= ep.info["phase"] <= np.pi
        assert np.all(np.abs(ep.support_x) <= 5)
        expected = ep.info["amplitude"] * np.sin(ep.support_x[:, 0] - ep.info["phase"])
        np.testing.assert_allclose(ep.support_y, expected, rtol=1e-5, atol=1e-5)


def test_digits_family_is_8x8_with_disjoint_meta_train():
    fam = digits_family()
    ep = next(fam.episodes("test", 1, 5, 1, 3))
    assert fam.input_shape == (1, 8, 8) and ep.support_x.shape == (5, 1, 8, 8)
    assert {c for c, _ in ep.info["classes"]} == {5, 6, 7, 8, 9}


def _write_png(path, array):
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


def test_runs_loader_reads_lake_format(tmp_path):
    rng = np.random.default_rng(0)
    run = tmp_path / "run01"
    labels = []
    for i in range(3):
        img = np.full((105, 105), 255, np.uint8)
        img[10 * i : 10 * i + 30, 20:40] = 0
        _write_png(run / "training" / f"class{i + 1:02d}.png", img)
        _write_png(run / "test" / f"item{i + 1:02d}.png", img)
        labels.append(f"test/item{i + 1:02d}.png training/class{(i + 1):02d}.png")
    order = rng.permutation(3)
    (run / "class_labels.txt").write_text("\n".join(labels[i] for i in order) + "\n")
    (runs,) = load_runs(tmp_path)
    assert runs.train_x.shape == (3, 1, 28, 28) and runs.test_x.shape == (3, 1, 28, 28)
    assert runs.test_y.tolist() == order.tolist()
    assert runs.train_x.max() == pytest.approx(1.0)  # black ink becomes 1


def _record(bid, family, modality, shape, results, method="transfer"):
    return BackboneRecord(
        id=bid,
        family=family,
        modality=modality,
        method=method,
        architecture={"name": "conv4" if modality == "image" else "mlp"},
        input_shape=shape,
        n_way=5,
        k_shot=1,
        training_episodes=10,
        train_seconds=1.0,
        checkpoint=f"{bid}.pt",
        sha256="0" * 64,
        torch_version="x",
        results=tuple(results),
    )


def _acc(finetune, n_way, k_shot, mean):
    return RecipeResult({"finetune": finetune}, "accuracy", n_way, k_shot, mean, 0.01, 600)


@pytest.fixture
def registry(tmp_path):
    records = (
        _record("omni-transfer", "omniglot", "image", (1, 28, 28), [_acc("centroid", 20, 1, 0.90)]),
        _record(
            "omni-maml",
            "omniglot",
            "image",
            (1, 28, 28),
            [_acc("all", 20, 1, 0.80), _acc("all", 5, 5, 0.99)],
            method="maml",
        ),
        _record(
            "sine-maml",
            "sinusoid",
            "regression-1d",
            (1,),
            [RecipeResult({"finetune": "all", "steps": 1}, "mse", 0, 10, 0.5, 0.05, 600)],
            method="maml",
        ),
        _record(
            "sine-pretrain",
            "sinusoid",
            "regression-1d",
            (1,),
            [RecipeResult({"finetune": "all", "steps": 1}, "mse", 0, 10, 2.5, 0.2, 600)],
        ),
    )
    write_registry(BackboneRegistry(tmp_path, records))
    return load_registry(tmp_path, verify=False)


def test_registry_json_is_self_describing_and_round_trips(registry, tmp_path):
    data = json.loads((tmp_path / "registry.json").read_text())
    assert {"schema_version", "torch_version", "created", "backbones"} <= set(data)
    assert registry.get("omni-maml").results[1].k_shot == 5


def test_recommend_backbone_picks_the_best_evidence_in_the_closest_setting(registry):
    x = np.zeros((20, 1, 28, 28), np.float32)
    rec = recommend_backbone(FewShotTask(x, np.arange(20)), registry)
    assert rec.backbone.id == "omni-transfer" and rec.recipe == {"finetune": "centroid"}
    assert rec.expected_score == 0.90 and "omni-maml" in rec.explain()
    rec5 = recommend_backbone(FewShotTask(np.zeros((25, 1, 28, 28)), np.repeat(np.arange(5), 5)), registry)
    assert rec5.backbone.id == "omni-maml" and rec5.distance == 0
    assert rec5.to_dict()["expected_score"] == 0.99


def test_recommend_dispatches_a_few_shot_task_without_importing_neural():
    from metalearn.recommend._api import BackboneTask

    code = "import sys, metalearn; print('metalearn.neural' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
    assert isinstance(FewShotTask(np.zeros((5, 1, 28, 28)), np.arange(5)), BackboneTask)


def test_recommend_returns_the_backbone_recommendation_for_a_few_shot_task(registry):
    import metalearn

    task = FewShotTask(np.zeros((25, 1, 28, 28)), np.repeat(np.arange(5), 5))
    rec = metalearn.recommend(task, kb=registry)
    assert rec.backbone.id == recommend_backbone(task, registry).backbone.id == "omni-maml"


def test_recommend_backbone_minimises_mse_for_regression(registry):
    x = np.linspace(-5, 5, 10, dtype=np.float32)[:, None]
    rec = recommend_backbone(FewShotTask(x, np.sin(x[:, 0])), registry)
    assert rec.backbone.id == "sine-maml" and "regression" in rec.explain()


def test_recommend_backbone_explains_when_nothing_matches(registry):
    with pytest.raises(KnowledgeBaseError, match="input shape"):
        recommend_backbone(FewShotTask(np.zeros((5, 1, 32, 32)), np.arange(5)), registry)


def test_torch_names_raise_an_install_hint_when_torch_is_missing():
    code = (
        "import sys\n"
        "class Block:\n    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'torch':\n            raise ImportError('no torch here')\n"
        "sys.meta_path.insert(0, Block())\n"
        "import metalearn.neural as n\n"
        "try:\n    n.adapt\nexcept ImportError as e:\n    print(type(e).__name__, 'metalearn[neural]' in str(e))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "OptionalDependencyError True"


def test_glyph_classes_render_as_28x28_ink_and_skip_scripts_related_to_meta_test():
    pytest.importorskip("matplotlib")
    pytest.importorskip("fontTools")
    from metalearn.neural._glyphs import _candidates, _font_paths, _render

    fonts = _font_paths()
    image = _render("A", fonts[0], np.random.default_rng(0), 28)
    assert image.shape == (1, 28, 28) and 0 < image.mean() < 0.5
    candidates = _candidates(fonts[0])
    assert len(candidates) > 1000
    assert not any(0x0590 <= ord(c) <= 0x05FF or 0xAC00 <= ord(c) <= 0xD7AF for c in candidates)  # Hebrew, Hangul


def test_fewshottask_from_image_folder_reads_class_folders_and_queries(tmp_path):
    for name in ("alpha", "beta"):
        for i in range(2):
            img = np.full((40, 40), 255, np.uint8)
            img[5 + 10 * i : 20 + 10 * i, 5:30] = 0
            _write_png(tmp_path / name / f"{i}.png", img)
    _write_png(tmp_path / "query" / "q.png", np.zeros((40, 40), np.uint8))
    task = FewShotTask.from_image_folder(tmp_path)
    assert (task.n_way, task.k_shot, task.input_shape) == (2, 2, (1, 28, 28))
    assert task.metadata["classes"] == ["alpha", "beta"] and task.query_x.shape == (1, 1, 28, 28)
