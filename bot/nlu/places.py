"""Place names marked in a message, so the n-gram features learn the pattern rather than the city.

"Moving to Osaka", "moving to Kawasaki" and "chuyển sang Nagoya" are one pattern (leaving Minato),
"from Osaka", "từ Nagoya", "大阪から" another (arriving), and "Osaka's city hall", "kantor kota
Nagoya", "川崎市役所" a third (another city's office: out of scope). Character n-grams of the city's
own name cannot carry that to a city the training data never named. So before the n-grams are
counted, every place in Japan outside Minato becomes ``ELSEWHERE`` and every place in Minato
``MINATO``, joined to the words beside it ("to§", "§から", "ở§,", "¶に"): the direction and the
office next to a place become n-grams of their own, whatever the place.

The names are in ``places.yml`` (Japanese prefectures, cities and Tokyo's wards and areas in each
script residents type: romaji, kanji, kana, Chinese, Hangul, Thai, Devanagari). A name matches as
a whole word where the script has words (Latin, Hangul, kana, Devanagari) and as a substring where
it has none (kanji, Thai); where names overlap the longest wins, and 東京都 is never read as 京都.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Tuple

import yaml

from bot.nlu.romanised import unaccented
from bot.nlu.scripts import DEVANAGARI, HAN, HANGUL, KANA, LATIN, THAI, char_script

PLACES_FILE = Path(__file__).with_name("places.yml")
ELSEWHERE = "§"
MINATO = "¶"
# Names that contain another name but are neither: read as themselves (東京都 is not 京都).
NEUTRAL = ("東京都", "东京都", "東京", "东京", "tokyo", "tōkyō", "toukyou", "とうきょう", "トウキョウ",
           "도쿄", "โตเกียว", "टोकियो", "टोक्यो")

_LATIN_WORD = re.compile(r"[a-z\u00c0-\u024f\u1e00-\u1eff]+")
_SEPARATORS = (" ", "-")   # between a name's words: exactly one
# Administrative suffixes read as part of the name: "shinjuku-ku" and 新宿区 are 新宿.
_LATIN_SUFFIXES = ("ku", "shi", "ken", "fu")
_HAN_SUFFIXES = "市区區府県縣"
# A name of these scripts starts a word only where the character before is of another script
# (kana and Hangul names take particles straight after them: おおさかから, 오사카로). Kanji and
# Thai have no word boundaries: a name matches anywhere, the longest first.
_WORDED = (KANA, HANGUL, DEVANAGARI)
_MAX_WORDS = 4


def _script(name: str) -> str:
    """The script of a name's first letter (虎ノ門 is a kanji name, お台場 a kana one)."""
    for ch in name:
        s = char_script(ch)
        if s in (HAN, KANA, HANGUL, THAI, DEVANAGARI, LATIN):
            return s
    return LATIN


def _fold(name: str) -> str:
    return unicodedata.normalize("NFKC", name).strip().lower()


