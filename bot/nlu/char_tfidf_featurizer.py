"""Character n-gram TF-IDF sentence features, normalised so they sit beside the e5 vector.

The e5 vector carries meaning across languages; character n-grams carry the exact words residents
use in the languages we trained ("tenshutsu", "転出", "kazei shomeisho", "embassy", "Taipei").
Measured on our held-out set (docs/nlu.md): adding them raised out-of-scope rejection from 80% to
about 95% and FAQ top-1 slightly, where Rasa's raw CountVectorsFeaturizer counts drowned the e5
vector and lowered accuracy. The difference is the scaling:

- sublinear term frequency (1 + log tf) and inverse document frequency, fitted on the training texts;
- each message's vector is L2-normalised and multiplied by ``weight``, so it has the same size as
  the (unit-length, scaled) e5 vector whatever the length of the message;
- char_wb n-grams (1-4 characters within word boundaries) need no tokenizer that knows the
  language: spaceless Japanese, Chinese and Thai become character n-grams of the whole run.

Sentence features only (what Rasa's LogisticRegressionClassifier reads). The vocabulary and idf
weights are persisted as JSON and .npy in the model (no pickle).
"""
from __future__ import annotations

import json
import logging
from typing import Any, Dict, List, Optional

import numpy as np
import scipy.sparse
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.featurizers.sparse_featurizer.sparse_featurizer import SparseFeaturizer
from rasa.nlu.tokenizers.tokenizer import Tokenizer
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from sklearn.feature_extraction.text import CountVectorizer

from bot.nlu import places
from bot.nlu.e5_featurizer import normalise as e5_normalise

logger = logging.getLogger(__name__)


