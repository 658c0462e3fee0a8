"""Few-shot task description, importable without torch.

:class:`FewShotTask` is what a user hands to :func:`metalearn.recommend` or
:func:`metalearn.neural.recommend_backbone`: a labelled support set, an optional
unlabelled query set, and what kind of data it is. Nothing here imports torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from metalearn.exceptions import InvalidDatasetError, InvalidParameterError
from metalearn.neural._images import read_image
from metalearn.neural._recommend import BackboneRecommendation, recommend_backbone
from metalearn.neural._registry import BackboneRegistry

MODALITIES = ("image", "vector", "regression-1d")

__all__ = ["MODALITIES", "FewShotTask"]


@dataclass(frozen=True, eq=False)  # holds arrays: compared by identity
class FewShotTask:
    """A few-shot learning problem: a small labelled support set (and maybe queries).

    Parameters
    ----------
    support_x : numpy.ndarray
        Support inputs, shape ``(n_support, *input_shape)``. Images are
        ``(n, channels, height, width)`` or ``(n, height, width)`` (a channel
        axis is added), with ink/foreground values in ``[0, 1]``.
    support_y : numpy.ndarray
        Support labels (integers ``0..n_way-1`` for classification, floats for
        regression), shape ``(n_support,)``.
    query_x : numpy.ndarray or None
        Unlabelled query inputs, same trailing shape as ``support_x``.
    modality : str or None
        ``"image"``, ``"vector"`` or ``"regression-1d"``; inferred when None
        (4-d or 3-d input: image; float targets with 1 input column:
        regression-1d; otherwise vector).
    n_way, k_shot : int or None
        Number of classes and labelled examples per class; inferred from
        ``support_y`` when None (for regression ``n_way`` is 0 and ``k_shot``
        is the number of support points).
    input_shape : tuple of int or None
        Shape of one input; inferred from ``support_x`` when None.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.zeros((10, 1, 28, 28), dtype=np.float32)
    >>> task = FewShotTask(x, np.repeat(np.arange(5), 2))
    >>> task.modality, task.n_way, task.k_shot, task.input_shape
    ('image', 5, 2, (1, 28, 28))
    """

    support_x: np.ndarray
    support_y: np.ndarray
    query_x: np.ndarray | None = None
    modality: str | None = None
    n_way: int | None = None
    k_shot: int | None = None
    input_shape: tuple[int, ...] | None = None
    metadata: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        x = np.asarray(self.support_x, dtype=np.float32)
        y = np.asarray(self.support_y)
        if x.ndim == 3 and (self.modality in (None, "image")):
            x = x[:, None, :, :]
        if x.ndim == 1:
            x = x[:, None]
        if len(x) != len(y) or len(y) == 0:
            raise InvalidDatasetError(
                f"support_x has {len(x)} rows and support_y {len(y)}; give one label per support example"
            )
        modality = self.modality or _infer_modality(x, y)
        if modality not in MODALITIES:
            raise InvalidParameterError(f"modality must be one of {MODALITIES}, not {modality!r}")
        if modality == "regression-1d":
            y = y.astype(np.float32)
            n_way, k_shot = 0, len(y)
        else:
            classes, counts = np.unique(y, return_counts=True)
            if not np.array_equal(classes, np.arange(len(classes))):
                raise InvalidDatasetError(
                    f"support_y must hold the integer labels 0..n_way-1, found {classes.tolist()}; "
                    "encode the labels first (e.g. numpy.unique(y, return_inverse=True))"
                )
            y = y.astype(np.int64)
            n_way, k_shot = len(classes), int(counts.min())
        query = self.query_x
        if query is not None:
            query = np.asarray(query, dtype=np.float32)
            if query.ndim == x.ndim - 1:
                query = query[:, None] if modality != "image" else query[:, None, :, :]
            if query.shape[1:] != x.shape[1:]:
                raise InvalidDatasetError(f"query_x rows have shape {query.shape[1:]}, support_x rows {x.shape[1:]}")
        object.__setattr__(self, "support_x", x)
        object.__setattr__(self, "support_y", y)
        object.__setattr__(self, "query_x", query)
        object.__setattr__(self, "modality", modality)
        object.__setattr__(self, "n_way", int(self.n_way if self.n_way is not None else n_way))
        object.__setattr__(self, "k_shot", int(self.k_shot if self.k_shot is not None else k_shot))
        object.__setattr__(self, "input_shape", tuple(int(s) for s in (self.input_shape or x.shape[1:])))

    @property
    def is_classification(self) -> bool:
        """True unless the task is a regression."""
        return self.modality != "regression-1d"

    def describe(self) -> dict[str, Any]:
        """The characteristics used to match the task with backbones.

        Examples
        --------
        >>> import numpy as np
        >>> x = np.linspace(-5, 5, 10)[:, None]
        >>> FewShotTask(x, np.sin(x[:, 0])).describe()["modality"]
        'regression-1d'
        """
        return {
            "modality": self.modality,
            "input_shape": list(self.input_shape or ()),
            "n_way": self.n_way,
            "k_shot": self.k_shot,
            "n_support": len(self.support_y),
            "n_query": 0 if self.query_x is None else len(self.query_x),
        }

    def recommend_backbone(self, registry: BackboneRegistry | None = None) -> BackboneRecommendation:
        """The backbone and recipe recommended for this task (see :func:`metalearn.neural.recommend_backbone`).

        :func:`metalearn.recommend` dispatches a few-shot task here, so the
        tabular recommender never imports :mod:`metalearn.neural`.
        """
        return recommend_backbone(self, registry=registry)

    @classmethod
    def from_image_folder(cls, path: str | Path, size: int = 28, invert: bool = True) -> FewShotTask:
        """Build a task from a folder of images, one sub-folder per class, and optional query images.

        Two layouts are read: ``path/support/<class name>/<image>`` with the
        unlabelled images in ``path/query/``, or ``path/<class name>/<image>``
        with an optional ``path/query/`` (a folder named ``query`` is never a
        class). Images are converted to grayscale, resized to ``size`` x
        ``size`` and scaled to ``[0, 1]``; with ``invert`` dark ink on a light
        page becomes 1. Class names are sorted; their order gives the labels
        (kept in ``metadata["classes"]``), and ``metadata["query_files"]``
        lists the query images in the order of ``query_x``.

        Examples
        --------
        >>> FewShotTask.from_image_folder("missing-folder")  # doctest: +SKIP
        """
        root = Path(path)
        if not root.is_dir():
            raise InvalidDatasetError(f"{root} is not a folder of class sub-folders (or of support/ and query/)")
        support_root = root / "support" if (root / "support").is_dir() else root
        class_dirs = sorted(p for p in support_root.iterdir() if p.is_dir() and p.name != "query")
        xs, ys = [], []
        for label, class_dir in enumerate(class_dirs):
            for file in sorted(class_dir.iterdir()):
                if file.is_file():
                    xs.append(read_image(file, size=size, invert=invert))
                    ys.append(label)
        if not xs:
            raise InvalidDatasetError(f"no images found under {support_root}/<class>/")
        query_dir = root / "query"
        files = sorted(f for f in query_dir.iterdir() if f.is_file()) if query_dir.is_dir() else []
        query = np.stack([read_image(f, size=size, invert=invert) for f in files]) if files else None
        meta = {"classes": [d.name for d in class_dirs], "source": str(root), "query_files": [str(f) for f in files]}
        return cls(np.stack(xs), np.asarray(ys), query_x=query, modality="image", metadata=meta)


def _infer_modality(x: np.ndarray, y: np.ndarray) -> str:
    if x.ndim == 4:
        return "image"
    if x.ndim == 2 and x.shape[1] == 1 and np.issubdtype(y.dtype, np.floating) and not _integral(y):
        return "regression-1d"
    return "vector"


def _integral(y: np.ndarray) -> bool:
    return bool(np.all(np.isfinite(y)) and np.all(np.equal(np.mod(y, 1), 0)))
