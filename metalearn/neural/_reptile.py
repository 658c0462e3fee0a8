"""Reptile: move the initialisation towards the weights reached by SGD on each task.

The inner loop is plain full-batch SGD on the episode (support and query
together) with an explicit parameter dict; the outer update is
``theta <- theta + epsilon * mean_i(phi_i - theta)``. Classification heads are
zero-initialised per episode, as for MAML, and are not meta-learned.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch.func import functional_call

from metalearn.neural._episodes import Episode, TaskFamily
from metalearn.neural._maml import MetaTrainConfig, episode_tensors, task_loss, zero_head
from metalearn.neural._models import HEAD_PREFIX, Backbone

__all__ = ["meta_train_reptile", "reptile_step", "sgd_adapt"]


def sgd_adapt(
    model: Backbone,
    params: dict[str, torch.Tensor],
    x: torch.Tensor,
    y: torch.Tensor,
    lr: float,
    steps: int,
) -> dict[str, torch.Tensor]:
    """``steps`` full-batch SGD steps from ``params`` (detached; no graph is kept)."""
    current = {n: p.detach().clone().requires_grad_(True) for n, p in params.items()}
    for _ in range(steps):
        loss = task_loss(functional_call(model, current, (x,)), y)
        grads = torch.autograd.grad(loss, list(current.values()))
        current = {n: (p - lr * g).detach().requires_grad_(True) for (n, p), g in zip(current.items(), grads)}
    return {n: p.detach() for n, p in current.items()}


def reptile_step(
    model: Backbone, episodes: list[Episode], inner_lr: float, inner_steps: int, epsilon: float, zero_init_head: bool
) -> None:
    """One Reptile outer update of ``model`` (in place) from a meta-batch of episodes.

    Examples
    --------
    >>> from metalearn.neural._families import SinusoidFamily
    >>> from metalearn.neural._models import build_model, mlp_architecture
    >>> import numpy as np
    >>> model = build_model(mlp_architecture())
    >>> ep = SinusoidFamily().sample_episode("train", 0, 10, 10, np.random.default_rng(0))
    >>> reptile_step(model, [ep], inner_lr=0.01, inner_steps=3, epsilon=0.1, zero_init_head=False)
    """
    theta = {n: p.detach() for n, p in model.named_parameters()}
    delta = {n: torch.zeros_like(p) for n, p in theta.items()}
    for episode in episodes:
        sx, sy, qx, qy = episode_tensors(episode)
        start = dict(theta)
        if zero_init_head:
            start.update(zero_head(model, episode.n_way))
        phi = sgd_adapt(model, start, torch.cat([sx, qx]), torch.cat([sy, qy]), inner_lr, inner_steps)
        for name in delta:
            if not (zero_init_head and name.startswith(HEAD_PREFIX)):
                delta[name] += (phi[name] - theta[name]) / len(episodes)
    with torch.no_grad():
        for name, param in model.named_parameters():
            param.add_(epsilon * delta[name])


def meta_train_reptile(
    model: Backbone,
    family: TaskFamily,
    config: MetaTrainConfig,
    epsilon: float = 1.0,
    random_state: int = 0,
    callback: Callable[[int, float], None] | None = None,
) -> None:
    """Meta-train ``model`` in place with Reptile; ``epsilon`` decays linearly to 0 over the iterations."""
    rng = np.random.default_rng(random_state)
    torch.manual_seed(random_state)
    for iteration in range(config.n_iterations):
        episodes = [
            family.sample_episode("train", config.n_way, config.k_shot, config.n_query, rng)
            for _ in range(config.meta_batch)
        ]
        eps = epsilon * (1.0 - iteration / config.n_iterations)
        reptile_step(model, episodes, config.inner_lr, config.inner_steps, eps, family.is_classification)
        if callback is not None:
            callback(iteration, eps)
