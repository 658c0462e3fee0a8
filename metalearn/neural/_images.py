"""Image decoding and the Omniglot / one-shot *runs* loaders (numpy + Pillow, no torch).

Images are stored as ``float32`` arrays in ``[0, 1]`` with ink = 1 (Omniglot
PNGs are black ink on white, so they are inverted), shape ``(1, size, size)``.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from metalearn.exceptions import CorruptFileError, DatasetNotFoundError
from metalearn.utils import import_optional

logger = logging.getLogger(__name__)

__all__ = ["OmniglotPool", "OneShotRun", "default_cache_dir", "load_omniglot", "load_runs", "read_image"]


def default_cache_dir() -> Path:
    """Where decoded arrays are cached: ``$METALEARN_CACHE`` or ``~/.cache/metalearn``."""
    return Path(os.environ.get("METALEARN_CACHE", Path.home() / ".cache" / "metalearn"))


def _to_array(image: object, size: int, invert: bool) -> np.ndarray:
    pil = import_optional("PIL.Image", extra="neural")
    img = image.convert("L").resize((size, size), resample=pil.Resampling.BOX)  # type: ignore[attr-defined]
    arr = np.asarray(img, dtype=np.float32) / 255.0
    if invert:
        arr = 1.0 - arr
    return arr[None, :, :]


def read_image(source: str | Path | bytes, size: int = 28, invert: bool = True) -> np.ndarray:
    """Decode one image file (or its bytes) to a ``(1, size, size)`` float array in ``[0, 1]``.

    Examples
    --------
    >>> import io
    >>> from PIL import Image
    >>> buf = io.BytesIO(); Image.new("L", (105, 105), 255).save(buf, format="PNG")
    >>> read_image(buf.getvalue()).shape, float(read_image(buf.getvalue()).max())
    ((1, 28, 28), 0.0)
    """
    pil = import_optional("PIL.Image", extra="neural")
    try:
        handle = io.BytesIO(source) if isinstance(source, bytes) else Path(source).open("rb")
        with handle, pil.open(handle) as img:
            return _to_array(img, size, invert)
    except FileNotFoundError as exc:
        raise DatasetNotFoundError(f"image {source} does not exist") from exc
    except (OSError, ValueError) as exc:
        name = "<bytes>" if isinstance(source, bytes) else str(source)
        raise CorruptFileError(f"cannot decode image {name}: {exc}") from exc


@dataclass(frozen=True)
class OmniglotPool:
    """Decoded Omniglot drawings: ``images[i]`` drawn of character ``labels[i]``.

    ``characters[c]`` is ``"Alphabet/characterNN"`` and ``alphabets[c]`` its alphabet.
    """

    images: np.ndarray
    labels: np.ndarray
    characters: tuple[str, ...]

    @property
    def alphabets(self) -> tuple[str, ...]:
        """Alphabet of each character."""
        return tuple(c.split("/")[0] for c in self.characters)


def _zip_digest(paths: list[Path]) -> str:
    h = hashlib.sha256()
    for p in paths:
        h.update(p.name.encode())
        h.update(str(p.stat().st_size).encode())
    return h.hexdigest()[:16]


def _decode_zips(paths: list[Path], size: int) -> OmniglotPool:
    by_char: dict[str, list[tuple[str, bytes]]] = {}
    for path in paths:
        with zipfile.ZipFile(path) as zf:
            for name in zf.namelist():
                parts = name.split("/")
                if not name.endswith(".png") or len(parts) < 4:
                    continue
                key = f"{parts[-3]}/{parts[-2]}"
                files = by_char.setdefault(key, [])
                if parts[-1] not in {f for f, _ in files}:  # the same alphabet ships in both zips
                    files.append((parts[-1], zf.read(name)))
    characters = tuple(sorted(by_char))
    images, labels = [], []
    for label, key in enumerate(characters):
        for _, data in sorted(by_char[key]):
            images.append(read_image(data, size=size))
            labels.append(label)
    return OmniglotPool(np.stack(images).astype(np.float32), np.asarray(labels, dtype=np.int64), characters)


def load_omniglot(root: str | Path, size: int = 28, cache_dir: str | Path | None = None) -> OmniglotPool:
    """Load every ``*.zip`` of Omniglot drawings under ``root`` (decoded once, then cached as .npz).

    Alphabets present in several zips are merged (drawings de-duplicated by file name).

    Examples
    --------
    >>> pool = load_omniglot("../shared/datasets/omniglot")  # doctest: +SKIP
    >>> pool.images.shape  # doctest: +SKIP
    (4840, 1, 28, 28)
    """
    root = Path(root)
    zips = sorted(root.glob("*.zip"))
    if not zips:
        raise DatasetNotFoundError(f"no Omniglot .zip files under {root}")
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    cache_file = cache / f"omniglot_{size}_{_zip_digest(zips)}.npz"
    if cache_file.exists():
        with np.load(cache_file, allow_pickle=False) as data:
            return OmniglotPool(data["images"], data["labels"], tuple(str(c) for c in data["characters"]))
    logger.info("decoding %d Omniglot zips to %dx%d arrays", len(zips), size, size)
    pool = _decode_zips(zips, size)
    cache.mkdir(parents=True, exist_ok=True)
    tmp = cache_file.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, images=pool.images, labels=pool.labels, characters=np.asarray(pool.characters))
    tmp.replace(cache_file)
    return pool


@dataclass(frozen=True)
class OneShotRun:
    """One run of Lake's one-shot classification: each test image belongs to one training class."""

    name: str
    train_x: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray


