"""Keeps input that is not a question away from the FAQ classifier's answer.

Empty text, emoji or punctuation only, and very long messages become ``nlu_fallback`` with full
confidence, so the assistant asks for a question (in the user's language) instead of answering a
topic the classifier happened to rank first. Runs last in the pipeline, after FallbackClassifier.
"""
from __future__ import annotations

from typing import Any, Dict, List

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, PREDICTED_CONFIDENCE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

FALLBACK = "nlu_fallback"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class MessageGuard(GraphComponent):
    """Turns messages without words, or far longer than a question, into nlu_fallback."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """The component's default config."""
        return {
            # Messages longer than this many characters are not classified.
            "max_chars": 2000,
        }

    def __init__(self, config: Dict[str, Any]) -> None:
        self._config = {**self.get_default_config(), **config}

    @classmethod
    def create(cls, config: Dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> MessageGuard:
        """Creates the component."""
        return cls(config)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Nothing to do in training."""
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        """Overrides the intent of messages that are not questions."""
        for message in messages:
            text = message.get(TEXT) or ""
            if any(ch.isalpha() for ch in text) and len(text) <= self._config["max_chars"]:
                continue
            message.set(INTENT, {INTENT_NAME_KEY: FALLBACK, PREDICTED_CONFIDENCE_KEY: 1.0}, add_to_output=True)
        return messages
