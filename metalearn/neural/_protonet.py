"""Prototypical networks (Snell, Swersky & Zemel, 2017): episodic metric learning in plain PyTorch.

Each meta-train episode embeds its support and query sets with the backbone's
``features``; a class's prototype is the mean embedding of its support images,
and the logits of a query are minus its squared Euclidean distances to the
prototypes. The loss is the cross-entropy of those logits, minimised with Adam
(no inner loop, no second-order gradients). Support and query sets are embedded
in separate calls, as at test time, because Conv-4 normalises with the
statistics of the batch it sees. At test time the recipe
``{"finetune": "centroid"}`` of :func:`metalearn.neural.adapt` is exactly the
prototypical classifier.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as F

from metalearn.neural._episodes import TaskFamily
from metalearn.neural._models import Backbone

__all__ = ["ProtoNetConfig", "meta_train_protonet", "prototypical_loss"]


@dataclass(frozen=True)
class ProtoNetConfig:
    """Episodes of meta-training: ``n_way`` classes, ``k_shot`` support and ``n_query`` query images each.

    The learning rate follows a cosine schedule from ``lr`` to 0 over ``n_iterations`` episodes.
    """

    n_way: int = 60
    k_shot: int = 1
    n_query: int = 5
    n_iterations: int = 2000
    lr: float = 1e-3
    weight_decay: float = 0.0


def prototypical_loss(
    model: Backbone, sx: torch.Tensor, sy: torch.Tensor, qx: torch.Tensor, qy: torch.Tensor, n_way: int
) -> tuple[torch.Tensor, float]:
    """Cross-entropy of the query set against the support prototypes, and the query accuracy.

    Examples
    --------
    >>> import torch
    >>> from metalearn.neural._models import build_model, conv4_architecture
    >>> model = build_model(conv4_architecture((1, 8, 8), 2, channels=4))
    >>> x, y = torch.rand(4, 1, 8, 8), torch.tensor([0, 1, 0, 1])
    >>> loss, acc = prototypical_loss(model, x, y, x, y, 2)
    >>> loss.ndim, 0.0 <= acc <= 1.0
    (0, True)
    """
    support = model.embed(sx)
    prototypes = torch.stack([support[sy == c].mean(0) for c in range(n_way)])
    logits = -torch.cdist(model.embed(qx), prototypes).pow(2)
    loss = F.cross_entropy(logits, qy)
    accuracy = float((logits.argmax(1) == qy).float().mean())
    return loss, accuracy


def meta_train_protonet(
    model: Backbone,
    family: TaskFamily,
    config: ProtoNetConfig,
    random_state: int = 0,
    callback: Callable[[int, float], None] | None = None,
    validate: Callable[[Backbone], float] | None = None,
    validate_every: int = 100,
) -> list[float]:
    """Meta-train ``model``'s features in place on meta-train episodes of ``family``; returns the losses.

    ``callback(iteration, loss)`` is called after each episode. The head is not
    trained. With ``validate`` (a score to maximise, e.g. accuracy on meta-val
    episodes) the model is scored before training and every ``validate_every``
    episodes, and the best-scoring weights are kept (early stopping on meta-val).
    """
    rng = np.random.default_rng(random_state)
    torch.manual_seed(random_state)
    params = list(model.features.parameters())
    optimizer = torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, config.n_iterations))
    best = (validate(model), {k: v.detach().clone() for k, v in model.state_dict().items()}) if validate else None
    model.train()
    losses = []
    for iteration in range(config.n_iterations):
        ep = family.sample_episode("train", config.n_way, config.k_shot, config.n_query, rng)
        loss, _ = prototypical_loss(
            model,
            torch.from_numpy(ep.support_x),
            torch.from_numpy(ep.support_y),
            torch.from_numpy(ep.query_x),
            torch.from_numpy(ep.query_y),
            config.n_way,
        )
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
        losses.append(float(loss.detach()))
        if callback is not None:
            callback(iteration, losses[-1])
        if best is not None and validate is not None and (iteration + 1) % validate_every == 0:
            score = validate(model)
            if score > best[0]:
                best = (score, {k: v.detach().clone() for k, v in model.state_dict().items()})
    if best is not None:
        model.load_state_dict(best[1])
    model.eval()
    return losses
