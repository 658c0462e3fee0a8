"""Exceptions raised by metalearn.

Every error metalearn raises on purpose derives from :class:`MetaLearnError`,
so callers can catch all of them at once. Subclasses also derive from the
matching built-in (``ValueError``, ``ImportError``, ...) so code written for
scikit-learn style errors keeps working.
"""

from __future__ import annotations


class MetaLearnError(Exception):
    """Base class of every error raised by metalearn on purpose."""


class InvalidDatasetError(MetaLearnError, ValueError):
    """The data given cannot be used as a learning problem."""


class EmptyDatasetError(InvalidDatasetError):
    """The table has no rows."""


class TooFewRowsError(InvalidDatasetError):
    """The table has too few rows to learn anything."""


class NoFeaturesError(InvalidDatasetError):
    """There are no feature columns besides the target."""


class TargetNotFoundError(InvalidDatasetError, KeyError):
    """The target column named by the user does not exist."""

    def __str__(self) -> str:  # KeyError would wrap the message in quotes
        return str(self.args[0]) if self.args else ""


class InvalidTargetError(InvalidDatasetError):
    """The target cannot be learned (all missing, one class, wrong type ...)."""


class TooFewSamplesPerClassError(InvalidTargetError):
    """A class has too few samples for the requested cross-validation."""


class InvalidFeaturesError(InvalidDatasetError):
    """A feature column cannot be used as it is."""


class InfiniteValuesError(InvalidFeaturesError):
    """A numeric column holds +inf or -inf."""


class ComplexValuesError(InvalidFeaturesError):
    """A column (or array) holds complex numbers, which would lose their imaginary part."""


class SparseInputError(InvalidFeaturesError):
    """``X`` is a sparse matrix; metalearn's pipelines need dense data."""


class NonNumericArrayError(InvalidFeaturesError):
    """A numpy array ``X`` holds strings or objects that are not numbers."""


class ColumnMismatchError(InvalidFeaturesError):
    """The columns given at predict time differ from those seen at fit time."""


class ColumnProblemsError(InvalidFeaturesError):
    """Several columns have problems; ``problems`` holds one error per problem."""

    def __init__(self, message: str = "", problems: list | None = None) -> None:
        super().__init__(message)
        self.problems = list(problems or [])


class ConstantFeaturesError(InvalidFeaturesError):
    """Every feature column is constant."""


class DuplicateColumnsError(InvalidFeaturesError):
    """Two columns share one name."""


class ColumnNamesError(InvalidFeaturesError):
    """Column names mix strings and non-strings."""


class MixedTypeColumnError(InvalidFeaturesError):
    """An object column mixes values of different Python types."""


class LengthMismatchError(InvalidDatasetError):
    """X and y have different numbers of rows."""


class DatasetSourceError(MetaLearnError):
    """A dataset source (path, URI) cannot be read."""


class DatasetNotFoundError(DatasetSourceError, FileNotFoundError):
    """The path or dataset name does not exist."""


class UnsupportedFileTypeError(DatasetSourceError, ValueError):
    """The file type is not one metalearn reads."""


class CorruptFileError(DatasetSourceError, ValueError):
    """The file exists but cannot be decoded."""


class InvalidConfigError(MetaLearnError, ValueError):
    """A pipeline configuration does not belong to the search space."""


class InvalidParameterError(MetaLearnError, ValueError):
    """An argument of a metalearn function or estimator is out of range."""


class UnknownMetricError(InvalidParameterError):
    """``metric`` names no metric of this task (neither metalearn's nor a scikit-learn scorer)."""


class SampleWeightError(InvalidParameterError):
    """``sample_weight`` is not one non-negative weight per row, or its pipeline cannot use it."""


class GroupsError(InvalidParameterError):
    """``groups`` is not one label per row, or has too few groups for the folds."""


class OutputPathError(InvalidParameterError):
    """A file metalearn was asked to write cannot be written there."""


class ModelFileError(MetaLearnError, ValueError):
    """A saved model cannot be read, or is not a metalearn estimator."""


class KnowledgeBaseError(MetaLearnError):
    """The knowledge base cannot be opened or used."""


class KnowledgeBaseVersionError(KnowledgeBaseError):
    """The knowledge base was built with an incompatible schema or space."""


class KnowledgeBaseIntegrityError(KnowledgeBaseError):
    """A knowledge base file does not match its recorded checksum."""


class OptionalDependencyError(MetaLearnError, ImportError):
    """An optional dependency needed for this feature is not installed."""


class ClusterError(MetaLearnError):
    """A Dask cluster cannot run evaluations: unreachable, no workers, or workers that do not match."""


__all__ = [name for name in dir() if name.endswith("Error")]