class Gazetteer:
    """Finds Minato's and the rest of Japan's place names in normalised (NFKC, lower-case) text.

    A dictionary scan, not one large regular expression (which took 19 ms a message): Latin names
    are looked up by runs of up to four words joined ("azabu-juban", "azabu juban" and
    "azabujuban" are one name), other names by their first character, the longest first.
    """

    def __init__(self, minato: Iterable[str], elsewhere: Iterable[str]) -> None:
        marks: Dict[str, str] = {}
        for mark, names in ((MINATO, minato), (ELSEWHERE, elsewhere)):
            for raw in names:
                name = _fold(str(raw))
                # "ōsaka" is also typed "osaka"; only Latin names: stripping marks from kana
                # (が → か), Thai or Devanagari would make other words
                forms = (name, unaccented(name)) if _script(name) == LATIN else (name,)
                for form in forms:
                    if form and form not in marks:
                        marks[form] = mark
        for name in NEUTRAL:
            marks.setdefault(_fold(name), "")
        # Latin names by their words joined with one space ("azabu juban") and, for one word of
        # text, also written together ("azabujuban"); a separator is one space or hyphen.
        self._latin: Dict[str, str] = {}
        self._latin_word: Dict[str, str] = {}
        self._by_first: Dict[str, List[Tuple[str, str]]] = {}
        for name, mark in marks.items():
            if _script(name) == LATIN:
                parts = [p for p in re.split(r"[-\s]+", name) if p]
                self._latin.setdefault(" ".join(parts), mark)
                self._latin_word.setdefault("".join(parts), mark)
            else:
                self._by_first.setdefault(name[0], []).append((name, mark))
        for candidates in self._by_first.values():
            candidates.sort(key=lambda c: len(c[0]), reverse=True)

    def _latin_matches(self, text: str) -> Iterable[Tuple[int, int, str]]:
        words = [(m.start(), m.end()) for m in _LATIN_WORD.finditer(text)]
        for i, (start, _) in enumerate(words):
            last = i   # the furthest word joined to word i by one space or hyphen
            while (last + 1 < min(i + _MAX_WORDS, len(words))
                   and text[words[last][1]:words[last + 1][0]] in _SEPARATORS):
                last += 1
            # longest first: a listed "konan-ku" (Yokohama) wins over "konan" (Minato) + "-ku"
            for j in range(last, i - 1, -1):
                key = " ".join(text[a:b] for a, b in words[i:j + 1])
                mark = self._latin.get(key) if j > i else self._latin_word.get(key)
                stop = words[j][1]
                if mark is None and j == i:   # "shinjukuku"
                    for suffix in _LATIN_SUFFIXES:
                        if key.endswith(suffix) and key[: -len(suffix)] in self._latin_word:
                            mark = self._latin_word[key[: -len(suffix)]]
                            break
                elif mark is not None and j + 1 < len(words) and text[stop:words[j + 1][0]] == "-" \
                        and text[words[j + 1][0]:words[j + 1][1]] in _LATIN_SUFFIXES:
                    stop = words[j + 1][1]   # "shinjuku-ku"
                if mark is not None:
                    yield start, stop, mark

    def _other_matches(self, text: str) -> Iterable[Tuple[int, int, str]]:
        for i, ch in enumerate(text):
            candidates = self._by_first.get(ch)
            if not candidates:
                continue
            script = char_script(ch)
            if script in _WORDED and i > 0 and char_script(text[i - 1]) == script:
                continue
            for name, mark in candidates:
                if text.startswith(name, i):
                    stop = i + len(name)
                    if script == HAN and stop < len(text) and text[stop] in _HAN_SUFFIXES:
                        stop += 1
                    yield i, stop, mark
                    break

    def find(self, text: str) -> List[Tuple[int, int, str]]:
        """Non-overlapping (start, end, mark) of the places in ``text``; the longest name wins."""
        found = sorted([*self._latin_matches(text), *self._other_matches(text)],
                       key=lambda f: (f[0], -(f[1] - f[0])))
        chosen: List[Tuple[int, int, str]] = []
        end = -1
        for start, stop, mark in found:
            if start >= end:
                chosen.append((start, stop, mark))
                end = stop
        return chosen

    def mark(self, text: str) -> str:
        """The text with each place replaced by its mark, glued to the words beside it."""
        out: List[str] = []
        pos = 0
        for start, stop, mark in self.find(text):
            if not mark:
                continue  # a neutral name (Tokyo) stays as written
            out.append(text[pos:start].rstrip())
            out.append(mark)
            pos = stop
            while pos < len(text) and text[pos].isspace():
                pos += 1
        out.append(text[pos:])
        return "".join(out)


@lru_cache(maxsize=4)
def _cached(minato: Tuple[str, ...], elsewhere: Tuple[str, ...]) -> Gazetteer:
    return Gazetteer(minato, elsewhere)


def gazetteer(names: Optional[Dict[str, List[str]]] = None) -> Gazetteer:
    """The gazetteer of ``names`` ({"minato": [...], "elsewhere": [...]}), or of places.yml."""
    if names is None:
        names = load_names()
    return _cached(tuple(names.get("minato") or ()), tuple(names.get("elsewhere") or ()))


def load_names(path: Path = PLACES_FILE) -> Dict[str, List[str]]:
    """The lists in places.yml."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {"minato": [str(n) for n in data.get("minato") or []],
            "elsewhere": [str(n) for n in data.get("elsewhere") or []]}


def digest(path: Path = PLACES_FILE) -> str:
    """A short hash of places.yml and of this module's rules (part of the featurizer's Rasa
    fingerprint: Rasa would otherwise reuse features marked or read by an older version)."""
    h = hashlib.sha256(path.read_bytes())
    h.update(Path(__file__).read_bytes())
    return h.hexdigest()[:12]
