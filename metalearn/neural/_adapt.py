"""Adapt a backbone to a support set with a *recipe*, and score recipes on episodes.

A recipe is a plain dict:

``{"finetune": "centroid"}``
    nearest class centroid in feature space (classification only);
``{"finetune": "head", "inner_lr": 0.1, "steps": 50}``
    a new head (initialised at the class centroids, so step 0 equals
    ``"centroid"``) trained by full-batch SGD, features frozen;
``{"finetune": "all", "inner_lr": 0.4, "steps": 10}``
    every parameter trained by full-batch SGD from the backbone, with a zero
    head for classification (exactly the MAML / Reptile test-time adaptation).

An optional ``"adapt"`` key names where the recipe comes from (``"maml"``,
``"transfer"``, ...) and is ignored here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import torch
from torch.func import functional_call
from torch.nn import functional as F

from metalearn.exceptions import InvalidParameterError
from metalearn.neural._episodes import Episode, mean_ci95
from metalearn.neural._maml import FunctionalLearner, task_loss, zero_head
from metalearn.neural._models import HEAD_PREFIX, Backbone
from metalearn.neural._recommend import best_result
from metalearn.neural._registry import BackboneRecord, load_backbone
from metalearn.neural._task import FewShotTask

__all__ = ["FINETUNE_MODES", "FewShotModel", "adapt", "adapt_model", "default_recipe", "score_recipe"]

FINETUNE_MODES = ("centroid", "head", "all")
Params = dict[str, torch.Tensor]


class FewShotModel:
    """A backbone adapted to one support set; ``predict`` / ``predict_proba`` take numpy arrays.

    Predict a whole query set in one call: Conv-4 normalises with the batch's statistics.
    """

    def __init__(
        self, model: Backbone, params: Params, classification: bool, recipe: dict[str, Any], prototypes=None
    ) -> None:
        self.model = model
        self.params = params
        self.classification = classification
        self.recipe = dict(recipe)
        self.prototypes = prototypes

    @torch.no_grad()
    def _output(self, x: np.ndarray) -> torch.Tensor:
        xt = torch.as_tensor(np.asarray(x, dtype=np.float32))
        if self.prototypes is not None:
            return -torch.cdist(_embed(self.model, self.params, xt), self.prototypes).pow(2)
        return functional_call(self.model, self.params, (xt,))

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Class labels (classification) or predicted values (regression)."""
        out = self._output(x)
        return out.argmax(1).numpy() if self.classification else out.squeeze(-1).numpy()

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities, shape ``(n, n_way)``."""
        if not self.classification:
            raise InvalidParameterError("predict_proba is only defined for classification tasks")
        return torch.softmax(self._output(x), dim=1).numpy()


def _embed(model: Backbone, params: Params, x: torch.Tensor) -> torch.Tensor:
    features = {k[len("features.") :]: v for k, v in params.items() if k.startswith("features.")}
    return functional_call(model.features, features, (x,)).flatten(1)


def default_recipe(classification: bool) -> dict[str, Any]:
    """The recipe used when none is given or recorded.

    Examples
    --------
    >>> default_recipe(True)
    {'finetune': 'centroid'}
    """
    if classification:
        return {"finetune": "centroid"}
    return {"finetune": "all", "inner_lr": 0.01, "steps": 10}


def _centroids(features: torch.Tensor, y: torch.Tensor, n_way: int) -> torch.Tensor:
    return torch.stack([features[y == c].mean(0) for c in range(n_way)])


def _finetune_head(feats: torch.Tensor, y: torch.Tensor, head: Params, lr: float, steps: int) -> Params:
    w, b = (
        head["head.weight"].detach().clone().requires_grad_(True),
        head["head.bias"].detach().clone().requires_grad_(True),
    )
    for _ in range(steps):
        out = F.linear(feats, w, b)
        grads = torch.autograd.grad(task_loss(out, y), [w, b])
        w = (w - lr * grads[0]).detach().requires_grad_(True)
        b = (b - lr * grads[1]).detach().requires_grad_(True)
    return {"head.weight": w.detach(), "head.bias": b.detach()}


def adapt_model(
    model: Backbone, support_x: torch.Tensor, support_y: torch.Tensor, recipe: dict[str, Any]
) -> FewShotModel:
    """Apply ``recipe`` to ``model`` on a support set given as tensors (see the module docstring)."""
    mode = recipe.get("finetune", "centroid")
    if mode not in FINETUNE_MODES:
        raise InvalidParameterError(f"recipe finetune must be one of {FINETUNE_MODES}, not {mode!r}")
    classification = support_y.dtype == torch.int64
    lr, steps = float(recipe.get("inner_lr", 0.1)), int(recipe.get("steps", 0))
    base: Params = {n: p.detach() for n, p in model.named_parameters()}
    if classification:
        n_way = int(support_y.max()) + 1
        with torch.no_grad():
            protos = _centroids(_embed(model, base, support_x), support_y, n_way)
        if mode == "centroid":
            return FewShotModel(model, base, True, recipe, prototypes=protos)
        if mode == "head":
            head = {"head.weight": 2 * protos, "head.bias": -(protos**2).sum(1)}
        else:
            head = zero_head(model, n_way)
        base = {**base, **head}
    elif mode == "centroid":
        raise InvalidParameterError("finetune='centroid' needs a classification support set (integer labels)")
    if mode == "head":
        with torch.no_grad():
            feats = _embed(model, base, support_x)
        return FewShotModel(
            model, {**base, **_finetune_head(feats, support_y, base, lr, steps)}, classification, recipe
        )
    learner = FunctionalLearner(model, {n: p.detach().requires_grad_(True) for n, p in base.items()}, lr, True)
    for _ in range(steps):
        learner.adapt(task_loss(learner(support_x), support_y))
    return FewShotModel(model, {n: p.detach() for n, p in learner.params.items()}, classification, recipe)


def adapt(
    backbone: BackboneRecord | Backbone,
    support_x: np.ndarray,
    support_y: np.ndarray,
    recipe: dict[str, Any] | None = None,
    random_state: int = 0,
) -> FewShotModel:
    """Fine-tune a backbone (or a registry record, loaded and checksum-verified) on a support set.

    Parameters
    ----------
    backbone : BackboneRecord or Backbone
        The starting point.
    support_x, support_y : numpy.ndarray
        Support inputs and labels. With a record, its modality says whether this is
        classification (labels ``0..n_way-1``); with a bare model, integer labels do.
    recipe : dict or None
        See the module docstring; default: the record's best measured recipe in
        the setting closest to the support set, else :func:`default_recipe`.
    random_state : int
        Seeds torch (the recipes are deterministic given the seed).

    Examples
    --------
    >>> import numpy as np
    >>> from metalearn.neural._models import build_model, mlp_architecture
    >>> x = np.linspace(-5, 5, 10, dtype=np.float32)[:, None]
    >>> fitted = adapt(build_model(mlp_architecture()), x, np.sin(x[:, 0]))
    >>> fitted.predict(x).shape
    (10,)
    """
    torch.manual_seed(random_state)
    sy = np.asarray(support_y)
    classification = np.issubdtype(sy.dtype, np.integer)
    if isinstance(backbone, BackboneRecord):
        classification = backbone.modality != "regression-1d"
        if recipe is None and backbone.results:
            task = FewShotTask(support_x, sy, modality=backbone.modality)
            recipe = dict(best_result(backbone.results, task).recipe)
        model = load_backbone(backbone)
    else:
        model = backbone
    recipe = recipe if recipe is not None else default_recipe(classification)
    sx_t = torch.as_tensor(np.asarray(support_x, dtype=np.float32))
    sy_t = torch.as_tensor(sy.astype(np.int64) if classification else sy.astype(np.float32))
    return adapt_model(model, sx_t, sy_t, recipe)


def score_recipe(
    model: Backbone, episodes: Iterable[Episode], recipe: dict[str, Any]
) -> tuple[float, float, np.ndarray]:
    """Mean, 95% CI half-width and per-episode scores (accuracy or MSE) of a recipe over episodes."""
    scores = []
    for ep in episodes:
        sx, sy = torch.from_numpy(ep.support_x), torch.from_numpy(ep.support_y)
        fitted = adapt_model(model, sx, sy, recipe)
        pred = fitted.predict(ep.query_x)
        if fitted.classification:
            scores.append(float(np.mean(pred == ep.query_y)))
        else:
            scores.append(float(np.mean((pred - ep.query_y) ** 2)))
    arr = np.asarray(scores)
    mean, ci = mean_ci95(arr)
    return mean, ci, arr


def head_parameter_names(model: Backbone) -> list[str]:
    """Names of the head parameters of ``model``."""
    return [n for n, _ in model.named_parameters() if n.startswith(HEAD_PREFIX)]
