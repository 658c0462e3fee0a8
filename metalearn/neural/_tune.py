"""Tune adaptation hyperparameters by cross-validation on the support set."""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from metalearn.engine import BayesianOptimizer, TrialResult
from metalearn.exceptions import InvalidParameterError
from metalearn.neural._adapt import adapt_model
from metalearn.neural._models import Backbone
from metalearn.neural._registry import BackboneRecord, load_backbone
from metalearn.neural._task import FewShotTask
from metalearn.space import Family, Float, Int, SearchSpace
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


def adaptation_search_space(classification: bool) -> SearchSpace:
    """The adaptation recipes as a conditional search space for the Bayesian optimizer.

    Families are what is fine-tuned (``centroid`` has no hyperparameters);
    ``head`` and ``all`` take a log-scaled inner learning rate and step count.

    Examples
    --------
    >>> adaptation_search_space(True).families
    ('centroid', 'head', 'all')
    """
    low, high, default = (0.01, 1.0, 0.1) if classification else (0.003, 0.3, 0.01)
    tuned = (Float("inner_lr", low, high, default, log=True), Int("steps", 1, 50, 10, log=True))
    families = (Family("head", tuned), Family("all", tuned))
    if classification:
        families = (Family("centroid", ()),) + families
    return SearchSpace("classification" if classification else "regression", families, version="adaptation-1")


def recipe_of(config: dict[str, Any]) -> dict[str, Any]:
    """Adaptation recipe of a configuration of :func:`adaptation_search_space`."""
    return {"finetune": config["family"], **{k: v for k, v in config.items() if k != "family"}}


def config_of(recipe: dict[str, Any], space: SearchSpace) -> dict[str, Any]:
    """Configuration of ``space`` closest to a recipe (values clipped into the ranges)."""
    family = recipe.get("finetune", "centroid")
    if family not in space.families:
        family = space.families[0]
    config: dict[str, Any] = {"family": family}
    for param in space.family(family).params:
        value = recipe.get(param.name, param.default)
        value = min(param.high, max(param.low, value))
        config[param.name] = int(round(value)) if isinstance(param, Int) else float(value)
    return space.validate(config)


def _bayesian_trials(model: Backbone, task: FewShotTask, folds: list[np.ndarray], n_trials: int,
                     initial: list[dict[str, Any]], rng: np.random.Generator) -> list[tuple[dict, float]]:
    """Ask/tell loop of :class:`metalearn.engine.BayesianOptimizer` over adaptation recipes."""
    space = adaptation_search_space(task.is_classification)
    optimizer = BayesianOptimizer(space, n_initial=min(3, n_trials), random_state=rng)
    optimizer.enqueue([config_of(r, space) for r in initial])
    sign = 1.0 if task.is_classification else -1.0
    trials = []
    for _ in range(n_trials):
        trial = optimizer.ask()
        recipe = recipe_of(trial.config)
        score = cv_score(model, task, recipe, folds)
        optimizer.tell(trial, TrialResult(sign * score))
        trials.append((recipe, score))
    return trials


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
    method: str = "bo",
) -> AdaptationTuning:
    """Tune the adaptation recipe, scored by leave-one-shot-out CV on the support set.

    ``method="bo"`` (default) runs metalearn's Bayesian optimizer over
    :func:`adaptation_search_space` (what to fine-tune, inner learning rate,
    steps), trying ``initial_recipes`` first; ``method="random"`` draws from
    the grid of :func:`adaptation_space`.

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
    if method not in ("bo", "random"):
        raise InvalidParameterError(f"method must be 'bo' or 'random', not {method!r}")
    model = load_backbone(backbone) if isinstance(backbone, BackboneRecord) else backbone
    if method == "bo":
        folds = _folds(task, rng)
        trials = tuple(_bayesian_trials(model, task, folds, n_trials, list(initial_recipes or []), rng))
        return _best(trials, task, len(folds))
    space = adaptation_space(task.is_classification)
    grid = [dict(zip(space, values)) for values in itertools.product(*space.values())]
    grid = [{"finetune": "centroid"} if g["finetune"] == "centroid" else g for g in grid]
    recipes = [dict(r) for r in (initial_recipes or [])]
    for i in rng.permutation(len(grid)):
        if grid[i] not in recipes:
            recipes.append(grid[i])
    folds = _folds(task, rng)
    trials = tuple((r, cv_score(model, task, r, folds)) for r in recipes[:n_trials])
    return _best(trials, task, len(folds))


def _best(trials: tuple, task: FewShotTask, n_folds: int) -> AdaptationTuning:
    sign = 1.0 if task.is_classification else -1.0
    best, score = max(trials, key=lambda t: sign * t[1])
    logger.info("tuned adaptation over %d recipes: best %s (%.4g)", len(trials), best, score)
    return AdaptationTuning(best, score, "accuracy" if task.is_classification else "mse", trials, n_folds)
