"""Language identification for every message, as a Rasa NLU component.

The language a resident writes in decides the answer's language. What the channel knows wins over
what the text suggests: the widget's language picker (metadata ``language``) is an explicit choice;
a LINE profile or browser language (metadata ``language_hint``) is a weak default. Otherwise the
text is classified with py3langid (langid.py's maintained fork: offline, its model ships in the
wheel, numpy only, 97 languages including ne, tl, vi, th and id; chosen over lingua, which lacks
Nepali, and over fastText-based detectors, which download their model at run time).

Guards for what a statistical detector gets wrong on a FAQ bot's input:
- the script decides first where it settles the matter: Hangul → ko, kana → ja, Thai → th;
- Han-only text (kanji-only Japanese vs Chinese) is decided by characters that exist in only one of
  the two writing systems (険/险, 続/续 ...), then by py3langid restricted to ja/zh;
- Vietnamese typed without diacritics, Nepali typed in Latin letters and short Taglish, which py3langid reads as
  English, Tagalog or Malay, are recognised by their words (bot/nlu/romanised.py);
- romanised Japanese terms that residents mix into other languages ("kokuho", "juminhyo") are
  removed before classifying Latin text, so "where do I pay kokuho" stays English;
- text too short to tell (below ``min_chars`` letters) is not guessed: the result is "unknown" and
  the conversation keeps its language.

The result is an entity ``detected_language`` (value: ISO 639-1 code or "unknown") with the
detector's confidence and ``source`` (metadata | hint | script | model | unknown), so that it
reaches the action server in ``tracker.latest_message``. Easy Japanese (ja-easy) is never guessed:
it is chosen explicitly (metadata or a change_language request), as the guideline asks.
"""
from __future__ import annotations

import functools
import logging
import re
from typing import Any, Dict, List, Optional, Tuple

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu import scripts
from bot.nlu.romanised import has_vietnamese_letters, looks_tagalog, looks_unaccented_vietnamese, roman_nepali_or_hindi

logger = logging.getLogger(__name__)

ENTITY_NAME = "detected_language"

def _encodable(ch: str, codec: str) -> bool:
    try:
        ch.encode(codec)
        return True
    except UnicodeEncodeError:
        return False


@functools.lru_cache(maxsize=8192)
def han_side(ch: str) -> int:
    """+1 if a Han character is written only in Japanese (in Shift-JIS, in neither GB2312 nor Big5:
    険, 続, 届, 証...), -1 if only in Chinese (in GB2312 or Big5 but not Shift-JIS: 险, 续, 區...), 0 if shared.
    Settles kanji-only text such as 国民健康保険加入手続 vs 国民健康保险加入手续."""
    in_ja = _encodable(ch, "cp932")
    in_zh = _encodable(ch, "gb2312") or _encodable(ch, "big5")
    if in_ja and not in_zh:
        return 1
    if in_zh and not in_ja:
        return -1
    return 0


# Romanised Japanese terms residents mix into other languages. Removed before classifying.
ROMAJI_TERMS = re.compile(
    r"\b(kokuho|kokumin|kenko|hoken|juminhyo|jumin|zairyu|todoke|tennyu|tenshutsu|tenkyo|nenkin|"
    r"hoikuen|kuyakusho|shisho|sogo|inkan|toroku|koseki|boshi|techo|gomi|sodai|kenshin|shomeisho|"
    r"kazei|nozei|juminzei|jido|teate|kaigo|dattai|ichijikin|konbini|shussei|shibo|kon'?in|"
    r"my ?number|mynumber|minato|minato-ku|ku|ka|kakari|san|desu|onegai|arigato|gakumu|hoken-?yobo|"
    r"kenko-?suishin|tokyo|japan|nihon|roppongi|azabu|akasaka|takanawa|shiba|shibaura|konan|odaiba|daiba)\b",
    re.IGNORECASE,
)

# Nepali and Hindi share Devanagari and much vocabulary; py3langid took 17 of 161 held-out Nepali
# questions for Hindi or Marathi. Words (and verb endings: मिल्छ, पर्छ, हुन्छ) only one of the two uses
# decide first; the model only when they do not.
NEPALI_WORDS = frozenset("छ छन् छु छैन छौं छौ हो होला कसरी कति कहिले कसको कसले लाई मेरो हाम्रो तपाईं "
                         "तपाईंको भएको गर्ने गर्नु पर्ने पनि अनि चाहियो चाहिन्छ भने भयो".split())
HINDI_WORDS = frozenset("है हैं में क्या कैसे मुझे मेरा मेरी का की और नहीं होता होती करना चाहिए कहां सकता "
                        "सकती था थी हूँ हूं यह वह आप आपको".split())
_DEVANAGARI_WORD = re.compile(r"[\u0900-\u0963\u0971-\u097f]+")


def nepali_or_hindi(text: str) -> Optional[str]:
    """"ne" or "hi" when words only one of the two languages uses say so, else None."""
    words = _DEVANAGARI_WORD.findall(text)
    ne = sum(1 for w in words if w in NEPALI_WORDS or w.endswith("्छ") or w.endswith("्छन्")
             or (w.endswith("लाई") and len(w) > 3))
    hi = sum(1 for w in words if w in HINDI_WORDS)
    if ne > hi:
        return "ne"
    if hi > ne:
        return "hi"
    return None


