"""A message about wanting to die always gets the "someone to talk to" answer.

The topic classifier reads most such messages right, but not all: trying the assistant, 死にたい
("I want to die") was answered with how to register a death, 더 이상 살고 싶지 않아요 with financial
hardship and Tagalog "ayoko nang mabuhay" with goodbye. For these a wrong answer is not an
inconvenience, so ``CrisisGuard`` does not leave it to a probability: a message that contains one
of the phrases of ``crisis.yml`` (suicidal thoughts or self-harm, in the residents' languages)
becomes ``faq_mental_health`` with full confidence. That answer is vetted like every other one
(a lifeline, and 119 / 110 when a life is in danger). The classifier's own first choice stays in
the ranking, second, so the assistant still offers it as a quick reply ("my friend took his own
life, how do I register the death?" gets the lifeline first and the death registration one tap away).

Matching, chosen to keep ordinary words about death out ("my mother died", 死亡届, "my battery
died", 死ぬほど忙しい are never crisis messages, and the list has no such words):
- phrases in Latin or Cyrillic letters match as whole words, case-insensitive, accents optional
  ("nao quero mais viver" is found by "não quero mais viver") except in Vietnamese, whose tone
  marks tell words apart ("tự tử", suicide, and "từ từ", slowly, are both "tu tu" without them):
  the list spells out the Vietnamese phrases that are safe without marks ("toi muon chet");
- phrases in scripts written without spaces, or often typed with odd ones (kanji, kana, Hangul,
  Thai, Devanagari, Burmese), match as substrings with all spaces removed, so easy Japanese
  "しに たい" and Korean "죽고 싶어" / "죽고싶어" are found.
Runs last in the pipeline, after FallbackClassifier and MessageGuard: it wins over both.

The same component, configured with ``intent: faq_emergency_numbers`` and ``phrases_file:
emergency.yml``, sends a medical emergency happening now to the 119 answer: trying the assistant,
"my husband is not breathing what do I do" was answered with finding a hospital and "an old man fell
down and is not moving, who do I call" with a request for a human. That list (bot/nlu/emergency.yml)
binds its phrases to a person and to the present ("is not breathing", 意識がない, 快叫救护车), and says
what it leaves out and why (a collapsed building, "I fainted yesterday", "not bad enough to call an
ambulance"). In config.yml it runs just before the suicide list, so a message with phrases of both
gets the lifeline answer, which also gives 119.
"""
from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Tuple

import yaml
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, PREDICTED_CONFIDENCE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.message_guard import FALLBACK
from bot.nlu.romanised import has_vietnamese_letters, unaccented
from bot.nlu.scripts import DIGIT, LATIN, OTHER, PUNCT, SPACE, char_script

PHRASES_FILE = Path(__file__).with_name("crisis.yml")
CRISIS_INTENT = "faq_mental_health"
# Scripts whose phrases match as whole words (the others as substrings, spaces ignored).
_WORD_SCRIPTS = frozenset((LATIN, OTHER))


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).replace("\u2019", "'").replace("\u2018", "'").casefold()


def _is_worded(phrase: str) -> bool:
    """True if every letter of the phrase is Latin or of another worded script (Cyrillic...)."""
    scripts = {char_script(ch) for ch in phrase} - {SPACE, PUNCT, DIGIT}
    return bool(scripts) and scripts <= _WORD_SCRIPTS and not any(
        "MYANMAR" in unicodedata.name(ch, "") for ch in phrase)


def load_phrases(path: Path = PHRASES_FILE) -> Dict[str, List[str]]:
    """The phrases per language, as the YAML file lists them."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {lang: [str(p) for p in phrases if str(p).strip()] for lang, phrases in (data.get("phrases") or {}).items()}


class CrisisPhrases:
    """Finds a crisis phrase in a text (see the module's docstring for the rules)."""

    def __init__(self, phrases: Iterable[str]) -> None:
        worded, unspaced = set(), set()
        for phrase in phrases:
            folded = _fold(phrase).strip()
            if not folded:
                continue
            if _is_worded(folded):
                worded.add(" ".join(folded.split()))
                # Accents optional, except in Vietnamese, where they tell words apart: "tự tử"
                # (suicide) without them is "tu tu", and so is "từ từ" (slowly). The list spells out
                # the unaccented Vietnamese phrases that are safe.
                if not has_vietnamese_letters(folded):
                    worded.add(" ".join(unaccented(folded).split()))
            else:
                unspaced.add("".join(folded.split()))
        # Longest first, words joined by any run of spaces; \w boundaries on both sides.
        alternatives = [r"\s+".join(re.escape(w) for w in p.split()) for p in sorted(worded, key=len, reverse=True)]
        self._worded = re.compile(r"(?<!\w)(?:" + "|".join(alternatives) + r")(?!\w)") if alternatives else None
        self._unspaced: Tuple[str, ...] = tuple(sorted(unspaced, key=len, reverse=True))

    def find(self, text: str) -> Optional[str]:
        """The first crisis phrase found in the text, or None."""
        folded = _fold(text)
        if self._worded is not None:
            match = self._worded.search(folded) or self._worded.search(unaccented(folded))
            if match:
                return match.group(0)
        if self._unspaced:
            compact = "".join(folded.split())
            for phrase in self._unspaced:
                if phrase in compact:
                    return phrase
        return None


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class CrisisGuard(GraphComponent):
    """Sends every message with a crisis phrase to the "someone to talk to" answer."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """The component's default config."""
        return {
            # The intent a crisis message gets (the FAQ topic with the lifeline and 119 / 110).
            "intent": CRISIS_INTENT,
            # The phrase list; None: bot/nlu/crisis.yml. A relative path is read from bot/nlu/.
            "phrases_file": None,
        }

    def __init__(self, config: Dict[str, Any], phrases: CrisisPhrases) -> None:
        self._config = {**self.get_default_config(), **config}
        self._phrases = phrases

    @classmethod
    def create(cls, config: Dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> CrisisGuard:
        """Creates the component, reading the phrase list once."""
        merged = {**cls.get_default_config(), **config}
        path = PHRASES_FILE.parent / merged["phrases_file"] if merged["phrases_file"] else PHRASES_FILE
        phrases = [p for per_language in load_phrases(path).values() for p in per_language]
        return cls(merged, CrisisPhrases(phrases))

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Nothing to do in training."""
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        """Overrides the intent of messages with a crisis phrase; keeps the rest of the ranking."""
        target = self._config["intent"]
        for message in messages:
            if not self._phrases.find(message.get(TEXT) or ""):
                continue
            # The classifier's ranking (FallbackClassifier and MessageGuard only put nlu_fallback on top).
            ranking = [r for r in (message.get(INTENT_RANKING_KEY) or [])
                       if r.get(INTENT_NAME_KEY) not in (target, FALLBACK)]
            top = {INTENT_NAME_KEY: target, PREDICTED_CONFIDENCE_KEY: 1.0}
            message.set(INTENT, top, add_to_output=True)
            message.set(INTENT_RANKING_KEY, [top] + ranking, add_to_output=True)
        return messages
