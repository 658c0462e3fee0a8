"""What the builder evaluates: dataset specs, families of near-copies, the reserved list, the pool."""

from __future__ import annotations

import csv
import re
import zlib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from metalearn.data import pmlb_manifest
from metalearn.exceptions import DatasetNotFoundError
from metalearn.space import LEGACY_FAMILIES, get_space
from metalearn.utils import check_random_state

#: Names under which the *same* data (same rows and target) appears in PMLB, OpenML and LCDB:
#: the reserved list matches through them, so a reserved dataset cannot enter a KB under an alias.
SAME_DATA: tuple[tuple[str, str], ...] = (
    (r"^(cmc|contraceptive)$", "cmc"),
    (r"^(australian|crx|credit_a|buggycrx|credit_approval)$", "credit_approval"),
    (r"^(autoprice|auto_price)$", "auto_price"),
    (r"^(satimage|sat|satellite_image)$", "satimage"),
    (r"^(krkopt|kropt)$", "krkopt"),
    (r"^(connect_4|connect4)$", "connect_4"),
    (r"^(diabetes|pima|pima_indians_diabetes)$", "diabetes"),
    (r"^(mushroom|agaricus_lepiota)$", "mushroom"),
    (r"^(german|credit_g|statlog_german_credit)$", "credit_g"),
    (r"^(bupa|liver_disorders?)$", "liver_disorders"),
    (r"^(house_votes_84|vote)$", "vote"),
    (r"^(splice|dna)$", "splice"),
    (r"^(chess|kr_vs_kp)$", "kr_vs_kp"),
    (r"^(cars|cars1)$", "cars"),
)

#: Near-copy families among PMLB/OpenML datasets: held out together in leave-one-family-out evaluation.
#: Same-data aliases (:data:`SAME_DATA`) are families too.
FAMILY_PATTERNS: tuple[tuple[str, str], ...] = SAME_DATA + (
    (r"^fri_c\d", "friedman"),
    (r"^gametes", "gametes"),
    (r"^analcatdata", "analcatdata"),
    (r"^mfeat", "mfeat"),
    (r"bng", "bng"),
    (r"^(prnn_fglass|glass\d*)$", "glass"),
    (r"^wine_quality", "wine_quality"),
    (r"^(breast|wdbc|wpbc)", "breast"),
    (r"^(all(bp|hyper|hypo|rep)|hypothyroid|sick|thyroid|new_thyroid|ann_thyroid|dis)$", "thyroid"),
    (r"^(monk\d?|monks?_.*)$", "monk"),
    (r"^(led\d+|led24|led7)$", "led"),
    (r"^(heart_.*|hungarian|cleveland.*|statlog_heart|heart)$", "heart"),
    (r"^(colic|horse_colic)$", "colic"),
    (r"^(mux\d+|parity\d+(\+\d+)?)$", "boolean_synthetic"),
    (r"^(house_\d+\w*|houses?)$", "house"),
    (r"^(cpu_act|cpu_small|cpu)$", "cpu"),
    (r"^(puma\d+\w*)$", "puma"),
    (r"^(kin8nm|kin.*)$", "kin"),
    (r"^(pol|2dplanes|mv)$", "delve_synthetic"),
    (r"^(tic_tac_toe|tictactoe)$", "tic_tac_toe"),
    (r"^(car|car_evaluation)$", "car"),
    (r"^(vowel|vowel_.*)$", "vowel"),
    (r"^(waveform_\d+|waveform)$", "waveform"),
    (r"^(ring|twonorm)$", "delve_gaussian"),
    (r"^(letter|letter_.*)$", "letter"),
    (r"^hill_valley", "hill_valley"),
    (r"^solar_flare", "solar_flare"),
    (r"^(spect|spectf)$", "spect"),
    (r"^(auto|automobile|autos)$", "auto_price"),
    (r"^uci_kegg", "kegg"),
    (r"^uci_wine$", "wine_quality"),
    (r"^uci_solar$", "solar_flare"),
)


#: Dataset families whose data come from a generator, not from measurements (Friedman functions, GAMETES
#: epistasis models, Bayesian-network samples (BNG), boolean functions, DELVE and LED/waveform generators,
#: the MONK's problems).
SYNTHETIC_FAMILIES = frozenset({"friedman", "gametes", "bng", "boolean_synthetic", "delve_synthetic",
                                "delve_gaussian", "led", "waveform", "monk"})


def is_synthetic(name: str) -> bool:
    """Whether a dataset's values were generated rather than measured (its family is in :data:`SYNTHETIC_FAMILIES`).

    Examples
    --------
    >>> from metalearn.kb import is_synthetic
    >>> is_synthetic("fri_c0_100_5"), is_synthetic("uci_housing")
    (True, False)
    """
    return dataset_family(name) in SYNTHETIC_FAMILIES


def _base_name(name: str) -> str:
    """Normalised name without a leading OpenML id (``1027_ESL`` -> ``esl``)."""
    return re.sub(r"^\d+_", "", normalise_name(name))


def canonical_name(name: str) -> str:
    """The name the same data goes by in every source (:data:`SAME_DATA`), else the base name."""
    base = _base_name(name)
    for pattern, canonical in SAME_DATA:
        if re.search(pattern, base):
            return canonical
    return base


def normalise_name(name: str) -> str:
    """Lower-case, ``-`` as ``_``: the form names are compared in."""
    return name.strip().lower().replace("-", "_")


def dataset_family(name: str) -> str:
    """Family of near-copies a dataset belongs to (its own base name when none applies).

    A leading OpenML id (``1027_ESL``) is ignored.
    """
    base = _base_name(name)
    for pattern, family in FAMILY_PATTERNS:
        if re.search(pattern, base):
            return family
    return base


