"""Rasa's LogisticRegressionClassifier with its weights laid out for one-message predictions.

Rasa's classifier computes ``X @ coef_.T`` with X a sparse row (here 384 e5 values plus the few
hundred character n-grams present in the message, out of ~70,000). scikit-learn's ``coef_`` is
row-major (one row per intent), so ``coef_.T`` is column-major, and scipy's sparse-times-dense
product first copies the whole transposed matrix into row-major order: 57 intents x 69,000
features, ~30 MB, copied for every message. Measured with py-spy on the running server, that copy
was 9 ms of each /model/parse call, more than a fifth of it.

Stored column-major instead, ``coef_.T`` is already row-major and the product only reads the rows
of the features the message has: the same numbers in 0.06 ms. Training, the probabilities and the
persisted file format (skops) are Rasa's own; only the memory layout differs.
"""
from __future__ import annotations

from typing import Any, Dict

import numpy as np
from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.shared.nlu.training_data.training_data import TrainingData


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class FastLogisticRegressionClassifier(LogisticRegressionClassifier):
    """LogisticRegressionClassifier whose per-message prediction does not copy the weight matrix."""

    def _lay_out_for_sparse_rows(self) -> None:
        coef = getattr(self.clf, "coef_", None)
        if coef is not None and not coef.flags["F_CONTIGUOUS"]:
            self.clf.coef_ = np.asfortranarray(coef)

    def train(self, training_data: TrainingData) -> Resource:
        resource = super().train(training_data)
        self._lay_out_for_sparse_rows()
        return resource

    @classmethod
    def load(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> FastLogisticRegressionClassifier:
        component = super().load(config, model_storage, resource, execution_context, **kwargs)
        component._lay_out_for_sparse_rows()
        return component
