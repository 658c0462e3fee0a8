"""The registry of model families: one module each, listed here explicitly, in space order.

Adding a family: write ``_NAME.py`` with a :class:`~metalearn.space.ModelFamily`
subclass and its ``FAMILY`` object, add it to :data:`MODEL_FAMILIES` (at the
end, so that encodings of existing configurations keep their layout), and
test it in ``tests/test_space_families.py``.
"""

from metalearn.space.families import _catboost, _forest, _hgb, _knn, _lightgbm, _linear, _mlp, _svm, _xgboost

#: Every model family, in the order of the search space.
MODEL_FAMILIES = (
    _hgb.FAMILY,
    _forest.RANDOM_FOREST,
    _forest.EXTRA_TREES,
    _linear.FAMILY,
    _svm.FAMILY,
    _knn.FAMILY,
    _mlp.FAMILY,
    _lightgbm.FAMILY,
    _xgboost.FAMILY,
    _catboost.FAMILY,
)

#: The families of the first knowledge base (search-space version 1.0, all at family version 1.0).
LEGACY_FAMILIES = ("hist_gradient_boosting", "random_forest", "extra_trees", "linear", "svm", "knn", "mlp")

__all__ = ["LEGACY_FAMILIES", "MODEL_FAMILIES"]
