"""The content rules of tests/test_content.py, for any project folder (a staged copy included).

``check(root)`` returns every problem. Three kinds:

- ``error``: the content is wrong (a phone number in an answer, a title over 20 characters, a number
  that is not in the facts file, an example under two topics...). The store refuses an edit that
  adds one; publishing refuses while any is left.
- ``incomplete``: a topic is not finished (no approved answer in a language, too few examples).
  A topic being written may be incomplete; publishing refuses until every active topic is
  complete, and an edit may not make a finished topic incomplete again.
- ``warning``: shown, never blocking (a machine-translated draft whose title is too long).

tests/staff/test_rules.py checks that these rules pass on the repository's own content, as
tests/test_content.py does.
"""
from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Set, Tuple

import yaml

from actions.content import ANSWER_LANGUAGES, Content, load_content

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)   # libyaml when available: 10x faster


def read_yaml(path: Path) -> Any:
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER) or {}

# Same patterns and thresholds as tests/test_content.py.
PHONE = re.compile(r"(?<![\d-])(?:\+81[\s-]?)?0\d{1,4}[\s-]\d{2,6}(?:[\s-]\d{3,4})?(?![\d-])")
URL = re.compile(r"https?://|www\.")
MAIN_LANGUAGES = ("ja", "en", "zh", "ko", "vi")
MIN_EXAMPLES_MAIN = 5
MAX_TITLE = 20
MAX_BULLETS = 3
MAX_TEXT = 800
EMERGENCY = ("119", "110")
FAQ_PREFIX = "faq_"
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the content."""

    kind: str                 # error | incomplete | warning
    code: str                 # machine-readable: title_length, missing_answer, few_examples...
    where: Tuple[str, ...]    # (topic, lang) / (department,) / (file,)
    message: str

    @property
    def ident(self) -> Tuple[Any, ...]:
        """What makes two problems "the same" when comparing before and after an edit: completeness
        problems by place only (4 examples instead of 3 is not a new problem), others with the message."""
        if self.kind == "incomplete":
            return self.kind, self.code, self.where
        return self.kind, self.code, self.where, self.message

    def __str__(self) -> str:
        return self.message


# ---------------------------------------------------------------------------------------------
# Small helpers shared with the store and the spreadsheet import.

def phones_in(text: str) -> List[str]:
    """Phone-like numbers in a text (after NFKC, so full-width digits count)."""
    return [m.group() for m in PHONE.finditer(unicodedata.normalize("NFKC", text or ""))]


def digits(number: str) -> str:
    return re.sub(r"\D", "", unicodedata.normalize("NFKC", number or ""))


@lru_cache(maxsize=8)
def _facts_numbers(path: str, mtime: float) -> Dict[str, str]:
    text = Path(path).read_text(encoding="utf-8")
    return {digits(m): m for m in re.findall(r"[0-9][0-9\-]{5,}[0-9]", text)}


def facts_text(root: Path) -> str:
    return (root / "data" / "reference" / "minato_facts.yaml").read_text(encoding="utf-8")


def facts_numbers(root: Path) -> Dict[str, str]:
    """Every phone-like number of the facts file: digits -> as written there ("03-3578-2574")."""
    path = root / "data" / "reference" / "minato_facts.yaml"
    return _facts_numbers(str(path), path.stat().st_mtime)


def in_facts(number: str, root: Path) -> bool:
    return digits(number) in facts_numbers(root)


def answer_format_problems(title: str, text: str) -> List[Tuple[str, str]]:
    """(code, message) for what breaks "How an answer reads" (docs/content-guide.md)."""
    out = []
    if not 0 < len(title) <= MAX_TITLE:
        out.append(("title_length", f"the title {title!r} must be 1-{MAX_TITLE} characters (it has {len(title)})"))
    bullets = [line for line in text.splitlines() if line.lstrip().startswith("•")]
    if len(bullets) > MAX_BULLETS:
        out.append(("bullets", f"{len(bullets)} bullet points (at most {MAX_BULLETS})"))
    if not text.strip():
        out.append(("empty_text", "the answer text is empty"))
    if len(text) > MAX_TEXT:
        out.append(("text_length", f"{len(text)} characters (at most {MAX_TEXT})"))
    found = phones_in(text)
    if found:
        out.append(("phone_in_text", f"phone number {found[0]} in the text: numbers belong in the contact card"))
    if URL.search(text):
        out.append(("url_in_text", "a web address in the text: answers have no URLs"))
    return out


def parse_hours(spec: str) -> Dict[str, str]:
    """ "Mon-Fri 08:30-17:00; Wed 08:30-19:00" -> {mon: "08:30-17:00", ..., wed: "08:30-19:00"}.

    Later parts override earlier ones; several ranges in a day are joined with "," ("09:00-12:00,
    13:00-17:00"); "Sat closed" removes a day; "" or "none" means no published hours."""
    spec = unicodedata.normalize("NFKC", spec or "").strip()
    if spec.lower() in ("", "none", "-", "unpublished"):
        return {}
    schedule: Dict[str, str] = {}
    for part in re.split(r"[;\n/]+", spec):
        part = part.strip()
        if not part:
            continue
        m = re.match(r"^([A-Za-z]{3})(?:\s*[-–~]\s*([A-Za-z]{3}))?\s+(.+)$", part)
        if not m:
            raise ValueError(f"cannot read {part!r}: write days then times, e.g. 'Mon-Fri 08:30-17:00'")
        first, last, times = m.group(1).lower(), (m.group(2) or m.group(1)).lower(), m.group(3).strip()
        if first not in DAYS or last not in DAYS:
            raise ValueError(f"unknown day in {part!r}: use Mon Tue Wed Thu Fri Sat Sun")
        days = DAYS[DAYS.index(first):DAYS.index(last) + 1]
        if not days:
            raise ValueError(f"{part!r}: the first day comes after the last")
        if times.lower() == "closed":
            for day in days:
                schedule.pop(day, None)
            continue
        ranges = []
        for rng in re.split(r"\s*,\s*", times):
            r = re.match(r"^(\d{1,2}):(\d{2})\s*[-–~]\s*(\d{1,2}):(\d{2})$", rng)
            if not r:
                raise ValueError(f"cannot read the times {rng!r}: write e.g. 08:30-17:00")
            h1, m1, h2, m2 = (int(x) for x in r.groups())
            if not (0 <= h1 <= 23 and 0 <= h2 <= 24 and m1 < 60 and m2 < 60 and (h1, m1) < (h2, m2)):
                raise ValueError(f"{rng!r} is not a valid time range")
            ranges.append(f"{h1:02d}:{m1:02d}-{h2:02d}:{m2:02d}")
        for day in days:
            schedule[day] = ",".join(ranges)
    return {day: schedule[day] for day in DAYS if day in schedule}


def format_hours(schedule: Optional[Dict[str, str]]) -> str:
    """The inverse of parse_hours: {mon..fri: "08:30-17:00", wed: "08:30-19:00"} ->
    "Mon-Tue 08:30-17:00; Wed 08:30-19:00; Thu-Fri 08:30-17:00"."""
    if not schedule:
        return ""
    parts: List[str] = []
    run: List[str] = []

    def flush() -> None:
        if run:
            label = run[0].title() if len(run) == 1 else f"{run[0].title()}-{run[-1].title()}"
            parts.append(f"{label} {schedule[run[0]]}")

    for day in DAYS:
        value = schedule.get(day)
        if run and value == schedule.get(run[-1]) and value:
            run.append(day)
            continue
        flush()
        run = [day] if value else []
    flush()
    return "; ".join(parts)


def hours_in_facts(schedule: Dict[str, str], root: Path) -> List[str]:
    """Times of a schedule that the facts file never mentions ("19:30")."""
    text = facts_text(root)
    missing = []
    for spec in schedule.values():
        for t in re.findall(r"\d{2}:\d{2}", spec):
            h, m = t.split(":")
            variants = {t, f"{int(h)}:{m}", f"{int(h)}時{m}分", f"{int(h)}時" if m == "00" else t}
            if not any(v in text for v in variants) and t not in missing:
                missing.append(t)
    return missing


def nlu_examples(root: Path) -> Dict[str, Dict[str, List[str]]]:
    """intent -> lang -> example texts, read as tests/test_content.py reads them."""
    per: Dict[str, Dict[str, List[str]]] = defaultdict(lambda: defaultdict(list))
    for path in sorted((root / "data" / "nlu").glob("*/*.yml")):
        lang = path.parent.name
        doc = read_yaml(path)
        for block in doc.get("nlu", []) or []:
            if "intent" in block:
                examples = [e[2:].strip() for e in str(block.get("examples", "")).splitlines() if e.startswith("- ")]
                per[block["intent"]][lang].extend(examples)
    return per


def raw_answers(root: Path) -> Dict[str, Dict[str, Dict[str, Any]]]:
    """lang -> topic -> the answer entry as written (with any pending ``draft``)."""
    out = {}
    for path in sorted((root / "data" / "answers").glob("*.yml")):
        doc = read_yaml(path)
        out[doc.get("language") or path.stem] = dict(doc.get("answers") or {})
    return out


# ---------------------------------------------------------------------------------------------

def check(root: Path, content: Optional[Content] = None) -> List[Problem]:
    """Every problem of the content under ``root`` (a folder with domain.yml and data/)."""
    from actions.directory import contact_card, office_card
    from bot.content import render

    problems: List[Problem] = []

    def add(kind: str, code: str, where: Iterable[str], message: str) -> None:
        problems.append(Problem(kind, code, tuple(where), message))

    content = content or load_content(root / "data")
    facts = facts_text(root)

    # The catalog and the Rasa files that list its topics.
    try:
        domain, rules = render(root)
        rules_path = root / "data" / "rules" / "faq.yml"
        if (root / "domain.yml").read_text(encoding="utf-8") != domain or \
                (rules_path.read_text(encoding="utf-8") if rules_path.exists() else "") != rules:
            add("error", "catalog_sync", ("domain.yml",),
                "domain.yml or data/rules/faq.yml is out of step with the catalog (python -m bot.content sync)")
    except (OSError, ValueError) as exc:
        add("error", "catalog_sync", ("domain.yml",), f"cannot read domain.yml: {exc}")

    # Answers: approved in every language, and readable on a phone.
    raw = raw_answers(root)
    for topic in content.active_topics:
        for lang in ANSWER_LANGUAGES:
            entry = raw.get(lang, {}).get(topic.id)
            if content.answer(topic.id, lang) is None:
                state = "only a draft" if entry else "no answer"
                add("incomplete", "missing_answer", (topic.id, lang),
                    f"{topic.id}: {state} in {lang} (every topic needs an approved answer in every language)")
            if entry is None:
                continue
            ans = content.answers[lang][topic.id]
            kind = "error" if ans.approved else "warning"
            label = "" if ans.approved else " (draft)"
            for code, msg in answer_format_problems(ans.title, ans.text):
                add(kind, code, (topic.id, lang), f"{topic.id} in {lang}{label}: {msg}")
            pending = entry.get("draft") if isinstance(entry, dict) else None
            if isinstance(pending, dict):
                for code, msg in answer_format_problems(str(pending.get("title", "")),
                                                        str(pending.get("text", "")).strip()):
                    add("warning", code, (topic.id, lang), f"{topic.id} in {lang} (pending draft): {msg}")

    # UI strings: the same keys and placeholders as English.
    def flatten(d: Dict[str, Any], prefix: str = "") -> Iterable[Tuple[str, str]]:
        for k, v in d.items():
            if isinstance(v, dict):
                yield from flatten(v, f"{prefix}{k}.")
            else:
                yield f"{prefix}{k}", str(v)

    en = dict(flatten(content.i18n.get("en", {})))
    for lang in ANSWER_LANGUAGES:
        if lang == "en":
            continue
        other = dict(flatten(content.i18n.get(lang, {})))
        if set(en) != set(other):
            add("error", "i18n_keys", (lang,), f"data/i18n/{lang}.yml: keys differ from en.yml: "
                f"{sorted(set(en) ^ set(other))[:5]}")
        for key, value in en.items():
            if key in other and set(re.findall(r"{\w+}", value)) != set(re.findall(r"{\w+}", other[key])):
                add("error", "i18n_placeholders", (lang, key), f"data/i18n/{lang}.yml {key}: placeholders differ")

    # Contacts and phone numbers.
    for topic in content.topics.values():
        if topic.contact not in content.departments:
            add("error", "unknown_department", (topic.id,), f"{topic.id}: unknown department {topic.contact!r}")
        else:
            try:
                if not contact_card(topic.contact, content, "en")["phones"]:
                    add("error", "no_phone", (topic.id,), f"{topic.id}: the contact card has no number to call")
            except Exception as exc:  # a broken directory entry
                add("error", "bad_card", (topic.id,), f"{topic.id}: contact card fails: {exc}")
    for lang in ANSWER_LANGUAGES:
        cards = []
        for key in content.departments:
            try:
                cards.append(contact_card(key, content, lang))
            except Exception as exc:
                add("error", "bad_card", (key, lang), f"{key}: contact card fails in {lang}: {exc}")
        for key in content.regional_offices:
            try:
                cards.append(office_card(key, content, lang))
            except Exception as exc:
                add("error", "bad_card", (key, lang), f"{key}: office card fails in {lang}: {exc}")
        for card in cards:
            for phone in card["phones"]:
                if not (in_facts(phone["number"], root) or phone["number"] in EMERGENCY):
                    add("error", "phone_not_in_facts", (card.get("department", ""),),
                        f"{card.get('department')}: {phone['number']} is not in the facts file")
            for number in phones_in(card["text"]):
                if not in_facts(number, root):
                    add("error", "phone_not_in_facts", (card.get("department", ""),),
                        f"{card.get('department')}: {number} on the card is not in the facts file")
    for key, dept in content.departments.items():
        for fld in ("phone", "phone_24h"):
            value = dept.get(fld)
            if value and value not in EMERGENCY and not in_facts(str(value), root):
                add("error", "phone_not_in_facts", (key,), f"{key}.{fld} {value} is not in the facts file")
        if dept.get("facts") and dept["facts"] not in facts:
            add("error", "facts_entry", (key,), f"{key}: facts entry {dept['facts']!r} not found")
        schedule = dept.get("schedule")
        if schedule:
            try:
                if parse_hours(format_hours(dict(schedule))) != {d: schedule[d] for d in DAYS if d in schedule}:
                    raise ValueError("unexpected format")
            except (ValueError, TypeError, AttributeError) as exc:
                add("error", "bad_hours", (key,), f"{key}: opening hours cannot be read: {exc}")
    for key, office in content.offices.items():
        if office.get("phone") and not in_facts(office["phone"], root):
            add("error", "phone_not_in_facts", (key,), f"office {key}: {office['phone']} is not in the facts file")
        if office.get("name_ja") not in facts:
            add("error", "facts_entry", (key,), f"office {key}: {office.get('name_ja')!r} not in the facts file")

    # Training examples: enough per topic and language, none under two intents.
    examples = nlu_examples(root)
    for topic in content.active_topics:
        per_lang = examples.get(f"{FAQ_PREFIX}{topic.id}", {})
        for lang in MAIN_LANGUAGES:
            n = len(per_lang.get(lang, []))
            if n < MIN_EXAMPLES_MAIN:
                add("incomplete", "few_examples", (topic.id, lang),
                    f"{topic.id}: {n} example questions in {lang} (needs {MIN_EXAMPLES_MAIN})")
        for lang in ("ja-easy", "ne", "tl", "pt", "es"):
            if not per_lang.get(lang):
                add("incomplete", "few_examples", (topic.id, lang), f"{topic.id}: no example question in {lang}")
    active_intents = {f"{FAQ_PREFIX}{t.id}" for t in content.active_topics}
    for intent in examples:
        if intent.startswith(FAQ_PREFIX) and intent not in active_intents:
            add("error", "orphan_examples", (intent,),
                f"examples for {intent}, which is not an active topic of the catalog")
    seen: Dict[str, str] = {}
    for intent, per_lang in examples.items():
        for texts in per_lang.values():
            for text in texts:
                key = text.casefold()
                if key in seen and seen[key] != intent:
                    add("error", "duplicate_example", (text,),
                        f"the example {text!r} is under both {seen[key]} and {intent}")
                seen[key] = intent
    return problems


_CACHE: Dict[str, Tuple[Tuple[Any, ...], List[Problem]]] = {}


def fingerprint(root: Path) -> Tuple[Any, ...]:
    """Changes when any content or Rasa file under ``root`` changes."""
    files = [root / "domain.yml", *sorted((root / "data").rglob("*.y*ml"))]
    return tuple((str(f), f.stat().st_mtime_ns, f.stat().st_size) for f in files if f.is_file())


def check_cached(root: Path) -> List[Problem]:
    """``check(root)``, reused while no file changed (the admin page calls it on every page)."""
    key = str(Path(root).resolve())
    stamp = fingerprint(root)
    hit = _CACHE.get(key)
    if hit and hit[0] == stamp:
        return list(hit[1])
    problems = check(root)
    _CACHE[key] = (stamp, problems)
    return list(problems)


def blocking(problems: Iterable[Problem]) -> List[Problem]:
    """What stops publishing: every error and every incomplete topic."""
    return [p for p in problems if p.kind in ("error", "incomplete")]


def new_problems(before: Iterable[Problem], after: Iterable[Problem], new_topics: Set[str]) -> List[Problem]:
    """Problems an edit introduces: errors not there before, and topics it makes incomplete (a topic
    added by this edit or still being written may be incomplete)."""
    old = {p.ident for p in before}
    out = []
    for p in after:
        if p.kind == "warning" or p.ident in old:
            continue
        if p.kind == "incomplete" and p.where and p.where[0] in new_topics:
            continue
        out.append(p)
    return out
