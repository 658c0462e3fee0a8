"""Column understanding: what each raw column is, and the transformation that turns it into features.

Every feature column of a table gets one :class:`ColumnDecision`:

- ``numeric``, ``boolean``, ``categorical``: kept (values canonicalised);
- ``text``: free text (several words per value), kept as strings; the
  pipelines turn it into TF-IDF features (:mod:`metalearn.space._text`);
- ``datetime``: a datetime dtype, date objects or strings that parse as
  dates, expanded into calendar features (year, month, day, day of week,
  hour when times are present, days since 1970-01-01);
- ``dropped``: removed, because the user asked (``drop=`` or
  ``column_types={NAME: "drop"}``) or because it identifies rows (a pandas
  index written to CSV, unique monotonic integers, a near-unique string key),
  which would let a model memorise rows, or leak the target when the rows are
  sorted by it.

The decisions form a :class:`ColumnPlan`, which the fitted estimators keep so
that prediction applies exactly the same transformation. Problems found in
several columns are reported together, in one error.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pandas.tseries.api import guess_datetime_format

from metalearn.exceptions import (
    ColumnProblemsError,
    ComplexValuesError,
    InfiniteValuesError,
    InvalidFeaturesError,
    InvalidParameterError,
    MetaLearnError,
    MixedTypeColumnError,
    TargetNotFoundError,
)

#: values a user may give in ``column_types`` (besides the feature types, "datetime" and "drop")
OVERRIDE_TYPES = ("numeric", "categorical", "boolean", "text", "datetime", "drop")
#: a column with at least this many present values whose values are nearly all distinct identifies rows
ID_MIN_ROWS = 20
ID_UNIQUE_RATIO = 0.95
#: longer strings than this (on average) are never taken for identifiers
ID_MAX_LENGTH = 40
#: free text: at least this many words per value on average, and many distinct values
TEXT_MIN_WORDS = 3.0
TEXT_MIN_UNIQUE_RATIO = 0.3
#: a string column is dates when this share of its present values parses with one format
DATE_MIN_SHARE = 0.95
_INDEX_NAME = re.compile(r"^(Unnamed: \d+|index|level_0)$")
#: names of key columns: id, ID, customer_id, customerID, row id, key, uuid
_KEY_NAME = re.compile(r"^([iI][dD]|[kK]ey|KEY|uuid|UUID|.*[_ .-]([iI][dD]|[kK]ey|KEY)|.*[a-z0-9](Id|ID))$")
_DATE_LIKE = re.compile(
    r"^\s*(\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4})([ T]\d{1,2}:\d{2}.*)?\s*$")
_BOOL_WORDS = {"true": 1.0, "false": 0.0}
_EPOCH = pd.Timestamp("1970-01-01")


class DataWarning(UserWarning):
    """Loading changed the data (e.g. dropped rows); the message says how."""


@dataclass(frozen=True)
class ColumnDecision:
    """What happens to one raw column.

    Attributes
    ----------
    name : str
        The raw column name.
    kind : str
        ``numeric``, ``boolean``, ``categorical``, ``text``, ``datetime`` or ``dropped``.
    reason : str
        Why, in words (shown by :meth:`metalearn.Dataset.describe`).
    outputs : tuple of str
        The feature columns it becomes (none when dropped; several for dates).
    date_format : str or None
        The format strings are parsed with (datetime columns read from text).
    """

    name: str
    kind: str
    reason: str
    outputs: tuple[str, ...] = ()
    date_format: str | None = None


@dataclass(frozen=True)
class ColumnPlan:
    """The decisions for every raw column, applied identically at fit and predict time."""

    decisions: tuple[ColumnDecision, ...]

    @property
    def inputs(self) -> tuple[str, ...]:
        """Raw column names the plan expects."""
        return tuple(d.name for d in self.decisions)

    @property
    def feature_names(self) -> tuple[str, ...]:
        """Feature columns produced, in order."""
        return tuple(out for d in self.decisions for out in d.outputs)

    @property
    def feature_types(self) -> tuple[str, ...]:
        """Feature type of each produced column (dates give numeric columns)."""
        return tuple("numeric" if d.kind == "datetime" else d.kind for d in self.decisions for _ in d.outputs)

    @property
    def dropped(self) -> tuple[str, ...]:
        """Raw columns that produce no feature."""
        return tuple(d.name for d in self.decisions if d.kind == "dropped")

    def transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Turn a raw frame (the columns of :attr:`inputs`) into the feature frame.

        Raises
        ------
        InvalidFeaturesError
            A column the plan needs is missing.
        """
        missing = [n for n in self.inputs if n not in frame.columns]
        if missing:
            raise InvalidFeaturesError(
                f"column(s) {fmt_names(missing)} seen at fit time are missing; pass the columns the model was "
                "fitted on")
        out: dict[str, pd.Series] = {}
        for d in self.decisions:
            if d.kind == "datetime":
                out.update(_calendar(frame[d.name], d))
            elif d.kind != "dropped":
                out[d.name] = canonical(frame[d.name], d.kind)
        return pd.DataFrame(out, index=frame.index)

    def describe(self) -> list[str]:
        """One aligned line per raw column: name, decision, reason."""
        if not self.decisions:
            return []
        width = min(max(len(d.name) for d in self.decisions), 30)
        lines = []
        for d in self.decisions:
            produced = f" -> {', '.join(d.outputs)}" if d.kind == "datetime" else ""
            lines.append(f"{d.name[:30]:<{width}}  {d.kind:<11}  {d.reason}{produced}")
        return lines


