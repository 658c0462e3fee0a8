"""Multi-layer perceptrons (adam), with a standardised target in regression."""

from __future__ import annotations

from sklearn.compose import TransformedTargetRegressor
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.preprocessing import StandardScaler

from metalearn.space._family import BuildContext, ModelFamily
from metalearn.space._preprocessing import dense_pipeline, dense_preprocessing
from metalearn.space._primitives import Float, Int


class MLP(ModelFamily):
    """scikit-learn's defaults (one hidden layer of 100 units)."""

    def hyperparameters(self, task: str) -> tuple:
        return dense_preprocessing() + (
            Int("hidden_units", 16, 256, 100, log=True),
            Int("n_layers", 1, 3, 1),
            Float("alpha", 1e-7, 1e-1, 1e-4, log=True),
            Float("learning_rate_init", 1e-4, 1e-1, 1e-3, log=True),
            Int("max_iter", 50, 500, 200, log=True),
        )

    def build(self, config: dict, context: BuildContext):
        kwargs = dict(hidden_layer_sizes=(config["hidden_units"],) * config["n_layers"], alpha=config["alpha"],
                      learning_rate_init=config["learning_rate_init"], max_iter=config["max_iter"],
                      random_state=context.random_state)
        if context.classification:
            model = MLPClassifier(**kwargs)
        else:
            model = TransformedTargetRegressor(MLPRegressor(**kwargs), transformer=StandardScaler())
        return dense_pipeline(config, context, model)


FAMILY = MLP("mlp", "multi-layer perceptron (adam)", fallback_rank=6)
