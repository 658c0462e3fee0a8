"""Pick a backbone and adaptation recipe for a few-shot task from the recorded evidence (no torch)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from metalearn.exceptions import KnowledgeBaseError
from metalearn.neural._registry import BackboneRecord, BackboneRegistry, RecipeResult, load_registry

if TYPE_CHECKING:  # FewShotTask.recommend_backbone calls this module, so the task type is for annotations only
    from metalearn.neural._task import FewShotTask

__all__ = ["BackboneRecommendation", "best_result", "recommend_backbone"]

_MODALITY_OF_FAMILY = {"regression-1d": "regression-1d", "image": "image", "vector": "vector"}


@dataclass(frozen=True)
class BackboneRecommendation:
    """The chosen backbone and recipe, the evidence behind them, and the alternatives considered."""

    backbone: BackboneRecord
    recipe: dict[str, Any]
    evidence: RecipeResult
    task: dict[str, Any]
    distance: float
    alternatives: tuple[tuple[str, dict[str, Any], float, float], ...] = ()

    @property
    def expected_score(self) -> float:
        """Mean meta-test score of the evidence (accuracy or MSE)."""
        return self.evidence.mean

    @property
    def ci95(self) -> float:
        """Half-width of the evidence's 95% confidence interval."""
        return self.evidence.ci95

    def explain(self) -> str:
        """A few lines saying what was chosen and why.

        Examples
        --------
        >>> rec = recommend_backbone(task)  # doctest: +SKIP
        >>> print(rec.explain())  # doctest: +SKIP
        """
        ev = self.evidence
        t = self.task
        shape = "x".join(str(s) for s in t["input_shape"])
        task_txt = (
            f"{t['n_way']}-way {t['k_shot']}-shot {t['modality']} task ({shape})"
            if t["modality"] != "regression-1d"
            else f"1-d regression task with {t['k_shot']} support points"
        )
        setting = f"{ev.n_way}-way {ev.k_shot}-shot" if ev.n_way else f"K={ev.k_shot}"
        lines = [
            f"Task: {task_txt}.",
            f"Backbone {self.backbone.id!r}: {self.backbone.method} on {self.backbone.family} "
            f"({self.backbone.architecture.get('name')}, "
            f"trained on {self.backbone.training_episodes} episodes/batches).",
            f"Recipe {self.recipe}: meta-test {ev.metric} {ev.mean:.4g} +/- {ev.ci95:.2g} (95% CI, "
            f"{ev.n_episodes} episodes) in the closest recorded setting {setting}"
            + (" (exact match)." if self.distance == 0 else f" (setting distance {self.distance:.2f})."),
        ]
        if self.alternatives:
            alts = "; ".join(
                f"{bid} {rec.get('finetune')}: {m:.4g} +/- {c:.2g}" for bid, rec, m, c in self.alternatives[:4]
            )
            lines.append(f"Next best in that setting: {alts}.")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {
            "backbone_id": self.backbone.id,
            "family": self.backbone.family,
            "method": self.backbone.method,
            "checkpoint": self.backbone.checkpoint,
            "recipe": dict(self.recipe),
            "metric": self.evidence.metric,
            "expected_score": self.evidence.mean,
            "ci95": self.evidence.ci95,
            "evidence_setting": {"n_way": self.evidence.n_way, "k_shot": self.evidence.k_shot},
            "task": dict(self.task),
            "explanation": self.explain(),
        }


def _compatible(record: BackboneRecord, task: FewShotTask) -> bool:
    return record.modality == task.modality and tuple(record.input_shape) == tuple(task.input_shape or ())


def _setting_distance(result: RecipeResult, task: FewShotTask) -> float:
    way = abs(math.log(max(result.n_way, 1) / max(task.n_way or 1, 1))) if task.is_classification else 0.0
    return way + abs(math.log(max(result.k_shot, 1) / max(task.k_shot or 1, 1)))


def best_result(results: list[RecipeResult] | tuple[RecipeResult, ...], task: FewShotTask) -> RecipeResult:
    """The best recorded result in the setting (ways, shots) closest to ``task``.

    Examples
    --------
    >>> import numpy as np
    >>> from metalearn.neural import FewShotTask
    >>> r = [RecipeResult({"finetune": f}, "accuracy", 5, 1, m, 0.01, 600) for f, m in [("all", 0.9), ("head", 0.8)]]
    >>> best_result(r, FewShotTask(np.zeros((5, 1, 8, 8)), np.arange(5))).recipe
    {'finetune': 'all'}
    """
    if not results:
        raise KnowledgeBaseError("the backbone has no recorded results to choose a recipe from")
    closest = min(_setting_distance(r, task) for r in results)
    pool = [r for r in results if _setting_distance(r, task) == closest]
    sign = 1.0 if pool[0].higher_is_better else -1.0
    return min(pool, key=lambda r: (-sign * r.mean, r.ci95))


def recommend_backbone(task: FewShotTask, registry: BackboneRegistry | None = None) -> BackboneRecommendation:
    """Choose the backbone + recipe with the best recorded evidence for a task like ``task``.

    Compatible backbones share the task's modality and input shape. Among their
    recorded results, those in the setting (ways, shots) closest to the task are
    compared (log-ratio distance), and the best mean wins (highest accuracy,
    lowest MSE); ties go to the tighter confidence interval.

    Examples
    --------
    >>> import numpy as np
    >>> from metalearn.neural import FewShotTask
    >>> task = FewShotTask(np.zeros((20, 1, 28, 28), np.float32), np.arange(20))
    >>> rec = recommend_backbone(task)  # doctest: +SKIP
    >>> rec.recipe  # doctest: +SKIP
    {'adapt': 'transfer', 'finetune': 'centroid'}
    """
    registry = registry if registry is not None else load_registry(verify=False)
    candidates = [
        (record, result) for record in registry.records if _compatible(record, task) for result in record.results
    ]
    if not candidates:
        known = sorted({(r.modality, tuple(r.input_shape)) for r in registry.records})
        raise KnowledgeBaseError(
            f"no backbone for a {task.modality} task with input shape {task.input_shape}; "
            f"the registry has {known}. Resize images to a recorded shape or train a backbone for it"
        )
    best_distance = min(_setting_distance(res, task) for _, res in candidates)
    closest = [(rec, res) for rec, res in candidates if _setting_distance(res, task) == best_distance]
    sign = 1.0 if closest[0][1].higher_is_better else -1.0
    closest.sort(key=lambda pair: (-sign * pair[1].mean, pair[1].ci95))  # same order as best_result
    record, result = closest[0]
    alternatives = tuple((rec.id, dict(res.recipe), res.mean, res.ci95) for rec, res in closest[1:])
    return BackboneRecommendation(record, dict(result.recipe), result, task.describe(), best_distance, alternatives)
