"""Backbone records and the registry file ``metalearn/kb_data/backbones/registry.json``.

Reading and matching records needs no torch; only :func:`load_backbone` and
:func:`save_checkpoint` import it. Checkpoints are verified against their
recorded sha256 before they are unpickled, and always loaded with
``torch.load(..., weights_only=True)``.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import logging
import os
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from metalearn.exceptions import KnowledgeBaseError, KnowledgeBaseIntegrityError, KnowledgeBaseVersionError
from metalearn.utils import import_optional

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1
REGISTRY_FILE = "registry.json"

__all__ = [
    "SCHEMA_VERSION",
    "BackboneRecord",
    "BackboneRegistry",
    "RecipeResult",
    "checkpoint_path",
    "default_backbones_dir",
    "load_backbone",
    "load_registry",
    "save_checkpoint",
    "sha256_file",
    "write_registry",
]


def default_backbones_dir() -> Path:
    """``$METALEARN_BACKBONES`` or the ``backbones`` folder of the package's shipped KB (``metalearn/kb_data``)."""
    env = os.environ.get("METALEARN_BACKBONES")
    return Path(env) if env else Path(__file__).resolve().parents[1] / "kb_data" / "backbones"


@dataclass(frozen=True)
class RecipeResult:
    """Measured meta-test performance of one adaptation recipe of a backbone."""

    recipe: dict[str, Any]
    metric: str
    n_way: int
    k_shot: int
    mean: float
    ci95: float
    n_episodes: int

    @property
    def higher_is_better(self) -> bool:
        """Accuracy is maximised, MSE minimised."""
        return self.metric == "accuracy"


@dataclass(frozen=True)
class BackboneRecord:
    """A trained backbone: how it was trained, where its checkpoint is, and the evidence for its recipes."""

    id: str
    family: str
    modality: str
    method: str
    architecture: dict[str, Any]
    input_shape: tuple[int, ...]
    n_way: int
    k_shot: int
    training_episodes: int
    train_seconds: float
    checkpoint: str
    sha256: str
    torch_version: str
    results: tuple[RecipeResult, ...] = ()
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    #: Folder the checkpoint path is relative to (set by :func:`load_registry`; not stored).
    root: str = field(default="", compare=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        out = asdict(self)
        out.pop("root")
        out["input_shape"] = list(self.input_shape)
        out["results"] = [asdict(r) for r in self.results]
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any], root: str | Path = "") -> BackboneRecord:
        """Inverse of :meth:`to_dict`; ``root`` is the folder holding the checkpoint."""
        fields = dict(data)
        fields["root"] = str(root)
        fields["input_shape"] = tuple(fields["input_shape"])
        fields["results"] = tuple(RecipeResult(**r) for r in fields.get("results", ()))
        return cls(**fields)

    def with_results(self, results: list[RecipeResult]) -> BackboneRecord:
        """A copy with ``results`` replacing the recorded evidence."""
        return replace(self, results=tuple(results))


@dataclass(frozen=True)
class BackboneRegistry:
    """The records of a registry file and the folder their checkpoints are relative to."""

    root: Path
    records: tuple[BackboneRecord, ...]
    schema_version: int = SCHEMA_VERSION
    torch_version: str = ""
    created: str = ""

    def get(self, backbone_id: str) -> BackboneRecord:
        """The record with this id."""
        for record in self.records:
            if record.id == backbone_id:
                return record
        raise KnowledgeBaseError(f"no backbone {backbone_id!r} in {self.root / REGISTRY_FILE}")

    def with_record(self, record: BackboneRecord) -> BackboneRegistry:
        """A copy where ``record`` is added or replaces the record with the same id."""
        kept = tuple(r for r in self.records if r.id != record.id)
        return replace(self, records=kept + (record,))


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def checkpoint_path(root: str | Path, checkpoint: str) -> Path:
    """The checkpoint file ``root / checkpoint``, refused unless it lies inside ``root``.

    Examples
    --------
    >>> checkpoint_path("/models", "a.pt").as_posix()
    '/models/a.pt'
    >>> checkpoint_path("/models", "../../etc/hostname")
    Traceback (most recent call last):
    ...
    metalearn.exceptions.KnowledgeBaseIntegrityError: backbone checkpoint '../../etc/hostname' lies outside ...
    """
    folder = Path(root)
    path = folder / checkpoint
    inside = folder.resolve()
    if Path(checkpoint).is_absolute() or not path.resolve().is_relative_to(inside) or path.resolve() == inside:
        raise KnowledgeBaseIntegrityError(
            f"backbone checkpoint {checkpoint!r} lies outside the registry folder {folder}; "
            "a checkpoint path must be a file name inside that folder"
        )
    return path


