"""Machine-translated drafts with a fake translator: never served, all or nothing, clear when offline."""
from __future__ import annotations

import pytest

import bot.staff.translate as translate
from actions.content import ANSWER_LANGUAGES, load_content
from bot.staff import rules
from bot.staff.cli import main
from bot.staff.translate import TranslationUnavailable, draft_translations
from tests.staff.conftest import FakeTranslator, audit_lines, tree_digest


def test_drafts_in_every_other_language_are_never_served(project, store, fake_translator):
    before = load_content(project.data)
    result = draft_translations(store, "moving_in", "en", translator=fake_translator)
    assert {dest for _, _, dest in fake_translator.calls} == {"ja", "zh-cn", "ko", "vi", "ne", "tl", "pt", "es"}
    after = load_content(project.data)
    raw = rules.raw_answers(project.root)
    for lang in ANSWER_LANGUAGES:
        if lang == "en":
            continue
        # Residents keep the approved answer; the draft waits beside it.
        assert after.answer("moving_in", lang) == before.answer("moving_in", lang)
        draft = raw[lang]["moving_in"]["draft"]
        assert draft["source"] == "machine translation from en"
        assert draft["text"].splitlines()[1].startswith("• [")     # bullets kept
    assert raw["vi"]["moving_in"]["draft"]["text"].startswith("[vi] ")
    assert raw["zh"]["moving_in"]["draft"]["text"].startswith("[zh-cn] ")
    assert any("ja-easy" in w for w in result.warnings)
    assert audit_lines(project)[-1]["action"] == "draft-translations"


def test_a_new_topic_gets_status_draft_answers(project, store, fake_translator):
    store.add_topic("parking_permit", "city_hall")
    store.edit_answer("parking_permit", "en", "The ward offices have no visitor parking.\n• Use public transport.",
                      title="Parking", mode="approved")
    draft_translations(store, "parking_permit", "en", translator=fake_translator)
    content = load_content(project.data)
    for lang in ANSWER_LANGUAGES:
        if lang != "en":
            assert content.answers[lang]["parking_permit"].status == "draft"
            assert content.answer("parking_permit", lang) is None           # Content.answer: approved only
    store.approve("parking_permit", "vi")
    assert load_content(project.data).answer("parking_permit", "vi").text.startswith("[vi] ")


@pytest.mark.parametrize("translator,message", [
    (FakeTranslator(online=False), "No internet connection"),
    (FakeTranslator(fail_after=3), "No internet connection"),     # the connection drops half-way
    (FakeTranslator(refuse=True), "untranslated"),                # the service hands back the source text
])
def test_any_failure_writes_nothing(project, store, translator, message):
    digest = tree_digest(project.root)
    with pytest.raises(TranslationUnavailable, match=message) as err:
        draft_translations(store, "moving_in", "en", translator=translator)
    assert "Nothing was written" in str(err.value)
    assert tree_digest(project.root) == digest
    assert audit_lines(project) == []


def test_the_cli_says_clearly_when_there_is_no_internet(project, capsys, monkeypatch):
    monkeypatch.setattr(translate, "GoogleTranslator", lambda: FakeTranslator(online=False))
    digest = tree_digest(project.root)
    assert main(["draft-translations", "moving_in", "--from", "en"]) == 1
    err = capsys.readouterr().err
    assert "No internet connection" in err and "Nothing was written" in err
    assert tree_digest(project.root) == digest


def test_the_fake_behaves_like_googletrans_on_language_codes(fake_translator):
    with pytest.raises(ValueError, match="invalid destination language"):
        fake_translator.translate(["hello"], "en", "ja-easy")
    assert translate.SERVICE_CODES["ja-easy"] == "ja" and translate.SERVICE_CODES["zh"] == "zh-cn"
