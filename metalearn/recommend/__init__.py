"""Warm-start recommendation: kNN, greedy portfolio, learned performance model, and their blend."""

from metalearn.recommend._api import get_recommender, recommend
from metalearn.recommend._auto import DEFAULT_FEATURE_SETS, DEFAULT_VARIANTS, AutoStrategy, AutoVariant, make_strategy
from metalearn.recommend._base import Ranking, Strategy, nearest
from metalearn.recommend._base import similarity_weights as inverse_distance_weights
from metalearn.recommend._context import MetaFeatureScaler, TaskContext, normalise_scores
from metalearn.recommend._knn import KNNStrategy
from metalearn.recommend._model import PerformanceModel
from metalearn.recommend._portfolio import PortfolioStrategy
from metalearn.recommend._prior import TransferPrior
from metalearn.recommend._recommendation import Evidence, Neighbor, Recommendation, describe_config
from metalearn.recommend._recommender import Recommender, publish_recommender

__all__ = [
    "AutoStrategy",
    "AutoVariant",
    "DEFAULT_FEATURE_SETS",
    "DEFAULT_VARIANTS",
    "Evidence",
    "KNNStrategy",
    "MetaFeatureScaler",
    "Neighbor",
    "PerformanceModel",
    "PortfolioStrategy",
    "Ranking",
    "Recommendation",
    "Recommender",
    "Strategy",
    "TaskContext",
    "TransferPrior",
    "describe_config",
    "get_recommender",
    "make_strategy",
    "nearest",
    "inverse_distance_weights",
    "normalise_scores",
    "publish_recommender",
    "recommend",
]
