"""Concrete task families: labelled image pools (Omniglot, digits) and sinusoid regression."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from metalearn.exceptions import InvalidParameterError
from metalearn.neural._episodes import SPLITS, Episode, TaskFamily
from metalearn.neural._images import load_omniglot

__all__ = [
    "OMNIGLOT_SPLITS",
    "PoolFamily",
    "SinusoidFamily",
    "digits_family",
    "get_family",
    "omniglot_family",
]

#: Meta-train / meta-val / meta-test alphabets of the local Omniglot subset (8 distinct alphabets).
OMNIGLOT_SPLITS: dict[str, tuple[str, ...]] = {
    "train": ("Balinese", "Japanese_(katakana)", "Latin", "Sanskrit", "Tagalog"),
    "val": ("Greek",),
    "test": ("Early_Aramaic", "Korean"),
}


class PoolFamily(TaskFamily):
    """N-way K-shot classification episodes drawn from a labelled pool of images.

    Parameters
    ----------
    name : str
        Family name recorded with backbones (``"omniglot"``, ``"digits"``).
    x : numpy.ndarray
        Images, shape ``(n, channels, height, width)``.
    y : numpy.ndarray
        Base class of each image, ``(n,)``.
    split_classes : mapping of str to sequence of int
        The base classes of each split; meta-val and meta-test must not share classes with meta-train.
    rotate_splits : sequence of str
        Splits whose classes are augmented with 90/180/270 degree rotations,
        each rotation being a new class (the standard Omniglot augmentation).
    """

    modality = "image"
    metric = "accuracy"

    def __init__(
        self,
        name: str,
        x: np.ndarray,
        y: np.ndarray,
        split_classes: Mapping[str, Sequence[int]],
        rotate_splits: Sequence[str] = ("train",),
    ) -> None:
        self.name = name
        self.x = np.asarray(x, dtype=np.float32)
        self.input_shape = tuple(int(s) for s in self.x.shape[1:])
        y = np.asarray(y, dtype=np.int64)
        self._members = {int(c): np.flatnonzero(y == c) for c in np.unique(y)}
        train = {int(c) for c in split_classes.get("train", ())}
        self._classes: dict[str, list[tuple[int, int]]] = {}
        for split in SPLITS:
            base = [int(c) for c in split_classes.get(split, ())]
            if split != "train" and train.intersection(base):
                raise InvalidParameterError(f"split {split!r} shares classes with meta-train")
            rotations = range(4) if split in rotate_splits else range(1)
            self._classes[split] = [(c, r) for c in base for r in rotations]

    def n_classes(self, split: str) -> int:
        """Number of classes (rotations counted as classes) in ``split``."""
        return len(self._classes[split])

    def _draw(self, cls: tuple[int, int], idx: np.ndarray) -> np.ndarray:
        images = self.x[self._members[cls[0]][idx]]
        return np.rot90(images, k=cls[1], axes=(-2, -1)) if cls[1] else images

    def sample_episode(self, split: str, n_way: int, k_shot: int, n_query: int, rng: np.random.Generator) -> Episode:
        classes = self._classes[split]
        if not 1 <= n_way <= len(classes):
            raise InvalidParameterError(f"{self.name}/{split} has {len(classes)} classes; cannot draw {n_way}-way")
        chosen = rng.choice(len(classes), size=n_way, replace=False)
        sx, sy, qx, qy = [], [], [], []
        for label, ci in enumerate(chosen):
            cls = classes[ci]
            n_members = len(self._members[cls[0]])
            if k_shot + n_query > n_members:
                raise InvalidParameterError(
                    f"class {cls[0]} has {n_members} examples; k_shot + n_query = {k_shot + n_query} is too many"
                )
            idx = rng.permutation(n_members)[: k_shot + n_query]
            drawn = self._draw(cls, idx)
            sx.append(drawn[:k_shot])
            qx.append(drawn[k_shot:])
            sy += [label] * k_shot
            qy += [label] * n_query
        return Episode(
            np.ascontiguousarray(np.concatenate(sx)),
            np.asarray(sy, dtype=np.int64),
            np.ascontiguousarray(np.concatenate(qx)),
            np.asarray(qy, dtype=np.int64),
            n_way,
            k_shot,
            {"classes": [classes[c] for c in chosen]},
        )

    def split_pool(self, split: str) -> tuple[np.ndarray, np.ndarray]:
        """Every image of ``split`` (rotated copies included) with labels ``0..n_classes-1``.

        Used to pre-train the transfer-learning backbone.
        """
        xs, ys = [], []
        for label, cls in enumerate(self._classes[split]):
            xs.append(self._draw(cls, np.arange(len(self._members[cls[0]]))))
            ys.append(np.full(len(xs[-1]), label, dtype=np.int64))
        return np.ascontiguousarray(np.concatenate(xs)), np.concatenate(ys)


class SinusoidFamily(TaskFamily):
    """Sinusoid regression of the MAML paper: ``y = A sin(x - phase)``.

    Amplitude in ``[0.1, 5]``, phase in ``[0, pi]``, inputs uniform in ``[-5, 5]``;
    every split draws from the same distribution (tasks are continuous).
    """

    name = "sinusoid"
    modality = "regression-1d"
    metric = "mse"
    input_shape = (1,)

    def __init__(
        self,
        amplitude: tuple[float, float] = (0.1, 5.0),
        phase: tuple[float, float] = (0.0, float(np.pi)),
        x_range: tuple[float, float] = (-5.0, 5.0),
    ) -> None:
        self.amplitude, self.phase, self.x_range = amplitude, phase, x_range

    def sample_episode(self, split: str, n_way: int, k_shot: int, n_query: int, rng: np.random.Generator) -> Episode:
        amp = rng.uniform(*self.amplitude)
        phase = rng.uniform(*self.phase)
        x = rng.uniform(*self.x_range, size=(k_shot + n_query, 1)).astype(np.float32)
        y = (amp * np.sin(x[:, 0] - phase)).astype(np.float32)
        return Episode(x[:k_shot], y[:k_shot], x[k_shot:], y[k_shot:], 0, k_shot, {"amplitude": amp, "phase": phase})


def omniglot_family(
    root: str | Path,
    splits: Mapping[str, Sequence[str]] | None = None,
    size: int = 28,
    cache_dir: str | Path | None = None,
) -> PoolFamily:
    """Omniglot as a task family, split by alphabet; meta-train classes get rotation augmentation.

    Examples
    --------
    >>> fam = omniglot_family("../shared/datasets/omniglot")  # doctest: +SKIP
    >>> fam.n_classes("train"), fam.n_classes("test")  # doctest: +SKIP
    (624, 62)
    """
    pool = load_omniglot(root, size=size, cache_dir=cache_dir)
    splits = dict(splits or OMNIGLOT_SPLITS)
    alphabets = np.asarray(pool.alphabets)
    split_classes = {s: np.flatnonzero(np.isin(alphabets, list(names))).tolist() for s, names in splits.items()}
    missing = {a for names in splits.values() for a in names} - set(pool.alphabets)
    if missing:
        raise InvalidParameterError(f"alphabets {sorted(missing)} are not in the Omniglot data under {root}")
    return PoolFamily("omniglot", pool.images, pool.labels, split_classes, rotate_splits=("train",))


def digits_family() -> PoolFamily:
    """scikit-learn's 8x8 digits: digits 0-4 (with rotations) meta-train, 5-9 meta-val and meta-test.

    Examples
    --------
    >>> digits_family().n_classes("train")
    20
    """
    from sklearn.datasets import load_digits

    data = load_digits()
    x = (data.images / 16.0).astype(np.float32)[:, None, :, :]
    return PoolFamily("digits", x, data.target, {"train": range(5), "val": range(5, 10), "test": range(5, 10)})


def get_family(name: str, omniglot_root: str | Path | None = None) -> TaskFamily:
    """Build a family by name: ``"sinusoid"``, ``"digits"`` or ``"omniglot"`` (needs ``omniglot_root``)."""
    if name == "sinusoid":
        return SinusoidFamily()
    if name == "digits":
        return digits_family()
    if name == "omniglot":
        if omniglot_root is None:
            raise InvalidParameterError("the omniglot family needs omniglot_root (the folder of Omniglot zips)")
        return omniglot_family(omniglot_root)
    raise InvalidParameterError(f"unknown task family {name!r}; choose sinusoid, digits or omniglot")
