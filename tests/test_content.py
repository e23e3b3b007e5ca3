"""Content checks that fail before a resident could see a gap: every topic answered in every
language, every contact resolvable, every phone number traceable to the facts file."""
from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import pytest
import yaml

from actions.content import ANSWER_LANGUAGES, load_content
from actions.directory import contact_card, office_card

REPO = Path(__file__).resolve().parent.parent
CONTENT = load_content(REPO / "data")
FACTS_TEXT = (REPO / "data" / "reference" / "minato_facts.yaml").read_text(encoding="utf-8")
# Phone-like digit groups: 03-3578-2574, 0570-013904, 0120-483-710, 03 5472 3710, ０３-...
PHONE = re.compile(r"(?<![\d-])(?:\+81[\s-]?)?0\d{1,4}[\s-]\d{2,6}(?:[\s-]\d{3,4})?(?![\d-])")
TOPIC_LANGS_MAIN = ("ja", "en", "zh", "ko", "vi")


def phones_in(text: str) -> list:
    import unicodedata

    return [m.group() for m in PHONE.finditer(unicodedata.normalize("NFKC", text))]


def in_facts(number: str) -> bool:
    digits = re.sub(r"\D", "", number)
    return any(re.sub(r"\D", "", m) == digits for m in re.findall(r"[0-9][0-9\-]{5,}[0-9]", FACTS_TEXT))


def test_catalog_matches_the_domain_and_rules():
    from bot.content import main

    assert main(["check"]) == 0, "run `python -m bot.content sync`"


@pytest.mark.parametrize("lang", ANSWER_LANGUAGES)
def test_every_topic_has_an_approved_answer(lang):
    missing = [t.id for t in CONTENT.active_topics if CONTENT.answer(t.id, lang) is None]
    assert not missing, f"{lang}: no approved answer for {missing}"


@pytest.mark.parametrize("lang", ANSWER_LANGUAGES)
def test_answers_fit_on_a_phone(lang):
    for topic in CONTENT.active_topics:
        answer = CONTENT.answers[lang][topic.id]
        assert 0 < len(answer.title) <= 20, f"{lang}/{topic.id}: title {answer.title!r} must be 1-20 characters"
        bullets = [line for line in answer.text.splitlines() if line.lstrip().startswith("•")]
        assert len(bullets) <= 3, f"{lang}/{topic.id}: {len(bullets)} bullet points"
        assert len(answer.text) <= 800, f"{lang}/{topic.id}: {len(answer.text)} characters"


@pytest.mark.parametrize("lang", ANSWER_LANGUAGES)
def test_answers_contain_no_phone_numbers_or_urls(lang):
    for topic in CONTENT.active_topics:
        text = CONTENT.answers[lang][topic.id].text
        assert not phones_in(text), f"{lang}/{topic.id}: phone numbers belong in the contact card"
        assert not re.search(r"https?://|www\.", text), f"{lang}/{topic.id}: no URLs in answers"


@pytest.mark.parametrize("lang", [lang for lang in ANSWER_LANGUAGES if lang != "en"])
def test_ui_strings_have_the_same_keys_and_placeholders_as_english(lang):
    def flatten(d, prefix=""):
        for k, v in d.items():
            if isinstance(v, dict):
                yield from flatten(v, f"{prefix}{k}.")
            else:
                yield f"{prefix}{k}", str(v)

    en = dict(flatten(CONTENT.i18n["en"]))
    other = dict(flatten(CONTENT.i18n[lang]))
    assert set(en) == set(other), f"{lang}: keys differ: {set(en) ^ set(other)}"
    for key, value in en.items():
        assert set(re.findall(r"{\w+}", value)) == set(re.findall(r"{\w+}", other[key])), f"{lang}:{key}"


def test_every_contact_resolves_to_a_department_with_a_phone():
    for topic in CONTENT.topics.values():
        dept = CONTENT.departments.get(topic.contact)
        assert dept is not None, f"{topic.id}: unknown department {topic.contact}"
        card = contact_card(topic.contact, CONTENT, "en")
        assert card["phones"], f"{topic.id}: the card has no number to call"


