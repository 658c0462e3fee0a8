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


def load_runs(runs_dir: str | Path, size: int = 28) -> list[OneShotRun]:
    """Read one-shot runs in Lake's format: ``runNN/class_labels.txt``, ``runNN/training/``, ``runNN/test/``.

    Each line of ``class_labels.txt`` is ``test/itemXX.png training/classYY.png``;
    the training images (sorted by name) are the classes.

    Examples
    --------
    >>> runs = load_runs("all_runs")  # doctest: +SKIP
    >>> runs[0].train_x.shape  # doctest: +SKIP
    (20, 1, 28, 28)
    """
    root = Path(runs_dir)
    run_dirs = sorted(p for p in root.glob("run*") if (p / "class_labels.txt").is_file())
    if not run_dirs:
        raise DatasetNotFoundError(f"no runNN/class_labels.txt under {root}")
    runs = []
    for run_dir in run_dirs:
        pairs = [ln.split() for ln in (run_dir / "class_labels.txt").read_text().splitlines() if ln.strip()]
        if any(len(p) != 2 for p in pairs):
            raise CorruptFileError(f"{run_dir / 'class_labels.txt'}: each line must be 'test/X.png training/Y.png'")
        train_files = sorted({Path(tr).name for _, tr in pairs} | {p.name for p in (run_dir / "training").glob("*")})
        index = {name: i for i, name in enumerate(train_files)}
        train_x = np.stack([read_image(run_dir / "training" / f, size=size) for f in train_files])
        test_x = np.stack([read_image(run_dir / te, size=size) for te, _ in pairs])
        test_y = np.asarray([index[Path(tr).name] for _, tr in pairs], dtype=np.int64)
        runs.append(OneShotRun(run_dir.name, train_x, test_x, test_y))
    return runs
