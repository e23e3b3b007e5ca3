"""Masks personal data in residents' messages before staff see them or they become examples.

Masked: e-mail addresses, residence card numbers (AB12345678CD), My Number (12 digits, spaced or
not), phone numbers (Japanese landlines, mobiles, +81, toll-free), postal codes (〒105-8511,
105-8511). Full-width digits and letters count (the text is NFKC-normalised first).
"""
from __future__ import annotations

import re
import unicodedata

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
RESIDENCE_CARD = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}\s?\d{8}\s?[A-Za-z]{2}(?![A-Za-z0-9])")
MY_NUMBER = re.compile(r"(?<![\d-])\d{4}[\s-]?\d{4}[\s-]?\d{4}(?![\d-])")
PHONE = re.compile(
    r"(?<![\d+])(?:"
    r"\+81[\s-]?\(?0?\)?\d{1,4}[\s-]?\d{1,4}[\s-]?\d{3,4}"     # +81 3 3578 2111, +81-90-1234-5678
    r"|0\d{1,4}[\s-]\d{1,4}[\s-]\d{3,4}"                     # 03-3578-2111, 090 1234 5678
    r"|0\d{1,4}\(\d{1,4}\)\d{3,4}"                             # 03(3578)2111
    r"|0[5789]0\d{8}"                                        # 09012345678
    r"|0\d{9}"                                               # 0335782111
    r")(?!\d)"
)
POSTAL = re.compile(r"(?:〒\s?\d{3}-?\d{4}|(?<![\d-])\d{3}-\d{4}(?![\d-]))")

MASKS = (
    (EMAIL, "[email]"),
    (RESIDENCE_CARD, "[residence card no.]"),
    (MY_NUMBER, "[My Number]"),
    (PHONE, "[phone]"),
    (POSTAL, "[postal code]"),
)


def mask(text: str) -> str:
    """The text with personal data replaced by [email], [phone], [My Number]..."""
    out = unicodedata.normalize("NFKC", text or "")
    for pattern, label in MASKS:
        out = pattern.sub(label, out)
    return out
