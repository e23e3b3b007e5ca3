"""Unicode script helpers shared by the language detector and the tokenizer."""
from __future__ import annotations

import unicodedata
from typing import Iterator, Tuple

HAN = "han"
KANA = "kana"
HANGUL = "hangul"
THAI = "thai"
DEVANAGARI = "devanagari"
LATIN = "latin"
OTHER = "other"      # letters of other scripts (Cyrillic, Arabic, ...)
SPACE = "space"
PUNCT = "punct"      # punctuation, symbols, emoji
DIGIT = "digit"


def char_script(ch: str) -> str:
    """The script class of one character."""
    cp = ord(ch)
    if ch.isspace():
        return SPACE
    if 0x3040 <= cp <= 0x30FF or 0x31F0 <= cp <= 0x31FF or 0xFF66 <= cp <= 0xFF9F:
        # ー (U+30FC) and ・ (U+30FB) count as kana: they join katakana words
        return KANA
    if (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0xF900 <= cp <= 0xFAFF
            or 0x20000 <= cp <= 0x2FA1F or ch in "々〆〇"):
        return HAN
    if 0xAC00 <= cp <= 0xD7AF or 0x1100 <= cp <= 0x11FF or 0x3130 <= cp <= 0x318F:
        return HANGUL
    if 0x0E00 <= cp <= 0x0E7F:
        return THAI
    if 0x0900 <= cp <= 0x097F:
        return DEVANAGARI
    if ch.isdigit():
        return DIGIT
    cat = unicodedata.category(ch)
    if cat[0] in "PSZC":
        return PUNCT
    if cat[0] == "M":
        return OTHER
    try:
        name = unicodedata.name(ch)
    except ValueError:
        return OTHER
    return LATIN if "LATIN" in name else OTHER


def script_counts(text: str) -> dict:
    """How many characters of each script the text has (spaces, digits, punctuation excluded)."""
    counts: dict = {}
    for ch in text:
        s = char_script(ch)
        if s not in (SPACE, PUNCT, DIGIT):
            counts[s] = counts.get(s, 0) + 1
    return counts


def script_runs(text: str) -> Iterator[Tuple[str, int, int]]:
    """Maximal runs of one script as (script, start, end); combining marks join the run before them."""
    start = 0
    current = None
    for i, ch in enumerate(text):
        s = char_script(ch)
        if s == OTHER and unicodedata.category(ch).startswith("M") and current is not None:
            continue  # a combining mark (Thai vowels, Devanagari matras) stays with its base
        if current is None:
            current, start = s, i
        elif s != current:
            yield current, start, i
            current, start = s, i
    if current is not None:
        yield current, start, len(text)