def _resolve_run_path(entry: str, root: Path, run_dir: Path, folder: str, labels_file: Path) -> Path:
    """Resolve one ``class_labels.txt`` path, relative to the runs root or to the run folder (detected per file).

    The path must name a file directly inside ``run_dir/folder``; anything else is refused.
    """
    rel = Path(entry)
    parts = rel.parts
    if rel.is_absolute() or ".." in parts or len(parts) not in (2, 3) or parts[-2] != folder:
        raise CorruptFileError(
            f"{labels_file}: {entry!r} is not a {folder}/ image of this run; each line must be "
            f"'test/itemKK.png training/classMM.png' or '{run_dir.name}/test/itemKK.png "
            f"{run_dir.name}/training/classMM.png' (Lake's layout)"
        )
    if len(parts) == 3 and parts[0] != run_dir.name:
        raise CorruptFileError(
            f"{labels_file}: {entry!r} names run {parts[0]!r}, but the file belongs to run {run_dir.name!r}"
        )
    path = (root / rel) if len(parts) == 3 else (run_dir / rel)
    if not path.is_file():
        raise DatasetNotFoundError(f"{labels_file}: image {entry!r} does not exist (looked for {path})")
    return path


def _read_run(root: Path, run_dir: Path, size: int) -> OneShotRun:
    labels_file = run_dir / "class_labels.txt"
    pairs = [ln.split() for ln in labels_file.read_text().splitlines() if ln.strip()]
    if not pairs or any(len(p) != 2 for p in pairs):
        raise CorruptFileError(
            f"{labels_file}: each line must be two paths, 'test/itemKK.png training/classMM.png' "
            f"(or with the run folder in front, '{run_dir.name}/test/itemKK.png {run_dir.name}/training/classMM.png')"
        )
    tests = [_resolve_run_path(te, root, run_dir, "test", labels_file) for te, _ in pairs]
    trains = [_resolve_run_path(tr, root, run_dir, "training", labels_file) for _, tr in pairs]
    train_files = sorted({p.name for p in trains} | {p.name for p in (run_dir / "training").iterdir() if p.is_file()})
    index = {name: i for i, name in enumerate(train_files)}
    train_x = np.stack([read_image(run_dir / "training" / f, size=size) for f in train_files])
    test_x = np.stack([read_image(p, size=size) for p in tests])
    test_y = np.asarray([index[p.name] for p in trains], dtype=np.int64)
    return OneShotRun(run_dir.name, train_x, test_x, test_y)


def load_runs(runs_dir: str | Path, size: int = 28) -> list[OneShotRun]:
    """Read one-shot runs in Lake's format: ``runNN/class_labels.txt``, ``runNN/training/``, ``runNN/test/``.

    Each line of ``class_labels.txt`` pairs a test image with its training
    image. Paths may be relative to the runs folder, as in Lake's published
    runs (``run01/test/item01.png run01/training/class08.png``), or to the run
    folder (``test/item01.png training/class08.png``); each path is read either
    way. The training images (sorted by name) are the classes. ``runs_dir`` may
    also be a single run folder.

    Raises
    ------
    DatasetNotFoundError
        When there is no run, or a listed image is missing.
    CorruptFileError
        When a line is not two paths, or a path is not a ``test/`` or
        ``training/`` image of its own run.

    Examples
    --------
    >>> runs = load_runs("all_runs")  # doctest: +SKIP
    >>> runs[0].train_x.shape  # doctest: +SKIP
    (20, 1, 28, 28)
    """
    root = Path(runs_dir)
    if (root / "class_labels.txt").is_file():
        return [_read_run(root.parent, root, size)]
    run_dirs = sorted(p for p in root.glob("run*") if (p / "class_labels.txt").is_file())
    if not run_dirs:
        raise DatasetNotFoundError(f"no runNN/class_labels.txt under {root}; expected Lake's one-shot runs layout")
    return [_read_run(root, run_dir, size) for run_dir in run_dirs]
