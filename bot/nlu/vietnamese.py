"""Vietnamese written without its diacritics: training copies.

Many Vietnamese residents type without tone marks (bot/nlu/romanised.py: the language detector's side).
The topic classifier, trained on accented text, got 42% of held-out Vietnamese questions right once
their diacritics were removed. ``VietnameseUnaccentedAugmenter`` adds, during training only, an
unaccented copy of every Vietnamese example (same intent), as the kana augmenter does for Japanese.
"""
from __future__ import annotations

import logging
from typing import Any, Dict, List

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.romanised import has_vietnamese_letters, unaccented

logger = logging.getLogger(__name__)

@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class VietnameseUnaccentedAugmenter(GraphComponent):
    """Adds an unaccented copy of each Vietnamese training example."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """The component's default config (none needed)."""
        return {}

    @classmethod
    def create(cls, config: Dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> VietnameseUnaccentedAugmenter:
        """Creates the component."""
        return cls()

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Returns the training data with the unaccented copies added."""
        known = {(example.get(TEXT) or "") for example in training_data.intent_examples}
        extra = []
        for example in training_data.intent_examples:
            text = example.get(TEXT) or ""
            if has_vietnamese_letters(text):
                copy = unaccented(text)
                if copy not in known:
                    known.add(copy)
                    extra.append(Message(data={TEXT: copy, INTENT: example.get(INTENT)}))
        logger.info("unaccented augmenter: %d Vietnamese examples written without diacritics", len(extra))
        if not extra:
            return training_data
        return training_data.merge(TrainingData(training_examples=extra))

    def process(self, messages: List[Message]) -> List[Message]:
        """Nothing to do at run time."""
        return messages
