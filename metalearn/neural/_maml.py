"""MAML / first-order MAML with ``torch.func.functional_call`` and explicit parameter dicts.

The user-facing shape follows learn2learn (``learner = maml.clone(); learner.adapt(loss)``),
but the implementation only ever handles a ``dict[str, Tensor]`` of parameters: the
module itself is never copied or mutated by the inner loop.

Classification heads are *zero-initialised per episode* (as in UNICORN-MAML): the
meta-learned initialisation covers the feature extractor, and the head starts at
zero with as many outputs as the episode has classes, so one backbone serves any
N-way task and is invariant to the order of the labels.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.func import functional_call
from torch.nn import functional as F

from metalearn.neural._episodes import Episode, TaskFamily
from metalearn.neural._models import HEAD_PREFIX, Backbone

logger = logging.getLogger(__name__)

__all__ = ["MAML", "FunctionalLearner", "MetaTrainConfig", "episode_tensors", "meta_train_maml", "task_loss"]

Params = dict[str, torch.Tensor]


def task_loss(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Cross-entropy for integer targets, mean squared error for float targets."""
    if target.dtype == torch.int64:
        return F.cross_entropy(output, target)
    return F.mse_loss(output.squeeze(-1), target)


def zero_head(model: Backbone, n_way: int) -> Params:
    """A fresh all-zero head with ``n_way`` outputs (leaf tensors that require grad)."""
    dim = model.feature_dim
    return {
        "head.weight": torch.zeros(n_way, dim, requires_grad=True),
        "head.bias": torch.zeros(n_way, requires_grad=True),
    }


class FunctionalLearner:
    """A module evaluated with an explicit parameter dict that ``adapt`` replaces by SGD steps.

    Parameters
    ----------
    module : torch.nn.Module
        Supplies the computation only; its own parameters are not used unless in ``params``.
    params : dict of str to Tensor
        The parameters to run the module with.
    lr : float
        Inner-loop learning rate.
    first_order : bool
        When True the inner gradients are detached (first-order MAML).
    trainable : iterable of str or None
        Names of the parameters ``adapt`` updates (all when None).
    """

    def __init__(
        self,
        module: nn.Module,
        params: Params,
        lr: float,
        first_order: bool = False,
        trainable: Iterable[str] | None = None,
    ) -> None:
        self.module = module
        self.params = dict(params)
        self.lr = lr
        self.first_order = first_order
        self.trainable = tuple(trainable) if trainable is not None else tuple(self.params)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return functional_call(self.module, self.params, (x,))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Features of ``x`` under the current parameters."""
        features = {k[len("features.") :]: v for k, v in self.params.items() if k.startswith("features.")}
        return functional_call(self.module.features, features, (x,)).flatten(1)

    def clone(self) -> FunctionalLearner:
        """A learner sharing the current tensors (gradients still flow to them)."""
        return FunctionalLearner(self.module, self.params, self.lr, self.first_order, self.trainable)

    def adapt(self, loss: torch.Tensor, lr: float | None = None) -> None:
        """One gradient step on ``loss`` for the trainable parameters.

        With ``first_order=False`` the step is differentiable (``create_graph=True``),
        so a later outer loss back-propagates through it.
        """
        names = [n for n in self.trainable if self.params[n].requires_grad]
        grads = torch.autograd.grad(
            loss, [self.params[n] for n in names], create_graph=not self.first_order, allow_unused=True
        )
        step = self.lr if lr is None else lr
        updated = dict(self.params)
        for name, grad in zip(names, grads):
            if grad is not None:
                updated[name] = self.params[name] - step * grad
        self.params = updated


class MAML:
    """Model-agnostic meta-learning around a :class:`Backbone`.

    Examples
    --------
    >>> import torch
    >>> from metalearn.neural._models import build_model, mlp_architecture
    >>> maml = MAML(build_model(mlp_architecture()), inner_lr=0.01)
    >>> learner = maml.clone()
    >>> x, y = torch.randn(5, 1), torch.randn(5)
    >>> learner.adapt(task_loss(learner(x), y))
    >>> learner(x).shape
    torch.Size([5, 1])
    """

    def __init__(self, model: Backbone, inner_lr: float, first_order: bool = False, zero_init_head: bool = False):
        self.model = model
        self.inner_lr = inner_lr
        self.first_order = first_order
        self.zero_init_head = zero_init_head

    def clone(self, n_way: int | None = None) -> FunctionalLearner:
        """A learner starting at the meta-parameters (a zero head with ``n_way`` outputs if so configured)."""
        params: Params = dict(self.model.named_parameters())
        if self.zero_init_head:
            params.update(zero_head(self.model, n_way or self.model.head.out_features))
        return FunctionalLearner(self.model, params, self.inner_lr, self.first_order)


@dataclass(frozen=True)
class MetaTrainConfig:
    """Hyperparameters of episodic meta-training (MAML, FOMAML, Reptile)."""

    n_way: int = 5
    k_shot: int = 1
    n_query: int = 5
    meta_batch: int = 8
    inner_steps: int = 5
    inner_lr: float = 0.4
    meta_lr: float = 1e-3
    n_iterations: int = 1000
    first_order: bool = False


def episode_tensors(episode: Episode) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Support and query of an episode as tensors (float inputs; int64 or float targets)."""
    return (
        torch.from_numpy(episode.support_x),
        torch.from_numpy(episode.support_y),
        torch.from_numpy(episode.query_x),
        torch.from_numpy(episode.query_y),
    )


def meta_train_maml(
    model: Backbone,
    family: TaskFamily,
    config: MetaTrainConfig,
    random_state: int = 0,
    callback: Callable[[int, float], None] | None = None,
) -> list[float]:
    """Meta-train ``model`` in place with (FO)MAML on meta-train episodes; returns the outer losses.

    ``callback(iteration, loss)`` is called after each outer step (progress bars, checkpoints).
    """
    rng = np.random.default_rng(random_state)
    torch.manual_seed(random_state)
    maml = MAML(model, config.inner_lr, config.first_order, zero_init_head=family.is_classification)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.meta_lr)
    losses = []
    for iteration in range(config.n_iterations):
        optimizer.zero_grad()
        total = 0.0
        for _ in range(config.meta_batch):
            sx, sy, qx, qy = episode_tensors(
                family.sample_episode("train", config.n_way, config.k_shot, config.n_query, rng)
            )
            learner = maml.clone(config.n_way)
            for _ in range(config.inner_steps):
                learner.adapt(task_loss(learner(sx), sy))
            outer = task_loss(learner(qx), qy) / config.meta_batch
            outer.backward()
            total += float(outer.detach())
        optimizer.step()
        losses.append(total)
        if callback is not None:
            callback(iteration, total)
    return losses


def head_names(params: Iterable[str]) -> list[str]:
    """Names of the head parameters."""
    return [n for n in params if n.startswith(HEAD_PREFIX)]
