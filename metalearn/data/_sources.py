"""Read datasets from every source metalearn accepts and hand them to validation."""

from __future__ import annotations

import gzip
import logging
import os
import re
import zlib
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from metalearn.data._dataset import Dataset
from metalearn.data._openml import load_openml
from metalearn.data._validation import as_frame, build_dataset, split_target
from metalearn.exceptions import (
    CorruptFileError,
    DatasetNotFoundError,
    InvalidParameterError,
    UnsupportedFileTypeError,
)

logger = logging.getLogger(__name__)

TABLE_SUFFIXES = (".csv", ".tsv", ".txt", ".gz", ".parquet", ".pq")
#: a field of a ';'-separated line that is a number with a decimal comma, e.g. ;-3,25;
_DECIMAL_COMMA = re.compile(r'(^|;)\s*"?-?\d+,\d+"?\s*(;|$)')
SKLEARN_DATASETS = ("breast_cancer", "wine", "digits", "diabetes_regression", "linnerud_regression")


def load_dataset(
    source: object,
    target: str | None = None,
    task: str | None = None,
    *,
    name: str | None = None,
    drop: list[str] | None = None,
    column_types: Mapping[str, str] | None = None,
) -> Dataset:
    """Load and validate a dataset from any supported source.

    Parameters
    ----------
    source : Dataset, tuple, DataFrame, str or path
        One of: a :class:`Dataset` (returned, with ``task`` applied); an
        ``(X, y)`` tuple of arrays/frames; a DataFrame with ``target=``; a
        path to a CSV/TSV file (optionally ``.gz``) or a parquet file with
        ``target=``; ``"pmlb-dir:DIR/NAME"`` for a dataset in the PMLB layout
        (``NAME.tsv.gz`` beside a ``manifest.csv``); ``"openml:ID"`` (needs
        the ``openml`` extra); ``"sklearn:NAME"`` for a dataset bundled with
        scikit-learn (``breast_cancer``, ``wine``, ``digits``,
        ``diabetes_regression``, ``linnerud_regression``).
    target : str, optional
        Target column for table sources. Files default to a column named
        ``target`` when there is one.
    task : {"classification", "regression"}, optional
        Overrides the inferred task.
    name : str, optional
        Name for the dataset (defaults to the file or source name).
    drop : list of str, optional
        Columns to remove (identifiers, leaks).
    column_types : dict, optional
        Overrides the type decided for a column: ``numeric``,
        ``categorical``, ``boolean``, ``text`` (free text), ``datetime``
        (calendar features) or ``drop``. :meth:`Dataset.describe` shows every
        decision.

    Returns
    -------
    Dataset

    Raises
    ------
    metalearn.exceptions.MetaLearnError
        A subclass saying what is wrong with the source or the data.

    Examples
    --------
    >>> import metalearn
    >>> ds = metalearn.load_dataset("sklearn:wine")
    >>> ds.task, ds.n_classes
    ('classification', 3)
    """
    if isinstance(source, Dataset):
        if drop or column_types:
            raise InvalidParameterError(
                "drop= and column_types= apply when loading; pass the raw table, not a loaded Dataset")
        ds = source if task is None or task == source.task else source.with_task(task)
        return ds if name is None else replace(ds, name=name)
    if isinstance(source, tuple):
        if len(source) != 2:
            raise InvalidParameterError(f"a tuple source must be (X, y); got a tuple of {len(source)}")
        return build_dataset(source[0], source[1], task=task, name=name or "dataset", drop=drop,
                             column_types=column_types)
    if isinstance(source, pd.DataFrame):
        features, y = split_target(as_frame(source), target)
        return build_dataset(features, y, task=task, name=name or "dataframe", source="dataframe", drop=drop,
                             column_types=column_types)
    if isinstance(source, (str, os.PathLike)):
        return _load_uri(str(source), target, task, name, {"drop": drop, "column_types": column_types})
    raise InvalidParameterError(
        f"cannot load a dataset from a {type(source).__name__}; pass (X, y), a DataFrame with target=, "
        "a file path, 'pmlb-dir:DIR/NAME', 'openml:ID' or 'sklearn:NAME'"
    )


def _load_uri(uri: str, target: str | None, task: str | None, name: str | None, overrides: dict) -> Dataset:
    """Load a path or URI; ``overrides`` holds ``drop`` and ``column_types``."""
    scheme, _, rest = uri.partition(":")
    if scheme == "openml" and rest:
        return load_openml(rest, target=target, task=task, **overrides)
    if scheme == "pmlb-dir" and rest:
        path = Path(rest)
        return load_pmlb(path.name, root=path.parent, task=task, **overrides)
    if scheme == "sklearn" and rest:
        return load_sklearn(rest, task=task)
    path = Path(uri).expanduser()
    if path.is_dir() and (path.parent / "manifest.csv").exists():
        return load_pmlb(path.name, root=path.parent, task=task, **overrides)
    frame = read_table(path)
    if target is None and "target" in frame.columns:
        target = "target"
    features, y = split_target(frame, target)
    return build_dataset(features, y, task=task, name=name or _stem(path), source=str(path), **overrides)


def _stem(path: Path) -> str:
    name = path.name
    for suffix in (".gz", ".csv", ".tsv", ".txt", ".parquet", ".pq"):
        name = name.removesuffix(suffix)
    return name


