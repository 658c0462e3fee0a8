"""k-nearest neighbours (``n_neighbors`` clamped to the rows a fold has)."""

from __future__ import annotations

from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

from metalearn.space._family import BuildContext, ModelFamily
from metalearn.space._guards import GuardedClassifier, GuardedRegressor
from metalearn.space._preprocessing import dense_pipeline, dense_preprocessing
from metalearn.space._primitives import Categorical, Int


class KNN(ModelFamily):
    """scikit-learn's defaults."""

    def hyperparameters(self, task: str) -> tuple:
        return dense_preprocessing() + (
            Int("n_neighbors", 1, 64, 5, log=True),
            Categorical("weights", ("uniform", "distance"), "uniform"),
            Categorical("p", (1, 2), 2),
        )

    def build(self, config: dict, context: BuildContext):
        cls = KNeighborsClassifier if context.classification else KNeighborsRegressor
        model = cls(n_neighbors=config["n_neighbors"], weights=config["weights"], p=config["p"])
        guard = GuardedClassifier if context.classification else GuardedRegressor
        return dense_pipeline(config, context, guard(model, max_rows=None))


FAMILY = KNN("knn", "k-nearest neighbours", fallback_rank=5)
