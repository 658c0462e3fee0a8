"""Lake's one-shot runs (both path layouts, malformed files), checkpoint paths, affine augmentation (no torch)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from metalearn.exceptions import CorruptFileError, DatasetNotFoundError, KnowledgeBaseIntegrityError, MetaLearnError
from metalearn.neural import (
    AugmentedFamily,
    BackboneRecord,
    BackboneRegistry,
    digits_family,
    load_backbone,
    load_registry,
    load_runs,
    random_affine,
    write_registry,
)

Image = pytest.importorskip("PIL.Image")
N_CLASSES = 4


def _glyph(k: int) -> np.ndarray:
    """A 105x105 1-bit-style drawing (black ink on white), different for each class ``k``."""
    img = np.full((105, 105), 255, np.uint8)
    img[10 + 15 * k : 30 + 15 * k, 10 + 10 * k : 60] = 0
    return img


def _write_lake_runs(root, n_runs=2, root_relative=True, seed=0):
    """A miniature of Lake's ``all_runs`` folder: ``runNN/{class_labels.txt, training/, test/}``.

    Test items are shuffled against the classes, and each line names the files
    relative to the runs folder (``run01/test/item01.png run01/training/class03.png``),
    as published, or relative to the run folder. Returns the true class index of each item per run.
    """
    rng = np.random.default_rng(seed)
    truth = {}
    for r in range(1, n_runs + 1):
        run = root / f"run{r:02d}"
        (run / "training").mkdir(parents=True)
        (run / "test").mkdir()
        classes = rng.permutation(N_CLASSES)  # class MM of item KK
        for c in range(N_CLASSES):
            Image.fromarray(_glyph(c)).convert("1").save(run / "training" / f"class{c + 1:02d}.png")
        prefix = f"run{r:02d}/" if root_relative else ""
        lines = []
        for item, c in enumerate(classes, start=1):
            Image.fromarray(_glyph(int(c))).convert("1").save(run / "test" / f"item{item:02d}.png")
            lines.append(f"{prefix}test/item{item:02d}.png {prefix}training/class{int(c) + 1:02d}.png")
        (run / "class_labels.txt").write_text("\n".join(lines) + "\n")
        truth[run.name] = classes.tolist()
    return truth


@pytest.mark.parametrize("root_relative", [True, False])
def test_load_runs_reads_both_path_layouts(tmp_path, root_relative):
    truth = _write_lake_runs(tmp_path / "all_runs", root_relative=root_relative)
    runs = load_runs(tmp_path / "all_runs")
    assert [r.name for r in runs] == ["run01", "run02"]
    for run in runs:
        assert run.train_x.shape == (N_CLASSES, 1, 28, 28) and run.test_x.shape == (N_CLASSES, 1, 28, 28)
        assert run.test_y.tolist() == truth[run.name]
        # item k is the same drawing as its class: the images line up with the labels
        assert np.allclose(run.test_x, run.train_x[run.test_y])
        assert run.train_x.max() == pytest.approx(1.0)  # black ink becomes 1


def test_load_runs_detects_the_layout_per_file_and_reads_a_single_run_folder(tmp_path):
    truth = _write_lake_runs(tmp_path, n_runs=1)
    labels = tmp_path / "run01" / "class_labels.txt"
    lines = labels.read_text().splitlines()
    lines[0] = lines[0].replace("run01/test/", "test/")  # mixed: one path relative to the run folder
    labels.write_text("\n".join(lines) + "\n")
    (run,) = load_runs(tmp_path / "run01")
    assert run.test_y.tolist() == truth["run01"]


@pytest.mark.parametrize(
    ("line", "error", "message"),
    [
        ("run01/test/item01.png", CorruptFileError, "two paths"),
        ("run01/test/item01.png run01/training/class01.png extra", CorruptFileError, "two paths"),
        ("run02/test/item01.png run02/training/class01.png", CorruptFileError, "names run 'run02'"),
        ("../run01/test/item01.png training/class01.png", CorruptFileError, "not a test/ image"),
        ("run01/training/class01.png run01/test/item01.png", CorruptFileError, "not a test/ image"),
        ("/etc/test/item01.png training/class01.png", CorruptFileError, "not a test/ image"),
        ("x/run01/test/item01.png training/class01.png", CorruptFileError, "not a test/ image"),
        ("run01/test/item99.png run01/training/class01.png", DatasetNotFoundError, "item99.png"),
    ],
)
def test_malformed_class_labels_raise_a_clear_error(tmp_path, line, error, message):
    _write_lake_runs(tmp_path, n_runs=1)
    labels = tmp_path / "run01" / "class_labels.txt"
    labels.write_text(labels.read_text() + line + "\n")
    with pytest.raises(error, match=message) as info:
        load_runs(tmp_path)
    assert isinstance(info.value, MetaLearnError) and "class_labels.txt" in str(info.value)


def test_load_runs_without_runs_names_the_expected_layout(tmp_path):
    (tmp_path / "run01").mkdir()
    with pytest.raises(DatasetNotFoundError, match="runNN/class_labels.txt"):
        load_runs(tmp_path)
    (tmp_path / "run01" / "class_labels.txt").write_text("\n")
    with pytest.raises(CorruptFileError, match="two paths"):
        load_runs(tmp_path)


def _record(checkpoint: str) -> BackboneRecord:
    return BackboneRecord(
        "evil", "omniglot", "image", "transfer", {"name": "conv4"}, (1, 28, 28), 0, 0, 0, 0.0,
        checkpoint, "0" * 64, "x",
    )  # fmt: skip


@pytest.mark.parametrize("checkpoint", ["../../etc/hostname", "/etc/hostname", "sub/../../x.pt"])
def test_registry_refuses_checkpoints_outside_its_folder(tmp_path, checkpoint):
    folder = tmp_path / "backbones"
    write_registry(BackboneRegistry(folder, (_record(checkpoint),)))
    assert json.loads((folder / "registry.json").read_text())["backbones"][0]["checkpoint"] == checkpoint
    for verify in (False, True):
        with pytest.raises(KnowledgeBaseIntegrityError, match="outside the registry folder"):
            load_registry(folder, verify=verify)


def test_random_affine_moves_ink_but_keeps_it_and_is_seeded():
    x = np.zeros((8, 1, 28, 28), np.float32)
    x[:, :, 8:20, 12:16] = 1.0
    a = random_affine(x, np.random.default_rng(0))
    b = random_affine(x, np.random.default_rng(0))
    assert np.array_equal(a, b) and not np.allclose(a, x)
    assert np.allclose(a.sum((1, 2, 3)), x.sum((1, 2, 3)), rtol=0.3)  # scale within 0.9-1.1: ink roughly kept
    assert a.min() >= 0 and a.max() <= 1.0 + 1e-6


def test_augmented_family_changes_meta_train_episodes_only():
    base = digits_family()
    fam = AugmentedFamily(base)
    for split, changed in (("train", True), ("test", False)):
        plain = base.sample_episode(split, 5, 1, 2, np.random.default_rng(3))
        aug = fam.sample_episode(split, 5, 1, 2, np.random.default_rng(3))
        assert np.array_equal(plain.support_y, aug.support_y) and aug.support_x.shape == plain.support_x.shape
        assert (not np.allclose(plain.support_x, aug.support_x)) is changed
    assert fam.n_classes("train") == base.n_classes("train") and fam.metric == "accuracy"


def test_load_backbone_refuses_a_record_pointing_outside_its_folder(tmp_path):
    pytest.importorskip("torch")
    with pytest.raises(KnowledgeBaseIntegrityError, match="outside the registry folder"):
        load_backbone(_record("../../etc/hostname"), root=tmp_path)
