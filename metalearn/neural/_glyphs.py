"""Extra character classes rendered from the DejaVu fonts that ship inside matplotlib's wheel.

Ten small Omniglot alphabets give few classes for pre-training; every distinct
glyph of a few scripts (Cyrillic, Georgian, Armenian, Canadian syllabics,
Arabic, Tifinagh, Lisu, N'Ko, Ogham, Latin, ...) becomes one more class, each
"drawn" by the available DejaVu styles under random affine jitter. Scripts
related to the meta-test alphabets (Hebrew and the other Aramaic-derived
scripts, Hangul) are excluded. Glyphs that render (almost) identically to an
already kept glyph, e.g. accented variants, are dropped.
"""

from __future__ import annotations

import logging
import os
import unicodedata
from pathlib import Path

import numpy as np

from metalearn.neural._images import default_cache_dir
from metalearn.utils import import_optional

logger = logging.getLogger(__name__)

__all__ = ["GLYPH_SCRIPTS", "render_glyph_classes"]

GLYPH_SCRIPTS = (
    "LATIN",
    "CYRILLIC",
    "GEORGIAN",
    "ARMENIAN",
    "CANADIAN",
    "ARABIC",
    "TIFINAGH",
    "LISU",
    "NKO",
    "OGHAM",
    "COPTIC",
    "GLAGOLITIC",
    "LAO",
    "OLD",
)
_EXCLUDED_WORDS = ("HEBREW", "SYRIAC", "SAMARITAN", "ARAMAIC", "PHOENICIAN", "HANGUL", "OLD ITALIC", "OLD PERSIAN")
_STYLES = ("Sans", "Sans-Oblique", "Serif", "Serif-Italic", "SansMono", "SansMono-Oblique")  # no bold: thin strokes


def _font_paths() -> list[Path]:
    matplotlib = import_optional("matplotlib", extra="plot")
    folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    return [folder / f"DejaVu{style}.ttf" for style in _STYLES if (folder / f"DejaVu{style}.ttf").is_file()]


def _candidates(font: Path) -> list[str]:
    ttlib = import_optional("fontTools.ttLib", extra="plot")
    chars = []
    for cp in sorted(ttlib.TTFont(str(font)).getBestCmap()):
        ch = chr(cp)
        name = unicodedata.name(ch, "")
        if not unicodedata.category(ch).startswith("L") or any(w in name for w in _EXCLUDED_WORDS):
            continue
        if name.split(" ")[0] in GLYPH_SCRIPTS:
            chars.append(ch)
    return chars


def _render(ch: str, font_path: Path, rng: np.random.Generator | None, size: int) -> np.ndarray | None:
    pil_image = import_optional("PIL.Image", extra="neural")
    pil_font = import_optional("PIL.ImageFont", extra="neural")
    canvas = 105
    scale = 1.0 if rng is None else rng.uniform(0.75, 1.1)
    font = pil_font.truetype(str(font_path), int(62 * scale))
    img = pil_image.new("L", (canvas, canvas), 0)
    draw = import_optional("PIL.ImageDraw", extra="neural").Draw(img)
    box = draw.textbbox((0, 0), ch, font=font)
    w, h = box[2] - box[0], box[3] - box[1]
    if w < 4 or h < 4 or w > canvas or h > canvas:
        return None
    dx, dy = (0, 0) if rng is None else rng.integers(-8, 9, size=2)
    draw.text(((canvas - w) / 2 - box[0] + dx, (canvas - h) / 2 - box[1] + dy), ch, fill=255, font=font)
    if rng is not None:
        img = img.rotate(float(rng.uniform(-12, 12)), resample=pil_image.Resampling.BILINEAR)
    arr = np.asarray(img.resize((size, size), resample=pil_image.Resampling.BOX), dtype=np.float32) / 255.0
    return arr[None]


def _distinct_glyphs(fonts: list[Path], size: int, min_distance: float) -> list[str]:
    kept: list[str] = []
    kept_images: list[np.ndarray] = []
    for ch in _candidates(fonts[0]):
        image = _render(ch, fonts[0], None, size)
        if image is None:
            continue
        flat = image.ravel()
        if kept_images and np.min(np.linalg.norm(np.asarray(kept_images) - flat, axis=1)) < min_distance:
            continue
        kept.append(ch)
        kept_images.append(flat)
    return kept


def render_glyph_classes(
    n_per_class: int = 20,
    size: int = 28,
    min_distance: float = 3.0,
    random_state: int = 0,
    cache_dir: str | os.PathLike | None = None,
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Render distinct DejaVu glyphs as extra classes: images ``(n, 1, size, size)`` (ink = 1), labels, glyphs.

    Each class gets ``n_per_class`` renderings cycling through the DejaVu styles
    that contain the glyph, with random scale, shift and rotation. Cached as .npz.

    Examples
    --------
    >>> x, y, glyphs = render_glyph_classes()  # doctest: +SKIP
    >>> x.shape[1:], len(glyphs) > 1000  # doctest: +SKIP
    ((1, 28, 28), True)
    """
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    cache_file = cache / f"glyphs_{size}_{n_per_class}_{min_distance}_{random_state}.npz"
    if cache_file.exists():
        with np.load(cache_file, allow_pickle=False) as data:
            return data["images"], data["labels"], [str(g) for g in data["glyphs"]]
    fonts = _font_paths()
    glyphs = _distinct_glyphs(fonts, size, min_distance)
    ttlib = import_optional("fontTools.ttLib", extra="plot")
    cmaps = [set(ttlib.TTFont(str(f)).getBestCmap()) for f in fonts]
    rng = np.random.default_rng(random_state)
    images, labels = [], []
    for label, ch in enumerate(glyphs):
        styles = [f for f, cmap in zip(fonts, cmaps) if ord(ch) in cmap]
        for i in range(n_per_class):
            image = _render(ch, styles[i % len(styles)], rng, size)
            images.append(image if image is not None else _render(ch, styles[0], None, size))
            labels.append(label)
    x, y = np.stack(images).astype(np.float32), np.asarray(labels, dtype=np.int64)
    cache.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(cache_file.with_suffix(".tmp.npz"), images=x, labels=y, glyphs=np.asarray(glyphs))
    cache_file.with_suffix(".tmp.npz").replace(cache_file)
    logger.info("rendered %d glyph classes (%d images)", len(glyphs), len(x))
    return x, y, glyphs