def read_table(path: Path) -> pd.DataFrame:
    """Read a CSV/TSV (optionally gzip-compressed) or parquet file into a DataFrame.

    The separator of text files is sniffed (tab, comma, semicolon); a
    semicolon-separated file whose numbers use decimal commas (``3,5``, as
    spreadsheets write in many locales) is read with ``decimal=","``.
    """
    if not path.exists():
        raise DatasetNotFoundError(f"no such file: {path}")
    if path.is_dir():
        raise UnsupportedFileTypeError(
            f"{path} is a directory; pass a file, or 'pmlb-dir:DIR/NAME' for a PMLB-layout dataset"
        )
    suffixes = [s.lower() for s in path.suffixes]
    if not suffixes or suffixes[-1] not in TABLE_SUFFIXES:
        raise UnsupportedFileTypeError(
            f"cannot read {path.name!r}: supported files are .csv, .tsv, .txt (optionally .gz) and .parquet"
        )
    if suffixes[-1] in (".parquet", ".pq"):
        try:
            return pd.read_parquet(path)
        except ImportError as exc:
            raise UnsupportedFileTypeError(f"reading parquet needs pyarrow: pip install pyarrow ({exc})") from None
        except Exception as exc:  # noqa: BLE001 - pyarrow raises many types; re-raised as one
            raise CorruptFileError(f"cannot read parquet file {path}: {exc}") from None
    return _read_text_table(path, compressed=suffixes[-1] == ".gz")


def _read_text_table(path: Path, compressed: bool) -> pd.DataFrame:
    opener = gzip.open if compressed else open
    try:
        with opener(path, "rt", encoding="utf-8", errors="replace") as fh:
            head = fh.readline()
            body = [fh.readline() for _ in range(50)]
        sep = "\t" if "\t" in head else (";" if head.count(";") > head.count(",") else ",")
        decimal = "," if sep == ";" and any(_DECIMAL_COMMA.search(line) for line in body) else "."
        frame = pd.read_csv(path, sep=sep, decimal=decimal, compression="gzip" if compressed else None)
    except (OSError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise CorruptFileError(f"cannot read {path}: the file is corrupt or not gzip ({exc})") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise CorruptFileError(f"cannot parse {path} as a table: {exc}") from None
    except pd.errors.EmptyDataError:
        raise CorruptFileError(f"{path} is empty: no header and no rows") from None
    return frame


def pmlb_manifest(root: str | os.PathLike) -> pd.DataFrame:
    """Read ``manifest.csv`` of a PMLB-layout directory, indexed by dataset name."""
    path = Path(root) / "manifest.csv"
    if not path.exists():
        raise DatasetNotFoundError(f"{path} not found: a PMLB-layout directory needs a manifest.csv")
    return pd.read_csv(path).set_index("name")


def _pmlb_feature_hints(root: Path, name: str) -> dict[str, str]:
    meta = root / "metadata" / f"{name}.yaml"
    if not meta.exists():
        return {}
    import yaml

    with open(meta, encoding="utf-8") as fh:
        doc = yaml.safe_load(fh) or {}
    mapping = {"categorical": "categorical", "binary": "boolean", "continuous": "numeric"}
    hints = {}
    for feat in doc.get("features") or []:
        kind = mapping.get(str(feat.get("type", "")).lower())
        if kind and feat.get("name") is not None:
            hints[str(feat["name"])] = kind
    return hints


def load_pmlb(name: str, root: str | os.PathLike, task: str | None = None, drop: list[str] | None = None,
              column_types: Mapping[str, str] | None = None) -> Dataset:
    """Load dataset ``name`` from a PMLB-layout directory ``root``.

    The task and target come from ``manifest.csv``; feature types from
    ``metadata/NAME.yaml`` when present.

    Examples
    --------
    >>> import metalearn  # doctest: +SKIP
    >>> metalearn.load_pmlb("1027_ESL", root="../shared/datasets/pmlb")  # doctest: +SKIP
    """
    root = Path(root)
    manifest = pmlb_manifest(root)
    if name not in manifest.index:
        import difflib

        close = difflib.get_close_matches(name, list(manifest.index), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise DatasetNotFoundError(f"dataset {name!r} is not in {root / 'manifest.csv'}{hint}")
    row = manifest.loc[name]
    frame = read_table(root / f"{name}.tsv.gz")
    features, y = split_target(frame, str(row.get("target", "target")))
    openml_id = _openml_id_from_name(name)
    return build_dataset(
        features, y, task=task or str(row["task"]), name=name, source=f"pmlb-dir:{root / name}",
        openml_id=openml_id, feature_hints=_pmlb_feature_hints(root, name), drop=drop, column_types=column_types,
    )


def _openml_id_from_name(name: str) -> int | None:
    head = name.split("_", 1)[0]
    return int(head) if head.isdigit() else None


def load_sklearn(name: str, task: str | None = None) -> Dataset:
    """Load one of scikit-learn's bundled (offline) datasets by name."""
    from sklearn import datasets

    loaders = {
        "breast_cancer": datasets.load_breast_cancer,
        "wine": datasets.load_wine,
        "digits": datasets.load_digits,
        "diabetes_regression": datasets.load_diabetes,
        "linnerud_regression": datasets.load_linnerud,
    }
    if name not in loaders:
        raise DatasetNotFoundError(f"unknown bundled dataset {name!r}; choose from {', '.join(SKLEARN_DATASETS)}")
    bunch = loaders[name](as_frame=True)
    y = bunch.target if np.ndim(bunch.target) == 1 else bunch.target.iloc[:, 0]
    return build_dataset(bunch.data, y, task=task, name=name, source=f"sklearn:{name}")
