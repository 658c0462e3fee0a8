"""The model-family object: everything about one family of pipelines in one place.

A :class:`ModelFamily` declares its hyperparameters (per task), its default
(the library's own defaults, through each hyperparameter's ``default``), the
function that builds its scikit-learn pipeline, its version and the optional
libraries it needs. Families are registered explicitly in
:mod:`metalearn.space.families`; the :class:`~metalearn.space.SearchSpace` of a
task is built from that registry.

"Family" in metalearn has three meanings, kept apart by name:

- a *model family* (this module): a kind of pipeline, e.g. ``lightgbm``;
- a *dataset family*: near-copies of one dataset, held out together
  (:func:`metalearn.kb.dataset_family`);
- a *task family*: a distribution of few-shot tasks (:mod:`metalearn.neural`).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

from metalearn.space._primitives import Hyperparameter
from metalearn.utils import import_optional

CLASSIFICATION = "classification"
REGRESSION = "regression"


@dataclass(frozen=True)
class Columns:
    """The feature columns a pipeline reads, split by how they are encoded.

    Free-text columns become TF-IDF features in every family (:mod:`metalearn.space._text`).
    """

    numeric: tuple[str, ...]
    categorical: tuple[str, ...]
    text: tuple[str, ...] = ()

    @classmethod
    def of(cls, dataset) -> Columns:
        """Columns of anything with ``feature_names`` and ``feature_types`` (a :class:`metalearn.Dataset`)."""
        names, types = dataset.feature_names, dataset.feature_types
        cats = tuple(n for n, t in zip(names, types) if t == "categorical")
        text = tuple(n for n, t in zip(names, types) if t == "text")
        nums = tuple(n for n, t in zip(names, types) if t not in ("categorical", "text"))
        return cls(nums, cats, text)


@dataclass(frozen=True)
class BuildContext:
    """What a family's ``build`` needs besides the configuration."""

    columns: Columns
    task: str
    random_state: int | None = 0
    need_proba: bool = False

    @property
    def classification(self) -> bool:
        """Whether the task is classification."""
        return self.task == CLASSIFICATION


@dataclass(frozen=True)
class ModelFamily:
    """Base of every model family (subclass it and override :meth:`hyperparameters` and :meth:`build`).

    Attributes
    ----------
    name : str
        The ``"family"`` value of its configurations.
    description : str
        One line for ``metalearn kb info`` and the docs.
    version : str
        Bump when a hyperparameter, range, default or the built pipeline
        changes: knowledge-base runs of this family are tied to it, runs of
        other families are not.
    fallback_rank : int
        Order of the family defaults tried when no knowledge base is
        available (lowest first).
    requires : tuple of str
        Modules the estimator needs beyond scikit-learn.
    extra : str or None
        The ``pip install 'metalearn[EXTRA]'`` that provides them.
    """

    name: str
    description: str
    version: str = "1.0"
    fallback_rank: int = 100
    requires: tuple[str, ...] = ()
    extra: str | None = None

    def hyperparameters(self, task: str) -> tuple[Hyperparameter, ...]:
        """The hyperparameters of this family for ``task``, in declaration order."""
        raise NotImplementedError

    def build(self, config: dict, context: BuildContext):
        """The unfitted scikit-learn ``Pipeline`` of a validated ``config``."""
        raise NotImplementedError

    def available(self) -> bool:
        """Whether every module in :attr:`requires` can be imported (checked without importing)."""
        return all(importlib.util.find_spec(module) is not None for module in self.requires)

    def require(self) -> None:
        """Import the required modules, or raise :class:`~metalearn.exceptions.OptionalDependencyError`."""
        for module in self.requires:
            import_optional(module, self.extra or module)
