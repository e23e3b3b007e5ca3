"""Which language to answer in, and requests to change it.

Order of precedence (docs/architecture.md): an explicit choice (the widget's picker sends metadata
``language``; "can you answer in Korean?") persists in the ``language`` slot and wins; otherwise the
language the message is written in (entity ``detected_language`` from the NLU pipeline; a message of
one or two words identified only statistically does not switch a conversation's language); otherwise
the conversation's language so far; otherwise a channel hint (LINE profile, browser); otherwise
English. Easy Japanese is only ever chosen, never detected. A message in a language outside the ten
is answered in English with one line listing the languages offered.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet

from actions.content import ANSWER_LANGUAGES, DEFAULT_LANGUAGE, Content

# Language names as residents type them, in many languages -> our code. Longest names first when matching.
LANGUAGE_NAMES: Dict[str, List[str]] = {
    "ja-easy": ["やさしい日本語", "やさしいにほんご", "易しい日本語", "優しい日本語", "easy japanese",
                "simple japanese", "plain japanese", "简单日语", "簡單日語", "쉬운 일본어", "tiếng nhật đơn giản",
                "japonês fácil", "japonés fácil", "japones facil", "सजिलो जापानी", "madaling japanese"],
    "ja": ["日本語", "にほんご", "ニホンゴ", "japanese", "日语", "日語", "일본어", "tiếng nhật", "japonês", "japones",
           "japonés", "जापानी", "nihongo", "hapon", "wikang hapon"],
    "en": ["english", "英語", "えいご", "英语", "英文", "영어", "tiếng anh", "inglês", "ingles", "inglés", "अंग्रेजी",
           "अङ्ग्रेजी", "ingles", "anglais", "inggris", "อังกฤษ"],
    "zh": ["中文", "中国語", "ちゅうごくご", "汉语", "漢語", "华语", "華語", "普通话", "國語", "chinese", "중국어",
           "tiếng trung", "tiếng hoa", "chinês", "chines", "chino", "चिनियाँ", "mandarin", "intsik"],
    "ko": ["한국어", "韓国語", "かんこくご", "韩语", "韓語", "韩国语", "korean", "tiếng hàn", "coreano", "कोरियाली",
           "koreano"],
    "vi": ["tiếng việt", "tieng viet", "vietnamese", "ベトナム語", "越南语", "越南語", "베트남어", "vietnamita",
           "भियतनामी"],
    "ne": ["नेपाली", "nepali", "nepalese", "ネパール語", "尼泊尔语", "尼泊爾語", "네팔어", "tiếng nepal", "nepalês",
           "nepalés"],
    "tl": ["tagalog", "filipino", "pilipino", "タガログ語", "フィリピン語", "他加禄语", "菲律宾语", "타갈로그어",
           "필리핀어", "tiếng philippines", "tagalo"],
    "pt": ["português", "portugues", "portuguese", "ポルトガル語", "葡萄牙语", "葡萄牙語", "포르투갈어",
           "tiếng bồ đào nha", "portugués", "पोर्तुगाली"],
    "es": ["español", "espanol", "spanish", "castellano", "スペイン語", "西班牙语", "西班牙語", "스페인어",
           "tiếng tây ban nha", "espanhol", "स्पेनिस", "kastila"],
    # Languages residents ask for that are not offered (answered in English with the list).
    "fr": ["français", "francais", "french", "フランス語", "法语", "프랑스어"],
    "th": ["ภาษาไทย", "thai", "タイ語", "泰语", "태국어"],
    "id": ["bahasa indonesia", "indonesian", "インドネシア語", "印尼语", "인도네시아어"],
}
NEGATION = re.compile(
    r"(don't|do not|can't|cannot|not|no|never|看不懂|不懂|不会|不會|不要|わからない|分からない|読めない|できない|"
    r"못|몰라|안 |không|chẳng|não|nao|no entiendo|hindi|ayaw|nabuj|bujhdina|बुझ्दिन)\W{0,3}\w{0,12}\W{0,2}$",
    re.IGNORECASE,
)


def requested_language(text: str) -> Optional[str]:
    """The language a message asks for ("你会说中文吗？我看不懂英文" -> zh), or None."""
    low = (text or "").lower()
    found = []
    taken = [False] * len(low)
    names = sorted(((n.lower(), code) for code, ns in LANGUAGE_NAMES.items() for n in ns), key=lambda x: -len(x[0]))
    for name, code in names:
        for m in re.finditer(re.escape(name), low):
            if any(taken[m.start():m.end()]):
                continue
            for i in range(m.start(), m.end()):
                taken[i] = True
            negated = bool(NEGATION.search(low[max(0, m.start() - 20):m.start()]))
            found.append((m.start(), negated, code))
    found.sort()
    for _, negated, code in found:
        if not negated:
            return code
    return None


@dataclass
class Language:
    """The language to answer in, and what to remember."""

    code: str                       # one of ANSWER_LANGUAGES
    events: List[EventType] = field(default_factory=list)
    outside: Optional[str] = None   # the resident wrote in a language we do not offer (e.g. "fr")


def detected(tracker: Tracker) -> Dict[str, Any]:
    """The detected_language entity of the latest message ({} if none)."""
    for entity in tracker.latest_message.get("entities") or []:
        if entity.get("entity") == "detected_language":
            return entity
    return {}


def is_short(text: str) -> bool:
    """Too short for a statistical guess to overrule the conversation's language ("obrigado!", "ok thanks")."""
    return len((text or "").split()) < 3 and sum(ch.isalpha() for ch in text or "") < 15


def resolve(tracker: Tracker) -> Language:
    """The answer language for the latest message (see the module docstring)."""
    metadata = tracker.latest_message.get("metadata") or {}
    slot = tracker.get_slot("language")
    source = tracker.get_slot("language_source")
    chosen = metadata.get("language")
    if chosen in ANSWER_LANGUAGES:
        events = [] if (slot == chosen and source == "explicit") else [
            SlotSet("language", chosen), SlotSet("language_source", "explicit")]
        return Language(chosen, events)
    if source == "explicit" and slot in ANSWER_LANGUAGES:
        return Language(slot)
    entity = detected(tracker)
    code = entity.get("value")
    if (entity.get("source") == "model" and slot in ANSWER_LANGUAGES and code != slot
            and is_short(tracker.latest_message.get("text") or "")):
        return Language(slot)  # one word identified only statistically does not switch the conversation
    if entity.get("source") in ("script", "model") and code:
        if code in ANSWER_LANGUAGES:
            events = [] if slot == code else [SlotSet("language", code), SlotSet("language_source", "detected")]
            return Language(code, events)
        return Language(DEFAULT_LANGUAGE, outside=code)
    if slot in ANSWER_LANGUAGES:
        return Language(slot)
    hint = metadata.get("language_hint") or (code if entity.get("source") == "hint" else None)
    if hint in ANSWER_LANGUAGES:
        return Language(hint, [SlotSet("language", hint), SlotSet("language_source", "detected")])
    return Language(DEFAULT_LANGUAGE)


def offered_line(content: Content, lang: str) -> str:
    """ "I can answer in: English, 日本語, ..." """
    names = ", ".join(content.language_name(code) for code in ANSWER_LANGUAGES)
    return content.text(lang, "ui.languages_offered", languages=names)