LATIN_LANGS = ["en", "vi", "tl", "pt", "es", "fr", "id", "de", "it", "nl", "ms", "tr", "pl", "sv"]
DEFAULT_LANGS = sorted(set(LATIN_LANGS + ["ja", "zh", "ko", "th", "ne", "hi", "mr", "ru", "uk", "ar",
                                           "fa", "ur", "bn", "km", "mn", "si", "ta"]))


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class LanguageDetector(GraphComponent):
    """Tags each message with the language it is written in (entity ``detected_language``)."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """The component's default config."""
        return {
            # Languages py3langid may choose from (ISO 639-1). Fewer candidates, fewer confusions.
            "candidate_languages": DEFAULT_LANGS,
            # Below this many letters (after removing romanised Japanese terms) a Latin-script
            # text is not classified: "ok", "hi", "thx" do not tell a language.
            "min_chars": 4,
            # Minimum normalised probability for a model-based decision.
            "threshold": 0.6,
        }

    @staticmethod
    def required_packages() -> List[str]:
        """Python packages this component imports."""
        return ["py3langid"]

    def __init__(self, config: Dict[str, Any]) -> None:
        self._config = {**self.get_default_config(), **config}
        from py3langid.langid import MODEL_FILE, LanguageIdentifier

        self._identifier = LanguageIdentifier.from_pickled_model(MODEL_FILE, norm_probs=True)
        self._identifier.set_languages(self._config["candidate_languages"])
        self._latin = [lang for lang in LATIN_LANGS if lang in self._config["candidate_languages"]]

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> LanguageDetector:
        """Creates the component (loads py3langid's bundled model once)."""
        return cls(config)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Training examples need no language tag: the classifier learns across languages."""
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        """Adds the ``detected_language`` entity to each message."""
        for message in messages:
            code, confidence, source = self.detect(
                message.get(TEXT) or "", message.get("metadata") or {}
            )
            entity = {
                "entity": ENTITY_NAME,
                "value": code,
                "start": 0,
                "end": 0,
                "confidence": round(float(confidence), 3),
                "source": source,
                "extractor": self.__class__.__name__,
            }
            message.set(ENTITIES, [*message.get(ENTITIES, []), entity], add_to_output=True)
        return messages

    # ----------------------------------------------------------------------------------------
    def detect(self, text: str, metadata: Optional[Dict[str, Any]] = None) -> Tuple[str, float, str]:
        """Returns (language code or "unknown", confidence, source)."""
        metadata = metadata or {}
        explicit = metadata.get("language")
        if isinstance(explicit, str) and explicit:
            return explicit, 1.0, "metadata"
        code, confidence, source = self.detect_text(text)
        if code == "unknown":
            hint = metadata.get("language_hint")
            if isinstance(hint, str) and hint:
                return hint, 0.5, "hint"
        return code, confidence, source

    def detect_text(self, text: str) -> Tuple[str, float, str]:
        """Language of the text alone."""
        counts = scripts.script_counts(text or "")
        if not counts:
            return "unknown", 0.0, "unknown"
        total = sum(counts.values())
        if counts.get(scripts.KANA, 0) >= max(1, 0.1 * total):
            return "ja", 0.99, "script"
        if counts.get(scripts.HANGUL, 0) >= 0.3 * total:
            return "ko", 0.99, "script"
        if counts.get(scripts.THAI, 0) >= 0.3 * total:
            return "th", 0.99, "script"
        if counts.get(scripts.HAN, 0) >= 0.3 * total:
            return self._han(text)
        if counts.get(scripts.DEVANAGARI, 0) >= 0.3 * total:
            decided = nepali_or_hindi(text)
            if decided:
                return decided, 0.9, "script"
            return self._classify(text, ["ne", "hi", "mr"], default="ne")
        if counts.get(scripts.LATIN, 0) >= 0.5 * total:
            stripped = ROMAJI_TERMS.sub(" ", text)
            letters = sum(1 for ch in stripped if ch.isalpha())
            if letters < self._config["min_chars"]:
                return "unknown", 0.0, "unknown"
            if ("vi" in self._latin and not has_vietnamese_letters(stripped)
                    and looks_unaccented_vietnamese(stripped)):
                return "vi", 0.8, "model"
            roman = roman_nepali_or_hindi(stripped)
            if roman in self._config["candidate_languages"]:
                return roman, 0.8, "model"
            if "tl" in self._latin and not has_vietnamese_letters(stripped) and looks_tagalog(stripped):
                return "tl", 0.8, "model"
            return self._classify(stripped, self._latin, default="unknown")
        return self._classify(text, None, default="unknown")

    def _han(self, text: str) -> Tuple[str, float, str]:
        sides = [han_side(ch) for ch in text if scripts.char_script(ch) == scripts.HAN]
        ja = sides.count(1)
        zh = sides.count(-1)
        if ja > zh:
            return "ja", 0.9, "script"
        if zh > ja:
            return "zh", 0.9, "script"
        return self._classify(text, ["ja", "zh"], default="zh")

    def _classify(self, text: str, among: Optional[List[str]], default: str) -> Tuple[str, float, str]:
        ranking = self._identifier.rank(text)
        if among:
            ranking = [(lang, p) for lang, p in ranking if lang in among]
            norm = sum(p for _, p in ranking) or 1.0
            ranking = [(lang, p / norm) for lang, p in ranking]
        if not ranking:
            return default, 0.0, "unknown"
        lang, p = max(ranking, key=lambda r: r[1])
        if p < self._config["threshold"]:
            if default != "unknown":
                return default, float(p), "model"
            return "unknown", float(p), "unknown"
        return lang, float(p), "model"