@dataclass(frozen=True)
class ReservedList:
    """Datasets reserved for independent evaluation: never in any KB."""

    names: frozenset[str]
    openml_ids: frozenset[int]
    path: str = ""

    @classmethod
    def read(cls, path: str | Path | None) -> ReservedList:
        """Read ``reserved.csv`` (columns ``name``, ``openml_id``); an absent path gives an empty list."""
        if path is None or not Path(path).exists():
            return cls(frozenset(), frozenset(), "")
        names, ids = set(), set()
        with open(path, newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                if row.get("name"):
                    names.add(normalise_name(row["name"]))
                if (row.get("openml_id") or "").strip().isdigit():
                    ids.add(int(row["openml_id"]))
        return cls(frozenset(names), frozenset(ids), str(path))

    def excludes(self, name: str, openml_id: int | None = None) -> bool:
        """Whether a dataset is reserved: by OpenML id, or by name up to a leading OpenML id and the
        aliases of :data:`SAME_DATA` (``contraceptive`` is reserved ``cmc``, ``puma8NH`` is ``225_puma8NH``)."""
        return canonical_name(name) in self._canonical or (openml_id is not None and openml_id in self.openml_ids)

    @cached_property
    def _canonical(self) -> frozenset[str]:
        """The reserved names in :func:`canonical_name` form (computed once per list)."""
        return frozenset(canonical_name(n) for n in self.names)


@dataclass(frozen=True)
class DatasetSpec:
    """A dataset to evaluate: how to load it and what is known without loading it."""

    name: str
    uri: str
    task: str
    openml_id: int | None = None
    n_rows: int | None = None
    n_features: int | None = None
    n_classes: int | None = None

    @property
    def family(self) -> str:
        """Family of near-copies (see :func:`dataset_family`)."""
        return dataset_family(self.name)


def pmlb_specs(root: str | Path, names: list[str] | None = None) -> list[DatasetSpec]:
    """Specs of the datasets in a PMLB-layout directory (from its manifest; nothing loaded)."""
    manifest = pmlb_manifest(root)
    chosen = names if names is not None else list(manifest.index)
    unknown = [n for n in chosen if n not in manifest.index]
    if unknown:
        raise DatasetNotFoundError(f"not in {Path(root) / 'manifest.csv'}: {', '.join(unknown)}")
    specs = []
    for name in chosen:
        row = manifest.loc[name]
        head = name.split("_", 1)[0]
        n_classes = row.get("n_classes")
        specs.append(DatasetSpec(
            name=name, uri=f"pmlb-dir:{Path(root) / name}", task=str(row["task"]),
            openml_id=int(head) if head.isdigit() else None, n_rows=int(row["n_rows"]),
            n_features=int(row["n_features"]),
            n_classes=int(n_classes) if n_classes == n_classes and n_classes is not None else None,
        ))
    return specs


#: Configurations per task of the first knowledge base's pool, drawn round-robin over :data:`LEGACY_FAMILIES`.
LEGACY_POOL_SIZE = 100
#: Configurations (default included) of each model family added since, in the dense pool.
PER_NEW_FAMILY = 35


def candidate_pool(task: str, size: int = LEGACY_POOL_SIZE, random_state: int = 0, *,
                   per_family: int = PER_NEW_FAMILY) -> list[dict]:
    """The configurations evaluated densely on every dataset.

    The first ``size`` are the first knowledge base's pool, reproduced
    exactly: each legacy family's default, then seeded samples round-robin
    over :data:`~metalearn.space.LEGACY_FAMILIES`. Each model family added
    since contributes its default and ``per_family - 1`` samples from a
    stream of its own, so adding a family never changes another's configs.
    Duplicates are skipped.
    """
    space = get_space(task)
    pool = _round_robin(space, LEGACY_FAMILIES, size, check_random_state(random_state))
    for family in space.families:
        if family not in LEGACY_FAMILIES and per_family > 0:
            seed = zlib.crc32(f"{family}|{random_state}".encode())
            pool += _round_robin(space, (family,), per_family, check_random_state(seed))
    return pool


def _round_robin(space, families: tuple[str, ...], size: int, rng) -> list[dict]:
    """Defaults of ``families``, then samples round-robin over them, ``size`` distinct configs at most."""
    pool = [space.default(f) for f in families]
    seen = {space.config_id(c) for c in pool}
    i = 0
    while len(pool) < size and i <= 100 * size:
        config = space.sample(rng, family=families[i % len(families)])
        i += 1
        key = space.config_id(config)
        if key not in seen:
            seen.add(key)
            pool.append(config)
    return pool[:size]


def chunked(items: list, size: int) -> list[list]:
    """Split a list into consecutive chunks of at most ``size``."""
    return [items[i:i + size] for i in range(0, len(items), size)]


def size_order(specs: list[DatasetSpec]) -> list[DatasetSpec]:
    """Specs sorted by rows x features (cheap datasets first, so a partial build covers many)."""
    return sorted(specs, key=lambda s: (min(s.n_rows or 0, 10**6) * max(s.n_features or 1, 1), s.name))


__all__ = [
    "DatasetSpec",
    "LEGACY_POOL_SIZE",
    "PER_NEW_FAMILY",
    "ReservedList",
    "SAME_DATA",
    "candidate_pool",
    "canonical_name",
    "chunked",
    "dataset_family",
    "is_synthetic",
    "normalise_name",
    "pmlb_specs",
    "size_order",
]