def _verify(path: Path, expected: str) -> None:
    if not path.is_file():
        raise KnowledgeBaseIntegrityError(
            f"backbone checkpoint {path} is missing; rebuild it with scripts/train_backbones.py"
        )
    actual = sha256_file(path)
    if actual != expected:
        raise KnowledgeBaseIntegrityError(
            f"backbone checkpoint {path} has sha256 {actual}, but the registry records {expected}; "
            "the file was modified or corrupted; rebuild it with scripts/train_backbones.py"
        )


def load_registry(path: str | Path | None = None, verify: bool = True) -> BackboneRegistry:
    """Read a registry (``registry.json`` or its folder); with ``verify`` check every checkpoint's sha256.

    Examples
    --------
    >>> registry = load_registry()  # doctest: +SKIP
    >>> [r.id for r in registry.records]  # doctest: +SKIP
    ['sinusoid-maml', ...]
    """
    path = Path(path) if path is not None else default_backbones_dir()
    file = path / REGISTRY_FILE if path.is_dir() else path
    if not file.is_file():
        raise KnowledgeBaseError(f"no backbone registry at {file}; build one with scripts/train_backbones.py")
    data = json.loads(file.read_text())
    if data.get("schema_version") != SCHEMA_VERSION:
        raise KnowledgeBaseVersionError(
            f"{file} has schema version {data.get('schema_version')!r}, this metalearn reads {SCHEMA_VERSION}; "
            "rebuild it with scripts/train_backbones.py"
        )
    records = tuple(BackboneRecord.from_dict(r, root=file.parent) for r in data["backbones"])
    for record in records:
        path = checkpoint_path(file.parent, record.checkpoint)
        if verify:
            _verify(path, record.sha256)
    return BackboneRegistry(
        file.parent, records, SCHEMA_VERSION, data.get("torch_version", ""), data.get("created", "")
    )


def write_registry(registry: BackboneRegistry) -> Path:
    """Write ``registry.json`` atomically in ``registry.root``; returns its path."""
    torch_version = registry.torch_version or next((r.torch_version for r in registry.records), "")
    payload = {
        "schema_version": SCHEMA_VERSION,
        "description": "metalearn few-shot backbones: checkpoints (sha256-checked) and meta-test evidence per recipe",
        "torch_version": torch_version,
        "created": registry.created or _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "updated": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "backbones": [r.to_dict() for r in sorted(registry.records, key=lambda r: r.id)],
    }
    registry.root.mkdir(parents=True, exist_ok=True)
    file = registry.root / REGISTRY_FILE
    tmp = file.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(payload, indent=1) + "\n")
    tmp.replace(file)
    return file


def save_checkpoint(model: Any, architecture: dict[str, Any], path: str | Path) -> str:
    """Save a model's weights with its architecture dict; returns the file's sha256."""
    torch = import_optional("torch", extra="neural")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    tmp = path.with_suffix(".pt.tmp")
    torch.save({"architecture": architecture, "state_dict": state}, tmp)
    tmp.replace(path)
    return sha256_file(path)


def load_backbone(record: BackboneRecord, root: str | Path | None = None) -> Any:
    """Verify and load a record's checkpoint (``weights_only=True``); returns a :class:`Backbone` in eval mode.

    The checkpoint path is relative to ``root``, else to the folder the record
    was read from, else to :func:`default_backbones_dir`.

    Raises
    ------
    KnowledgeBaseIntegrityError
        When the file is missing, lies outside its folder, or its sha256 differs from the record.
    """
    torch = import_optional("torch", extra="neural")
    from metalearn.neural._models import build_model  # imports torch: the registry itself stays torch-free

    folder = root if root is not None else (record.root or default_backbones_dir())
    file = checkpoint_path(folder, record.checkpoint)
    _verify(file, record.sha256)
    payload = torch.load(file, map_location="cpu", weights_only=True)
    model = build_model(payload["architecture"], seed=None)
    model.load_state_dict(payload["state_dict"])
    return model.eval()
