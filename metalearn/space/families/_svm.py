"""RBF support vector machines, trained on at most :data:`SVM_MAX_ROWS` rows."""

from __future__ import annotations

from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import TransformedTargetRegressor
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC, SVR

from metalearn.space._family import CLASSIFICATION, BuildContext, ModelFamily
from metalearn.space._guards import GuardedClassifier, GuardedRegressor
from metalearn.space._preprocessing import class_weight, dense_pipeline, dense_preprocessing, when
from metalearn.space._primitives import Categorical, Float

SVM_MAX_ROWS = 5000


class SVM(ModelFamily):
    """scikit-learn's defaults; calibrated probabilities only when a metric needs them."""

    def hyperparameters(self, task: str) -> tuple:
        model = (
            Float("C", 0.01, 1000.0, 1.0, log=True),
            Categorical("gamma_mode", ("scale", "value"), "scale"),
            Float("gamma", 1e-4, 10.0, 0.1, log=True, conditions=when("gamma_mode", "value")),
        )
        if task == CLASSIFICATION:
            model += (Categorical("class_weight", ("none", "balanced"), "none"),)
        else:
            model += (Float("epsilon", 1e-3, 1.0, 0.1, log=True),)
        return dense_preprocessing() + model

    def build(self, config: dict, context: BuildContext):
        gamma = config["gamma"] if config["gamma_mode"] == "value" else "scale"
        if context.classification:
            svc = SVC(C=config["C"], gamma=gamma, class_weight=class_weight(config),
                      random_state=context.random_state)
            if context.need_proba:
                svc = CalibratedClassifierCV(svc, ensemble=False, cv=3)
            model = GuardedClassifier(svc, max_rows=SVM_MAX_ROWS, random_state=context.random_state)
        else:
            svr = TransformedTargetRegressor(SVR(C=config["C"], gamma=gamma, epsilon=config["epsilon"]),
                                             transformer=StandardScaler())
            model = GuardedRegressor(svr, max_rows=SVM_MAX_ROWS, random_state=context.random_state)
        return dense_pipeline(config, context, model)


FAMILY = SVM("svm", f"RBF SVM, trained on at most {SVM_MAX_ROWS} rows", fallback_rank=4)
