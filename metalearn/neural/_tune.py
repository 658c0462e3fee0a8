"""Tune adaptation hyperparameters by cross-validation on the support set."""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from metalearn.exceptions import InvalidParameterError
from metalearn.neural._adapt import adapt_model
from metalearn.neural._models import Backbone
from metalearn.neural._registry import BackboneRecord, load_backbone
from metalearn.neural._task import FewShotTask
from metalearn.utils import check_random_state

logger = logging.getLogger(__name__)

__all__ = ["AdaptationTuning", "adaptation_space", "cv_score", "tune_adaptation"]


@dataclass(frozen=True)
class AdaptationTuning:
    """Result of :func:`tune_adaptation`: the best recipe, its CV score and every trial."""

    recipe: dict[str, Any]
    score: float
    metric: str
    trials: tuple[tuple[dict[str, Any], float], ...]
    folds: int


def adaptation_space(classification: bool) -> dict[str, list[Any]]:
    """The grid the search draws recipes from.

    Examples
    --------
    >>> sorted(adaptation_space(True))
    ['finetune', 'inner_lr', 'steps']
    """
    return {
        "finetune": ["centroid", "head", "all"] if classification else ["head", "all"],
        "inner_lr": [0.003, 0.01, 0.03, 0.1, 0.3] if not classification else [0.01, 0.03, 0.1, 0.3, 1.0],
        "steps": [1, 5, 10, 25, 50],
    }


def _folds(task: FewShotTask, rng: np.random.Generator) -> list[np.ndarray]:
    """Held-out index sets: one shot of every class per fold (classification) or 5 random folds."""
    y = task.support_y
    if task.is_classification:
        positions = [rng.permutation(np.flatnonzero(y == c)) for c in range(task.n_way or 0)]
        return [np.asarray([pos[i] for pos in positions]) for i in range(task.k_shot or 0)]
    order = rng.permutation(len(y))
    return [f for f in np.array_split(order, min(5, len(y))) if len(f)]


def cv_score(model: Backbone, task: FewShotTask, recipe: dict[str, Any], folds: list[np.ndarray]) -> float:
    """Mean held-out accuracy (or MSE) of ``recipe`` over ``folds`` of the support set."""
    x, y = task.support_x, task.support_y
    scores = []
    for held in folds:
        train = np.setdiff1d(np.arange(len(y)), held)
        tx = torch.from_numpy(x[train])
        ty = torch.from_numpy(y[train])
        pred = adapt_model(model, tx, ty, recipe).predict(x[held])
        scores.append(np.mean(pred == y[held]) if task.is_classification else np.mean((pred - y[held]) ** 2))
    return float(np.mean(scores))


def tune_adaptation(
    backbone: BackboneRecord | Backbone,
    task: FewShotTask,
    n_trials: int = 12,
    random_state: int | np.random.Generator | None = 0,
    initial_recipes: list[dict[str, Any]] | None = None,
) -> AdaptationTuning:
    """Random search over adaptation recipes, scored by leave-one-shot-out CV on the support set.

    Each fold holds out one example of every class (needs ``k_shot >= 2``);
    regression uses 5-fold CV over the support points. ``initial_recipes``
    (e.g. the recommended recipe) are evaluated first.

    Examples
    --------
    >>> import numpy as np
    >>> from metalearn.neural._models import build_model, mlp_architecture
    >>> x = np.linspace(-5, 5, 10, dtype=np.float32)[:, None]
    >>> task = FewShotTask(x, np.sin(x[:, 0]))
    >>> tune_adaptation(build_model(mlp_architecture()), task, n_trials=2).metric
    'mse'
    """
    if task.is_classification and (task.k_shot or 0) < 2:
        raise InvalidParameterError(
            "cross-validating on the support set needs at least 2 shots per class; for 1-shot tasks use the "
            "recipe recorded by recommend_backbone()"
        )
    rng = check_random_state(random_state)
    torch.manual_seed(int(rng.integers(2**31)))
    model = load_backbone(backbone) if isinstance(backbone, BackboneRecord) else backbone
    space = adaptation_space(task.is_classification)
    grid = [dict(zip(space, values)) for values in itertools.product(*space.values())]
    grid = [{"finetune": "centroid"} if g["finetune"] == "centroid" else g for g in grid]
    recipes = [dict(r) for r in (initial_recipes or [])]
    for i in rng.permutation(len(grid)):
        if grid[i] not in recipes:
            recipes.append(grid[i])
    folds = _folds(task, rng)
    trials = tuple((r, cv_score(model, task, r, folds)) for r in recipes[:n_trials])
    sign = 1.0 if task.is_classification else -1.0
    best, score = max(trials, key=lambda t: sign * t[1])
    logger.info("tuned adaptation over %d recipes: best %s (%.4g)", len(trials), best, score)
    return AdaptationTuning(best, score, "accuracy" if task.is_classification else "mse", trials, len(folds))
