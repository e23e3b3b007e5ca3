"""One tokenizer for every language the residents write in.

- Japanese (text with kana, or Han text the language detector tagged ``ja``): SudachiPy morphemes
  (``sudachidict_core``), with the offsets Sudachi reports, whitespace morphemes dropped.
- Chinese and other Han-only text, and Thai (written without spaces): one token per character
  (Thai combining vowels and tone marks stay with their base character).
- Everything else (Latin, Hangul, Devanagari, Cyrillic...): words of letters, marks and digits,
  split at spaces and punctuation, like Rasa's WhitespaceTokenizer but keeping combining marks
  (Devanagari matras, decomposed Vietnamese diacritics) inside the word.

Language-agnostic by design: ``supported_languages()`` returns None, so config.yml's ``language``
does not restrict it. The Sudachi dictionary is built once per process, never per message.
"""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional

import regex
from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.tokenizers.tokenizer import Token, Tokenizer
from rasa.shared.nlu.constants import ENTITIES
from rasa.shared.nlu.training_data.message import Message

from bot.nlu import scripts

logger = logging.getLogger(__name__)

WORD = regex.compile(r"[\p{L}\p{M}\p{N}_]+(?:['’\-][\p{L}\p{M}\p{N}_]+)*")

_SUDACHI = None


def _sudachi_tokenizer():
    global _SUDACHI
    if _SUDACHI is None:
        from sudachipy import Dictionary

        _SUDACHI = Dictionary(dict="core").tokenizer()
    return _SUDACHI


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False)
class MultilingualTokenizer(Tokenizer):
    """Tokenizes Japanese with SudachiPy, Chinese and Thai by character, the rest by words."""

    @staticmethod
    def supported_languages() -> Optional[List[str]]:
        """Every language: the tokenizer decides by script, not by config."""
        return None

    @staticmethod
    def not_supported_languages() -> Optional[List[str]]:
        """No language is excluded."""
        return None

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """The component's default config."""
        return {
            # Flag to check whether to split intents (Rasa's Tokenizer base class option).
            "intent_tokenization_flag": False,
            # Symbol on which intent should be split.
            "intent_split_symbol": "_",
            # Regular expression to detect tokens (unused; kept for the base class).
            "token_pattern": None,
            # Sudachi split mode: "A" (shortest units), "B" or "C" (named entities whole).
            "sudachi_split_mode": "C",
        }

    @staticmethod
    def required_packages() -> List[str]:
        """Python packages this component imports."""
        return ["sudachipy", "sudachidict_core", "regex"]

    def __init__(self, config: Dict[str, Any]) -> None:
        super().__init__({**self.get_default_config(), **config})
        from sudachipy import SplitMode

        self._mode = getattr(SplitMode, self._config["sudachi_split_mode"])

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> MultilingualTokenizer:
        """Creates the tokenizer (the Sudachi dictionary loads on first use)."""
        return cls(config)

    def tokenize(self, message: Message, attribute: str) -> List[Token]:
        """Tokenizes the text of the given attribute."""
        text = message.get(attribute) or ""
        return self.tokenize_text(text, self._is_japanese(message, text))

    @staticmethod
    def _is_japanese(message: Message, text: str) -> bool:
        counts = scripts.script_counts(text)
        if counts.get(scripts.KANA):
            return True
        if not counts.get(scripts.HAN):
            return False
        for entity in message.get(ENTITIES) or []:
            if entity.get("entity") == "detected_language":
                return entity.get("value") in ("ja", "ja-easy")
        return False

    def tokenize_text(self, text: str, japanese: bool) -> List[Token]:
        """Tokens of one text; ``japanese`` selects Sudachi for its Han and kana runs."""
        tokens: List[Token] = []
        other_start: Optional[int] = None  # start of a stretch of word-based scripts
        for script, start, end in scripts.script_runs(text):
            if script in (scripts.HAN, scripts.THAI, scripts.KANA):
                if other_start is not None:
                    tokens.extend(self._words(text, other_start, start))
                    other_start = None
                if not japanese:
                    tokens.extend(self._characters(text, start, end))
                # Japanese Han/kana runs are analysed by Sudachi below, as whole spans
            elif other_start is None:
                other_start = start
        if other_start is not None:
            tokens.extend(self._words(text, other_start, len(text)))
        if japanese:
            tokens.extend(self._sudachi(text))
        tokens.sort(key=lambda t: t.start)
        return self._merge_adjacent_words(tokens)

    @staticmethod
    def _merge_adjacent_words(tokens: List[Token]) -> List[Token]:
        """Digits and letters of different script runs that touch ("3F", "5번") form one token."""
        merged: List[Token] = []
        for tok in tokens:
            prev = merged[-1] if merged else None
            if (prev is not None and prev.end == tok.start
                    and scripts.char_script(tok.text[0]) in (scripts.DIGIT, scripts.LATIN, scripts.HANGUL)
                    and scripts.char_script(prev.text[-1]) in (scripts.DIGIT, scripts.LATIN, scripts.HANGUL)):
                merged[-1] = Token(prev.text + tok.text, prev.start)
            else:
                merged.append(tok)
        return merged

    @staticmethod
    def _words(text: str, start: int, end: int) -> List[Token]:
        return [Token(m.group(), m.start()) for m in WORD.finditer(text, start, end)]

    @staticmethod
    def _characters(text: str, start: int, end: int) -> List[Token]:
        tokens: List[Token] = []
        for m in regex.finditer(r"\X", text[start:end]):  # grapheme clusters
            tokens.append(Token(m.group(), start + m.start()))
        return tokens

    def _sudachi(self, text: str) -> List[Token]:
        """Sudachi morphemes of the Japanese spans (Han/kana runs and what lies between them)."""
        tokens: List[Token] = []
        runs = [(s, b, e) for s, b, e in scripts.script_runs(text) if s in (scripts.HAN, scripts.KANA)]
        if not runs:
            return tokens
        # Analyse each maximal stretch of Han/kana (with any punctuation inside) as one sentence.
        spans = []
        span_start, span_end = runs[0][1], runs[0][2]
        for _, b, e in runs[1:]:
            gap = text[span_end:b]
            if gap and all(scripts.char_script(c) in (scripts.PUNCT,) for c in gap):
                span_end = e
            elif not gap:
                span_end = e
            else:
                spans.append((span_start, span_end))
                span_start, span_end = b, e
        spans.append((span_start, span_end))
        analyser = _sudachi_tokenizer()
        for b, e in spans:
            for morpheme in analyser.tokenize(text[b:e], self._mode):
                surface = morpheme.surface()
                if not surface.strip() or all(scripts.char_script(c) == scripts.PUNCT for c in surface):
                    continue
                tokens.append(Token(surface, b + morpheme.begin(), lemma=morpheme.dictionary_form()))
        return tokens
