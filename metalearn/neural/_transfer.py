"""Transfer learning baselines: pre-train one classifier / regressor on all of meta-train.

The pre-trained features are then used by :func:`metalearn.neural.adapt` with
the recipes ``finetune="centroid"`` (nearest class centroid in feature space),
``"head"`` (a new head, initialised at the centroids, trained on the support
set) or ``"all"`` (the whole network fine-tuned).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as F

from metalearn.neural._augment import AffineAugment, random_affine
from metalearn.neural._episodes import TaskFamily
from metalearn.neural._models import Backbone

__all__ = ["PretrainConfig", "pretrain_classifier", "pretrain_regressor", "random_shift"]


@dataclass(frozen=True)
class PretrainConfig:
    """Hyperparameters of supervised pre-training.

    For classification an epoch is one pass over the meta-train pool; for
    regression ``epochs * steps_per_epoch`` steps each see ``batch_size``
    points from each of ``tasks_per_batch`` random tasks. With ``affine`` each
    image batch gets :func:`metalearn.neural._augment.random_affine` (shift up to
    ``max_shift`` pixels) instead of the plain random shift.
    """

    epochs: int = 20
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.0
    max_shift: int = 2
    steps_per_epoch: int = 500
    tasks_per_batch: int = 8
    affine: bool = False


def random_shift(x: np.ndarray, max_shift: int, rng: np.random.Generator) -> np.ndarray:
    """Translate each image by up to ``max_shift`` pixels (zero padding); a cheap augmentation.

    Examples
    --------
    >>> import numpy as np
    >>> random_shift(np.ones((2, 1, 4, 4), dtype=np.float32), 1, np.random.default_rng(0)).shape
    (2, 1, 4, 4)
    """
    if max_shift <= 0:
        return x
    n, _, h, w = x.shape
    padded = np.pad(x, ((0, 0), (0, 0), (max_shift, max_shift), (max_shift, max_shift)))
    dy = rng.integers(0, 2 * max_shift + 1, size=n)
    dx = rng.integers(0, 2 * max_shift + 1, size=n)
    return np.stack([padded[i, :, dy[i] : dy[i] + h, dx[i] : dx[i] + w] for i in range(n)])


def pretrain_classifier(
    model: Backbone,
    x: np.ndarray,
    y: np.ndarray,
    config: PretrainConfig,
    random_state: int = 0,
    callback: Callable[[int, float], None] | None = None,
) -> list[float]:
    """Train ``model`` (head with one output per class) with cross-entropy and Adam; returns epoch losses."""
    rng = np.random.default_rng(random_state)
    torch.manual_seed(random_state)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, config.epochs))
    target = torch.from_numpy(np.asarray(y, dtype=np.int64))
    history = []
    for epoch in range(config.epochs):
        order = rng.permutation(len(x))
        total, batches = 0.0, 0
        for start in range(0, len(order) - config.batch_size + 1, config.batch_size):
            idx = order[start : start + config.batch_size]
            if config.affine:
                xb = torch.from_numpy(random_affine(x[idx], rng, AffineAugment(shift=config.max_shift)))
            else:
                xb = torch.from_numpy(random_shift(x[idx], config.max_shift, rng))
            loss = F.cross_entropy(model(xb), target[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total, batches = total + float(loss.detach()), batches + 1
        scheduler.step()
        history.append(total / max(1, batches))
        if callback is not None:
            callback(epoch, history[-1])
    return history


def pretrain_regressor(
    model: Backbone,
    family: TaskFamily,
    config: PretrainConfig,
    random_state: int = 0,
    callback: Callable[[int, float], None] | None = None,
) -> list[float]:
    """Fit one regressor to points pooled from many meta-train tasks (the MAML paper's baseline)."""
    rng = np.random.default_rng(random_state)
    torch.manual_seed(random_state)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    history = []
    for epoch in range(config.epochs):
        total = 0.0
        for _ in range(config.steps_per_epoch):
            eps = [family.sample_episode("train", 0, config.batch_size, 0, rng) for _ in range(config.tasks_per_batch)]
            xb = torch.from_numpy(np.concatenate([e.support_x for e in eps]))
            yb = torch.from_numpy(np.concatenate([e.support_y for e in eps]))
            loss = F.mse_loss(model(xb).squeeze(-1), yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += float(loss.detach())
        history.append(total / config.steps_per_epoch)
        if callback is not None:
            callback(epoch, history[-1])
    return history