@pytest.mark.parametrize("lang", ANSWER_LANGUAGES)
def test_every_phone_on_any_card_is_in_the_facts_file(lang):
    cards = [contact_card(key, CONTENT, lang) for key in CONTENT.departments]
    cards += [office_card(key, CONTENT, lang) for key in CONTENT.regional_offices]
    for card in cards:
        for phone in card["phones"]:
            assert in_facts(phone["number"]) or phone["number"] in ("119", "110"), phone
        for number in phones_in(card["text"]):
            assert in_facts(number), (card["department"], number)


def test_directory_values_come_from_the_facts_file():
    for key, dept in CONTENT.departments.items():
        for field in ("phone", "phone_24h"):
            if dept.get(field) and dept[field] not in ("119", "110"):
                assert in_facts(dept[field]), f"{key}.{field} {dept[field]} is not in the facts file"
        if dept.get("facts"):
            assert dept["facts"] in FACTS_TEXT, f"{key}: facts entry {dept['facts']!r} not found"
    for key, office in CONTENT.offices.items():
        if office.get("phone"):
            assert in_facts(office["phone"]), key
        assert office["name_ja"] in FACTS_TEXT, key


def _examples():
    per = defaultdict(lambda: defaultdict(list))
    for path in sorted((REPO / "data" / "nlu").glob("*/*.yml")):
        lang = path.parent.name
        for block in yaml.safe_load(path.read_text(encoding="utf-8")).get("nlu", []):
            if "intent" in block:
                examples = [e[2:].strip() for e in block["examples"].splitlines() if e.startswith("- ")]
                per[block["intent"]][lang].extend(examples)
    return per


EXAMPLES = _examples()


@pytest.mark.parametrize("topic", [t.id for t in CONTENT.active_topics])
def test_every_topic_has_training_examples_in_the_main_languages(topic):
    per_lang = EXAMPLES[f"faq_{topic}"]
    for lang in TOPIC_LANGS_MAIN:
        assert len(per_lang[lang]) >= 5, f"faq_{topic}: {len(per_lang[lang])} examples in {lang}"
    for lang in ("ja-easy", "ne", "tl", "pt", "es"):
        assert per_lang[lang], f"faq_{topic}: no example in {lang}"


def test_no_example_belongs_to_two_intents():
    seen = {}
    clashes = []
    for intent, per_lang in EXAMPLES.items():
        for examples in per_lang.values():
            for text in examples:
                key = text.casefold()
                if key in seen and seen[key] != intent:
                    clashes.append((text, seen[key], intent))
                seen[key] = intent
    assert not clashes, clashes[:10]


EVALUATION_SETS = sorted(p.name for p in (REPO / "tests" / "data").glob("*_questions.yaml"))


def test_the_evaluation_sets_are_all_checked_for_leaks():
    assert {"dev_questions.yaml", "holdout_questions.yaml", "blind_questions.yaml"} <= set(EVALUATION_SETS)


@pytest.mark.parametrize("name", EVALUATION_SETS)
def test_evaluation_questions_are_not_training_examples(name):
    trained = {text.casefold() for per_lang in EXAMPLES.values() for texts in per_lang.values() for text in texts}
    questions = yaml.safe_load((REPO / "tests" / "data" / name).read_text(encoding="utf-8"))
    leaked = [q["text"] for q in questions if q["text"].casefold() in trained]
    assert not leaked, f"{name}: {len(leaked)} questions are also training examples, e.g. {leaked[:3]}"


def test_no_example_is_written_twice_in_a_language():
    """The staff sheet rejects a duplicate row, so the data must not contain any."""
    seen, repeats = defaultdict(set), []
    for langs in EXAMPLES.values():
        for lang, texts in langs.items():
            for text in texts:
                if text.casefold() in seen[lang]:
                    repeats.append((lang, text))
                seen[lang].add(text.casefold())
    assert not repeats, repeats[:10]
