"""The conditional pipeline search space: sampling, validation, vector encoding."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from metalearn.exceptions import InvalidConfigError, InvalidParameterError
from metalearn.space._family import BuildContext, Columns, ModelFamily
from metalearn.space._primitives import Categorical, Float, Hyperparameter, Int

#: Version of the space's layout (which families, in which order): encodings and fitted recommenders
#: are tied to it. Knowledge-base runs are tied to their own family's version instead
#: (:attr:`ModelFamily.version`), so adding a family leaves every stored run valid.
SPACE_VERSION = "2.0"

INACTIVE = -1.0


@dataclass(frozen=True)
class Family:
    """A model family as one task sees it: its name, hyperparameters (preprocessing and model) and version.

    ``model`` is the :class:`ModelFamily` that builds its pipelines (None for
    a space described by hand, which can encode but not build).
    """

    name: str
    params: tuple[Hyperparameter, ...]
    description: str = ""
    version: str = "1.0"
    model: ModelFamily | None = None

    @classmethod
    def of(cls, model: ModelFamily, task: str) -> Family:
        """The view of ``model`` for ``task``."""
        return cls(model.name, model.hyperparameters(task), model.description, model.version, model)

    @property
    def available(self) -> bool:
        """Whether the libraries its pipelines need are installed."""
        return self.model is None or self.model.available()

    def active(self, config: dict) -> list[Hyperparameter]:
        """Hyperparameters whose conditions hold in ``config`` (in declaration order)."""
        return [p for p in self.params if all(c.holds(config) for c in p.conditions)]


class SearchSpace:
    """All pipeline families for one task, with a numeric encoding.

    A configuration is a plain JSON-serialisable dict: ``{"family": NAME,
    PARAM: VALUE, ...}`` holding exactly the active hyperparameters of that
    family. The encoding is a fixed-length vector: a one-hot of the family,
    then for every family its hyperparameters mapped to ``[0, 1]`` (one-hot
    for categoricals), ``-1`` where inactive.

    Parameters
    ----------
    task : {"classification", "regression"}
    families : sequence of Family

    Examples
    --------
    >>> from metalearn.space import get_space
    >>> space = get_space("classification")
    >>> cfg = space.default("random_forest")
    >>> space.decode(space.encode(cfg)) == cfg
    True
    """

    def __init__(self, task: str, families: tuple[Family, ...], version: str = SPACE_VERSION) -> None:
        self.task = task
        self.version = version
        self._families = {f.name: f for f in families}
        self._offsets: dict[tuple[str, str], int] = {}
        pos = len(families)
        for fam in families:
            for p in fam.params:
                self._offsets[(fam.name, p.name)] = pos
                pos += p.width
        self.dimension = pos
        self._available: tuple[str, ...] | None = None

    @property
    def families(self) -> tuple[str, ...]:
        """Family names in declaration order."""
        return tuple(self._families)

    @property
    def available_families(self) -> tuple[str, ...]:
        """Families whose libraries are installed (the ones :meth:`sample` draws from).

        Checked on first use and kept for the life of this space: :meth:`sample`
        runs thousands of times per ask, and each check searches the import path.
        A library installed later is seen by a new space (:func:`get_space`).
        """
        if self._available is None:
            self._available = tuple(name for name, fam in self._families.items() if fam.available)
        return self._available

    def family_versions(self) -> dict[str, str]:
        """``{family: version}``: what a knowledge-base run of each family is tied to."""
        return {name: fam.version for name, fam in self._families.items()}

    def family(self, name: str) -> Family:
        """The :class:`Family` called ``name``."""
        if name not in self._families:
            raise InvalidConfigError(f"unknown family {name!r} for {self.task}; choose from {list(self._families)}")
        return self._families[name]

    def default(self, family: str) -> dict:
        """The default configuration of ``family``."""
        fam = self.family(family)
        config: dict[str, Any] = {"family": family}
        for p in fam.params:
            if all(c.holds(config) for c in p.conditions):
                config[p.name] = p.default
        return config

    def defaults(self) -> list[dict]:
        """The default configuration of every family."""
        return [self.default(f) for f in self.families]

    def sample(self, rng: np.random.Generator, family: str | None = None) -> dict:
        """Draw a random configuration (of ``family`` if given, else of an available family)."""
        if family is None:
            names = self.available_families
            family = names[int(rng.integers(len(names)))]
        fam = self.family(family)
        config: dict[str, Any] = {"family": family}
        for p in fam.params:
            if all(c.holds(config) for c in p.conditions):
                config[p.name] = p.sample(rng)
        return config

    def validate(self, config: dict) -> dict:
        """Return ``config`` if it belongs to the space, else raise :class:`InvalidConfigError`."""
        if not isinstance(config, dict) or "family" not in config:
            raise InvalidConfigError(f"a configuration is a dict with a 'family' key; got {config!r}")
        fam = self.family(config["family"])
        active = fam.active(config)
        names = {p.name for p in active}
        extra = set(config) - names - {"family"}
        if extra:
            raise InvalidConfigError(f"{fam.name}: unknown or inactive hyperparameters {sorted(extra)}")
        for p in active:
            if p.name not in config:
                raise InvalidConfigError(f"{fam.name}: missing hyperparameter {p.name!r}")
            p.check(config[p.name])
        return config

    def encode(self, config: dict) -> np.ndarray:
        """Map a configuration to its fixed-length vector."""
        self.validate(config)
        vec = np.full(self.dimension, INACTIVE)
        vec[: len(self._families)] = 0.0
        vec[self.families.index(config["family"])] = 1.0
        for p in self.family(config["family"]).active(config):
            start = self._offsets[(config["family"], p.name)]
            vec[start:start + p.width] = p.to_unit(config[p.name])
        return vec

    def encode_many(self, configs: list[dict]) -> np.ndarray:
        """Encode a list of configurations into a 2-D array."""
        return np.vstack([self.encode(c) for c in configs]) if configs else np.empty((0, self.dimension))

    def decode(self, vector: np.ndarray) -> dict:
        """Map a vector (e.g. one perturbed by an optimizer) back to a valid configuration."""
        vector = np.asarray(vector, dtype=float)
        if vector.shape != (self.dimension,):
            raise InvalidParameterError(f"expected a vector of length {self.dimension}, got shape {vector.shape}")
        family = self.families[int(np.argmax(vector[: len(self._families)]))]
        config: dict[str, Any] = {"family": family}
        for p in self.family(family).params:
            if all(c.holds(config) for c in p.conditions):
                start = self._offsets[(family, p.name)]
                u = vector[start:start + p.width]
                config[p.name] = p.default if np.all(u == INACTIVE) else p.from_unit(u)
        return config

    def neighbor(self, config: dict, rng: np.random.Generator, scale: float = 0.15) -> dict:
        """A random neighbour of ``config`` in the same family (for local search).

        One to two hyperparameters change: numeric ones by a Gaussian step of
        ``scale`` in unit space, categoricals to another choice.
        """
        fam = self.family(config["family"])
        new = dict(config)
        active = fam.active(config)
        if not active:
            return new
        for idx in rng.choice(len(active), size=min(len(active), int(rng.integers(1, 3))), replace=False):
            p = active[int(idx)]
            if isinstance(p, Categorical):
                others = [c for c in p.choices if c != new[p.name]]
                if others:
                    new[p.name] = others[int(rng.integers(len(others)))]
            else:
                u = p.to_unit(new[p.name]) + rng.normal(0.0, scale)
                new[p.name] = p.from_unit(np.clip(u, 0.0, 1.0))
        # re-activate/deactivate conditional children consistently
        out: dict[str, Any] = {"family": fam.name}
        for p in fam.params:
            if all(c.holds(out) for c in p.conditions):
                out[p.name] = new.get(p.name, p.default)
        return out

    def config_id(self, config: dict) -> str:
        """A stable key for a configuration (canonical JSON with rounded floats)."""
        self.validate(config)
        return canonical_json(config)

    def to_pipeline(self, config: dict, dataset, *, random_state: int | None = 0, need_proba: bool = False):
        """An unfitted scikit-learn ``Pipeline`` for ``config`` on ``dataset``'s columns.

        Parameters
        ----------
        config : dict
            A configuration of this space (validated here).
        dataset : Dataset
            Supplies the column names and feature types the pipeline reads.
        random_state : int or None
            Seed for every random component.
        need_proba : bool
            Make SVMs compute calibrated probabilities (slower), for
            probability metrics.

        Examples
        --------
        >>> import metalearn
        >>> from metalearn.space import get_space
        >>> ds = metalearn.load_dataset("sklearn:wine")
        >>> pipe = get_space(ds.task).to_pipeline(get_space(ds.task).default("svm"), ds)
        >>> round(pipe.fit(ds.X, ds.y).score(ds.X, ds.y), 2) > 0.9
        True
        """
        self.validate(config)
        if getattr(dataset, "task", self.task) != self.task:
            raise InvalidConfigError(f"this space is for {self.task}; the dataset is {dataset.task}")
        model = self.family(config["family"]).model
        if model is None:
            raise InvalidConfigError(f"family {config['family']!r} of this space has no pipeline builder")
        context = BuildContext(Columns.of(dataset), self.task, random_state, need_proba)
        return model.build(config, context)

    def describe(self) -> list[dict]:
        """One row per hyperparameter: family, name, kind, range/choices, default, condition."""
        rows = []
        for fam in self._families.values():
            for p in fam.params:
                kind = "categorical" if isinstance(p, Categorical) else ("int" if isinstance(p, Int) else "float")
                span = list(p.choices) if isinstance(p, Categorical) else [p.low, p.high]
                rows.append({
                    "family": fam.name, "name": p.name, "kind": kind, "range": span,
                    "log": bool(getattr(p, "log", False)), "default": p.default,
                    "condition": "; ".join(f"{c.parent} in {list(c.values)}" for c in p.conditions),
                })
        return rows

    def __repr__(self) -> str:
        return f"SearchSpace(task={self.task!r}, families={list(self.families)}, version={self.version!r})"


def canonical_json(config: dict) -> str:
    """Canonical JSON text of a config: sorted keys, floats rounded to 10 significant digits."""
    def norm(v: Any) -> Any:
        if isinstance(v, float):
            return float(f"{v:.10g}")
        if isinstance(v, (np.integer,)):
            return int(v)
        return v

    return json.dumps({k: norm(v) for k, v in config.items()}, sort_keys=True)


__all__ = ["Family", "Float", "Int", "Categorical", "SearchSpace", "SPACE_VERSION", "canonical_json"]