def normalise(text: str, max_chars: int) -> str:
    """The e5 featurizer's normalisation (NFKC, trimmed, bounded), then lower case."""
    return e5_normalise(text, max_chars).lower()


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=True)
class CharTfidfFeaturizer(SparseFeaturizer, GraphComponent):
    """Adds an L2-normalised, weighted char_wb n-gram TF-IDF sentence vector to each message."""

    @classmethod
    def required_components(cls) -> List[type]:
        """Runs after a tokenizer, like Rasa's other featurizers."""
        return [Tokenizer]

    @staticmethod
    def required_packages() -> List[str]:
        """Python packages this component imports."""
        return ["sklearn", "scipy"]

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """The component's default config."""
        return {
            **SparseFeaturizer.get_default_config(),
            "min_ngram": 1,
            "max_ngram": 4,
            # n-grams seen in fewer training texts than this are dropped (typos, names).
            "min_df": 2,
            # Length of each message's vector (the e5 vector's is its `scale`).
            "weight": 1.0,
            "max_chars": 1000,
            # Mark place names (bot/nlu/places.py): "to§", "§から" instead of the city's letters.
            "places": False,
        }

    def __init__(
        self,
        config: Dict[str, Any],
        name: str,
        model_storage: ModelStorage,
        resource: Resource,
        vocabulary: Optional[Dict[str, int]] = None,
        idf: Optional[np.ndarray] = None,
        place_names: Optional[Dict[str, List[str]]] = None,
    ) -> None:
        super().__init__(name, {**self.get_default_config(), **config})
        self._model_storage = model_storage
        self._resource = resource
        self._idf = idf
        # The names a trained model was trained with travel inside it (an edited places.yml
        # changes nothing until the model is retrained).
        self._place_names = place_names
        self._places: Optional[places.Gazetteer] = None
        self._vocabulary = vocabulary
        self._counter: Optional[CountVectorizer] = None
        if vocabulary is not None:
            self._counter = self._new_counter(vocabulary)

    def _new_counter(self, vocabulary: Optional[Dict[str, int]] = None) -> CountVectorizer:
        return CountVectorizer(
            analyzer="char_wb",
            ngram_range=(self._config["min_ngram"], self._config["max_ngram"]),
            lowercase=False,  # normalise() already did, after NFKC
            min_df=self._config["min_df"] if vocabulary is None else 1,
            vocabulary=vocabulary,
            dtype=np.float32,
        )

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> CharTfidfFeaturizer:
        """Creates an untrained featurizer."""
        return cls(config, execution_context.node_name, model_storage, resource)

    @classmethod
    def validate_config(cls, config: Dict[str, Any]) -> None:
        """n-gram range and weight must make sense."""
        if not 1 <= config["min_ngram"] <= config["max_ngram"]:
            raise ValueError("CharTfidfFeaturizer: need 1 <= min_ngram <= max_ngram")
        if config["weight"] <= 0:
            raise ValueError("CharTfidfFeaturizer: weight must be positive")

    @property
    def vocabulary_size(self) -> int:
        """Number of n-grams known (0 before training)."""
        return len(self._vocabulary) if self._vocabulary is not None else 0

    @classmethod
    def fingerprint_addon(cls, config: Dict[str, Any]) -> Optional[str]:
        """The place names: Rasa must not reuse features marked with another list."""
        return places.digest() if config.get("places") else None

    def _gazetteer(self) -> Optional[places.Gazetteer]:
        if not self._config["places"]:
            return None
        if self._places is None:
            if self._place_names is None:
                self._place_names = places.load_names()
            self._places = places.gazetteer(self._place_names)
        return self._places

    def _texts(self, messages: List[Message]) -> List[str]:
        """The texts as their n-grams are counted: normalised, places marked if configured."""
        texts = [normalise(m.get(TEXT), self._config["max_chars"]) for m in messages]
        gazetteer = self._gazetteer()
        return [gazetteer.mark(t) for t in texts] if gazetteer else texts

    def train(self, training_data: TrainingData) -> Resource:
        """Learns the n-gram vocabulary and idf weights from the training texts."""
        texts = sorted({t for t in self._texts(training_data.training_examples) if t})
        if not texts:
            return self._resource
        counter = self._new_counter()
        try:
            counts = counter.fit_transform(texts)
        except ValueError:  # every n-gram below min_df: nothing to learn
            logger.warning("CharTfidfFeaturizer: no n-gram occurs in %d texts", self._config["min_df"])
            return self._resource
        df = np.asarray((counts > 0).sum(axis=0)).ravel()
        self._idf = (np.log((1 + len(texts)) / (1 + df)) + 1).astype(np.float32)
        # Keep the vocabulary only (a fitted CountVectorizer also stores the dropped n-grams).
        self._vocabulary = {gram: int(i) for gram, i in counter.vocabulary_.items()}
        self._counter = self._new_counter(self._vocabulary)
        self.persist()
        logger.info("char tf-idf: %d n-grams from %d texts", len(self._idf), len(texts))
        return self._resource

    def vectors(self, texts: List[str]) -> scipy.sparse.csr_matrix:
        """The weighted, L2-normalised TF-IDF rows of already normalised texts.

        Computed on the CSR arrays directly: the same float32 operations, in the same order, as
        scipy's ``multiply``, ``sum(axis=1)`` and a diagonal product (bit for bit: a test keeps that
        true), without their fixed cost of about 1 ms a message, which a question waits for."""
        if self._counter is None or self._idf is None:
            return scipy.sparse.csr_matrix((len(texts), 0), dtype=np.float32)
        counts = self._counter.transform(texts)   # CSR, float32, sorted indices without duplicates
        per_row = np.diff(counts.indptr)
        data = (1.0 + np.log(counts.data)) * self._idf[counts.indices]
        squares = np.zeros(len(texts), dtype=data.dtype)
        filled = np.flatnonzero(per_row)
        if filled.size:
            squares[filled] = np.add.reduceat(data * data, counts.indptr[filled])
        norms = np.sqrt(squares)
        norms[norms == 0] = 1.0
        data *= np.repeat((self._config["weight"] / norms).astype(np.float32), per_row)
        return scipy.sparse.csr_matrix((data, counts.indices, counts.indptr), shape=counts.shape)

    def _set_features(self, messages: List[Message]) -> None:
        messages = [m for m in messages if m.get(TEXT) is not None]
        if not messages or self._counter is None:
            return
        rows = self.vectors(self._texts(messages))
        shape = (1, rows.shape[1])
        for i, message in enumerate(messages):
            start, end = rows.indptr[i], rows.indptr[i + 1]
            row = scipy.sparse.coo_matrix(
                (rows.data[start:end], (np.zeros(end - start, dtype=np.int32), rows.indices[start:end])),
                shape=shape,
            )
            message.add_features(Features(row, FEATURE_TYPE_SENTENCE, TEXT, self._identifier))

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Featurizes all training examples."""
        self._set_features(training_data.training_examples)
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        """Featurizes incoming messages."""
        self._set_features(messages)
        return messages

    def persist(self) -> None:
        """Writes the vocabulary (JSON) and idf weights (.npy) into the model."""
        if self._counter is None or self._idf is None:
            return
        with self._model_storage.write_to(self._resource) as directory:
            (directory / "vocabulary.json").write_text(
                json.dumps(self._vocabulary, ensure_ascii=False), encoding="utf-8"
            )
            np.save(directory / "idf.npy", self._idf)
            if self._config["places"] and self._place_names is not None:
                (directory / "places.json").write_text(
                    json.dumps(self._place_names, ensure_ascii=False), encoding="utf-8"
                )

    @classmethod
    def load(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> CharTfidfFeaturizer:
        """Loads a trained featurizer (an untrained one if nothing was persisted)."""
        try:
            with model_storage.read_from(resource) as directory:
                vocabulary = json.loads((directory / "vocabulary.json").read_text(encoding="utf-8"))
                idf = np.load(directory / "idf.npy")
                names_file = directory / "places.json"
                place_names = (
                    json.loads(names_file.read_text(encoding="utf-8")) if names_file.exists() else None
                )
        except (ValueError, FileNotFoundError):
            logger.debug("CharTfidfFeaturizer: nothing persisted, loading untrained")
            return cls.create(config, model_storage, resource, execution_context)
        return cls(
            config, execution_context.node_name, model_storage, resource, vocabulary, idf, place_names
        )
