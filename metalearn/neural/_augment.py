"""Image augmentation shared by every meta-training method (numpy + scipy, no torch).

:func:`random_affine` draws a small random affine map per image (rotation,
scale, shear, translation) and resamples it bilinearly with zero padding.
:class:`AugmentedFamily` wraps a task family so that its meta-train episodes
are augmented, which is how the episodic methods (MAML, Reptile, prototypical
networks) get the same augmentation as transfer pre-training
(:class:`metalearn.neural.PretrainConfig` with ``affine=True``). The rotations
by multiples of 90 degrees (each a new class) stay in :class:`PoolFamily`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from metalearn.exceptions import InvalidParameterError
from metalearn.neural._episodes import Episode, TaskFamily

__all__ = ["AffineAugment", "AugmentedFamily", "random_affine"]


@dataclass(frozen=True)
class AffineAugment:
    """Ranges of the random affine map: degrees, scale factor, shear (radians) and shift (pixels)."""

    rotation: float = 10.0
    scale: tuple[float, float] = (0.9, 1.1)
    shear: float = 0.1
    shift: float = 2.0


def random_affine(x: np.ndarray, rng: np.random.Generator, spec: AffineAugment | None = None) -> np.ndarray:
    """Apply an independent random affine map to each image of ``x`` (shape ``(n, c, h, w)``).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.zeros((3, 1, 28, 28), np.float32); x[:, :, 10:18, 10:18] = 1
    >>> y = random_affine(x, np.random.default_rng(0))
    >>> y.shape, y.dtype, bool(0 < y.sum() < 3 * 28 * 28)
    ((3, 1, 28, 28), dtype('float32'), True)
    """
    spec = spec if spec is not None else AffineAugment()
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 4:
        raise InvalidParameterError(f"random_affine needs images of shape (n, c, h, w), got {x.shape}")
    n, _, h, w = x.shape
    angle = np.deg2rad(rng.uniform(-spec.rotation, spec.rotation, n))
    scale = rng.uniform(*spec.scale, n)
    shear = rng.uniform(-spec.shear, spec.shear, n)
    shift = rng.uniform(-spec.shift, spec.shift, (n, 2))
    centre = np.array([(h - 1) / 2, (w - 1) / 2])
    out = np.empty_like(x)
    for i in range(n):
        cos, sin = np.cos(angle[i]), np.sin(angle[i])
        forward = scale[i] * np.array([[cos, -sin], [sin, cos]]) @ np.array([[1.0, shear[i]], [0.0, 1.0]])
        inverse = np.linalg.inv(forward)  # output pixel -> input pixel
        offset = centre - inverse @ (centre + shift[i])
        for c in range(x.shape[1]):
            out[i, c] = ndimage.affine_transform(x[i, c], inverse, offset=offset, order=1, mode="constant")
    return out


class AugmentedFamily(TaskFamily):
    """A task family whose meta-train episodes are augmented by :func:`random_affine`; other splits unchanged.

    Examples
    --------
    >>> from metalearn.neural._families import digits_family
    >>> fam = AugmentedFamily(digits_family())
    >>> ep = fam.sample_episode("train", 5, 1, 2, np.random.default_rng(0))
    >>> ep.support_x.shape, fam.name, fam.n_classes("train")
    ((5, 1, 8, 8), 'digits', 20)
    """

    def __init__(self, family: TaskFamily, spec: AffineAugment | None = None) -> None:
        self.family = family
        self.spec = spec if spec is not None else AffineAugment()
        self.name, self.modality = family.name, family.modality
        self.input_shape, self.metric = family.input_shape, family.metric

    def __getattr__(self, name: str):
        if name == "family":  # not yet set: avoid recursing while unpickling or copying
            raise AttributeError(name)
        return getattr(self.family, name)

    def sample_episode(self, split: str, n_way: int, k_shot: int, n_query: int, rng: np.random.Generator) -> Episode:
        ep = self.family.sample_episode(split, n_way, k_shot, n_query, rng)
        if split != "train" or self.modality != "image":
            return ep
        return Episode(
            random_affine(ep.support_x, rng, self.spec),
            ep.support_y,
            random_affine(ep.query_x, rng, self.spec),
            ep.query_y,
            ep.n_way,
            ep.k_shot,
            ep.info,
        )