def fmt_names(names: Sequence[object], limit: int = 5) -> str:
    """``'a', 'b' and 3 more``."""
    shown = ", ".join(repr(n) for n in list(names)[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


# -- canonical values -----------------------------------------------------------------------------------
def _as_numeric(col: pd.Series) -> pd.Series:
    if pd.api.types.is_timedelta64_dtype(col):
        return col.dt.total_seconds().astype(float)
    if pd.api.types.is_bool_dtype(col) and col.hasnans:  # nullable boolean with <NA>
        return col.astype("Float64").astype(float)
    return pd.to_numeric(col.astype(object).where(col.notna(), np.nan), errors="coerce").astype(float)


def _as_boolean(col: pd.Series) -> pd.Series:
    if pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
        return _as_numeric(col)
    words = col.map(lambda v: _BOOL_WORDS.get(v.strip().lower(), np.nan) if isinstance(v, str) else v)
    return _as_numeric(words)


def canonical(col: pd.Series, kind: str) -> pd.Series:
    """The values of a kept column as the pipelines expect them (float, or object with NaN)."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        col = col.astype(object)
    if kind == "numeric":
        return _as_numeric(col)
    if kind == "boolean":
        return _as_boolean(col)
    if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
        col = col.astype(float)
    return col.astype(object).where(col.notna(), np.nan)


def _to_datetime(values: pd.Series, date_format: str) -> pd.Series:
    """Parse strings with one format; with a UTC offset in the format, mixed offsets become UTC."""
    return pd.to_datetime(values, format=date_format, errors="coerce", utc="%z" in date_format)


def _parse_dates(col: pd.Series, date_format: str | None) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(col):
        values = col
    elif date_format:
        values = _to_datetime(col.astype(object).where(col.notna(), None), date_format)
    else:
        values = pd.to_datetime(col.astype(object).where(col.notna(), None), errors="coerce", utc=True)
    if getattr(values.dt, "tz", None) is not None:
        values = values.dt.tz_convert("UTC").dt.tz_localize(None)
    return values


def _calendar(col: pd.Series, decision: ColumnDecision) -> dict[str, pd.Series]:
    values = _parse_dates(col, decision.date_format)
    parts = {
        "year": values.dt.year, "month": values.dt.month, "day": values.dt.day,
        "dayofweek": values.dt.day_of_week, "hour": values.dt.hour,
        "elapsed_days": (values - _EPOCH).dt.total_seconds() / 86_400.0,
    }
    return {out: parts[out[len(decision.name) + 1:]].astype(float) for out in decision.outputs}


# -- decisions ------------------------------------------------------------------------------------------
def _date_decision(name: str, col: pd.Series, reason: str, date_format: str | None) -> ColumnDecision:
    values = _parse_dates(col, date_format)
    present = values.dropna()
    has_time = bool(len(present)) and bool((present != present.dt.normalize()).any())
    parts = ("year", "month", "day", "dayofweek") + (("hour",) if has_time else ()) + ("elapsed_days",)
    return ColumnDecision(name, "datetime", reason, tuple(f"{name}_{p}" for p in parts), date_format)


def _string_date_format(values: pd.Series) -> str | None:
    """The format nearly all ``values`` (strings) parse with, or None when they are not dates."""
    sample = values.head(200)
    if not sample.map(lambda v: bool(_DATE_LIKE.match(v))).mean() >= DATE_MIN_SHARE:
        return None
    first = str(sample.iloc[0]).strip()
    with warnings.catch_warnings():  # pandas warns when it guesses a day-first format: both are tried below
        warnings.simplefilter("ignore", UserWarning)
        guesses = (guess_datetime_format(first), guess_datetime_format(first, dayfirst=True))
    for fmt in dict.fromkeys(guesses):
        if fmt and _to_datetime(values, fmt).notna().mean() >= DATE_MIN_SHARE:
            return fmt
    return None


def _is_row_index(name: str, present: pd.Series) -> str | None:
    """Why a numeric column identifies rows, or None."""
    if len(present) < ID_MIN_ROWS or present.nunique() < ID_UNIQUE_RATIO * len(present):
        return None
    values = present.to_numpy(dtype=float)
    if not (np.all(np.isfinite(values)) and np.all(values == np.round(values))):
        return None
    if _INDEX_NAME.match(name):
        return f"identifier: a row index written to the file ({len(present)} distinct integers)"
    if _KEY_NAME.match(name) and present.is_unique:
        return f"identifier: a key ({len(present)} distinct integers, named like one)"
    if present.is_unique and (present.is_monotonic_increasing or present.is_monotonic_decreasing):
        return f"identifier: unique monotonic integers ({present.iloc[0]:.0f} .. {present.iloc[-1]:.0f})"
    return None


def _numeric_decision(name: str, col: pd.Series, hint: str | None) -> ColumnDecision:
    present = col.dropna()
    why = _is_row_index(name, present)
    if why:
        return ColumnDecision(name, "dropped", why)
    if hint in ("categorical", "text"):
        return ColumnDecision(name, hint, "numbers declared categorical", (name,))
    if hint == "boolean" or (hint is None and present.nunique() == 2 and set(present.astype(float)) <= {0.0, 1.0}):
        return ColumnDecision(name, "boolean", "two values, 0 and 1", (name,))
    return ColumnDecision(name, "numeric", f"numbers ({col.dtype})", (name,))


def _string_decision(name: str, values: pd.Series) -> ColumnDecision:
    """Decide a column of strings (``values``: the present ones)."""
    lowered = set(values.str.strip().str.lower().unique())
    if lowered and lowered <= set(_BOOL_WORDS):
        return ColumnDecision(name, "boolean", "the words true/false", (name,))
    date_format = _string_date_format(values)
    if date_format:
        return _date_decision(name, values, f"strings parsed as dates ({date_format})", date_format)
    n_unique, n_present = values.nunique(), len(values)
    words = values.str.split().str.len().mean()
    if words >= TEXT_MIN_WORDS and n_unique >= TEXT_MIN_UNIQUE_RATIO * n_present:
        return ColumnDecision(name, "text", f"free text ({words:.1f} words per value, {n_unique} distinct)",
                              (name,))
    if n_present >= ID_MIN_ROWS and n_unique >= ID_UNIQUE_RATIO * n_present and (
            values.str.len().mean() <= ID_MAX_LENGTH):
        return ColumnDecision(name, "dropped", f"identifier: {n_unique} distinct strings in {n_present} rows")
    return ColumnDecision(name, "categorical", f"{n_unique} distinct strings", (name,))


def _object_decision(name: str, col: pd.Series) -> ColumnDecision:
    values = col.dropna()
    kinds = {type(v) for v in values.tolist()}
    if kinds and all(issubclass(k, (pd.Timestamp, np.datetime64)) or k.__name__ in ("datetime", "date")
                     for k in kinds):
        return _date_decision(name, col, "date objects", None)
    if kinds and all(issubclass(k, (bool, np.bool_)) for k in kinds):
        return ColumnDecision(name, "boolean", "True/False values", (name,))
    if kinds and all(issubclass(k, (int, float, np.number)) and not issubclass(k, (bool, np.bool_)) for k in kinds):
        return _numeric_decision(name, values.astype(float), None)
    if len(kinds) > 1:
        raise MixedTypeColumnError(
            f"column {name!r} mixes value types ({', '.join(sorted(k.__name__ for k in kinds))}); "
            f"declare it, e.g. column_types={{{name!r}: 'categorical'}}, or drop=[{name!r}]")
    if not kinds:  # every value missing
        return ColumnDecision(name, "categorical", "every value missing", (name,))
    return _string_decision(name, values.astype(str))


def _override_decision(name: str, col: pd.Series, kind: str) -> ColumnDecision:
    """The user's type for a column, checked so it cannot silently turn values into NaN."""
    if kind == "drop":
        return ColumnDecision(name, "dropped", "column_types override")
    if kind == "datetime":
        fmt = None if pd.api.types.is_datetime64_any_dtype(col) else _string_date_format(col.dropna().astype(str))
        decision = _date_decision(name, col, "column_types override", fmt)
        if _parse_dates(col, fmt).notna().sum() < col.notna().sum() * DATE_MIN_SHARE:
            raise InvalidFeaturesError(f"column {name!r} was declared datetime but its values do not parse as dates; "
                                       "declare it categorical, or convert it with pd.to_datetime first")
        return decision
    converted = canonical(col, kind)
    if kind in ("numeric", "boolean") and converted.notna().sum() < col.notna().sum():
        bad = col[col.notna() & converted.isna()].astype(str).unique()[:3].tolist()
        raise InvalidFeaturesError(f"column {name!r} was declared {kind} but holds values such as {bad}; "
                                   "declare it categorical, or clean those values first")
    return ColumnDecision(name, kind, "column_types override", (name,))


def decide_column(name: str, col: pd.Series, hint: str | None = None) -> ColumnDecision:
    """Decide one raw column (``hint``: a type from dataset metadata, e.g. PMLB's).

    Raises
    ------
    MixedTypeColumnError, ComplexValuesError
    """
    if isinstance(col.dtype, pd.CategoricalDtype):
        col = col.astype(object)
    if pd.api.types.is_datetime64_any_dtype(col):
        return _date_decision(name, col, f"dates ({col.dtype})", None)
    if pd.api.types.is_timedelta64_dtype(col):
        return ColumnDecision(name, "numeric", "durations, in seconds", (name,))
    if pd.api.types.is_bool_dtype(col):
        return ColumnDecision(name, "boolean", f"booleans ({col.dtype})", (name,))
    if pd.api.types.is_complex_dtype(col):
        raise ComplexValuesError(
            f"Complex data not supported: column {name!r} holds complex numbers; metalearn will not drop their "
            "imaginary part: pass np.real(x) and np.imag(x), or np.abs(x), as separate columns")
    if pd.api.types.is_numeric_dtype(col):
        return _numeric_decision(name, col.astype(float), hint)
    decision = _object_decision(name, col)
    if hint in ("categorical", "text") and decision.kind in ("categorical", "text"):
        return ColumnDecision(name, hint, f"{decision.reason}; declared {hint}", (name,))
    return decision


def check_overrides(columns: Sequence[str], column_types: Mapping[str, str] | None,
                    drop: Sequence[str] | None) -> None:
    """Refuse overrides naming unknown columns or unknown types."""
    unknown = [c for c in list(drop or []) + list(column_types or {}) if c not in columns]
    if unknown:
        raise TargetNotFoundError(f"cannot override column(s) {fmt_names(unknown)}: no such feature column")
    bad = {c: t for c, t in (column_types or {}).items() if t not in OVERRIDE_TYPES}
    if bad:
        raise InvalidParameterError(
            f"unknown column type(s) {bad}; choose from {', '.join(OVERRIDE_TYPES)}")


def plan_columns(frame: pd.DataFrame, *, hints: Mapping[str, str] | None = None,
                 column_types: Mapping[str, str] | None = None, drop: Sequence[str] | None = None) -> ColumnPlan:
    """Decide every column of ``frame`` (the features), collecting all problems into one error.

    Identifier-like columns are dropped with one :class:`DataWarning` naming them.

    Raises
    ------
    MetaLearnError
        The problem's own subclass when one column has a problem;
        :class:`ColumnProblemsError` listing them all when several do.
    """
    check_overrides(list(frame.columns), column_types, drop)
    overrides, dropped = dict(column_types or {}), set(drop or [])
    decisions, problems = [], []
    for name in frame.columns:
        try:
            if name in dropped:
                decision = ColumnDecision(name, "dropped", "drop=")
            elif name in overrides:
                decision = _override_decision(name, frame[name], overrides[name])
            else:
                decision = decide_column(name, frame[name], (hints or {}).get(name))
        except MetaLearnError as exc:
            problems.append(exc)
            continue
        decisions.append(decision)
    plan = ColumnPlan(tuple(decisions))
    problems.extend(_infinite_values(plan, frame))
    raise_problems(problems)
    _warn_identifiers(plan)
    return plan


def _infinite_values(plan: ColumnPlan, frame: pd.DataFrame) -> list[MetaLearnError]:
    numeric = [d.name for d in plan.decisions if d.kind in ("numeric", "boolean")]
    bad = [n for n in numeric if np.isinf(canonical(frame[n], "numeric").to_numpy()).any()]
    if not bad:
        return []
    return [InfiniteValuesError(f"infinite values in column(s) {fmt_names(bad)}; replace them with NaN "
                                "(X.replace([np.inf, -np.inf], np.nan)) or clip them")]


def raise_problems(problems: Sequence[MetaLearnError]) -> None:
    """Raise the one problem, or all of them as one :class:`ColumnProblemsError`."""
    if len(problems) == 1:
        raise problems[0]
    if problems:
        raise ColumnProblemsError(
            f"{len(problems)} column problems: " + "; ".join(f"({i}) {p}" for i, p in enumerate(problems, 1)),
            problems=list(problems))


def _warn_identifiers(plan: ColumnPlan) -> None:
    ids = [d for d in plan.decisions if d.kind == "dropped" and d.reason.startswith("identifier")]
    if not ids:
        return
    listed = ", ".join(f"{d.name!r} ({d.reason.removeprefix('identifier: ')})" for d in ids)
    keep_as = "categorical" if "strings" in ids[0].reason else "numeric"
    warnings.warn(
        f"dropped identifier-like column(s) {listed}: a model would memorise rows through them, or learn the "
        f"row order; to keep one as a feature pass column_types={{{ids[0].name!r}: {keep_as!r}}}",
        DataWarning, stacklevel=5)
