"""The one module every edit goes through: checked, written with comments kept, logged."""
from __future__ import annotations

import difflib
from pathlib import Path

import pytest
import yaml

from actions.content import ANSWER_LANGUAGES, load_content
from bot.staff import rules
from bot.staff.project import StaffError
from bot.staff.store import ValidationFailed
from tests.staff.conftest import REPO, audit_lines, tree_digest


def changed_lines(before: str, after: str) -> list:
    return [line for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
            if line[:1] in "+-" and not line.startswith(("+++", "---"))]


def test_the_rules_pass_on_the_repository_content_as_tests_test_content_does():
    assert [p.message for p in rules.blocking(rules.check(REPO))] == []


def test_edit_answer_changes_only_that_answer_and_keeps_comments(project, store):
    path = project.data / "answers" / "vi.yml"
    before = path.read_text(encoding="utf-8")
    result = store.edit_answer("moving_in", "vi",
                               "Hãy nộp thông báo chuyển đến trong vòng 14 ngày.\n• Mang theo thẻ cư trú.")
    after = path.read_text(encoding="utf-8")
    diff = changed_lines(before, after)
    assert all(line.startswith(("-      ", "+      ")) for line in diff), diff   # only text lines of one entry
    assert after.splitlines()[:2] == before.splitlines()[:2]                      # the header comments stay
    content = load_content(project.data)
    assert content.answer("moving_in", "vi").text.startswith("Hãy nộp")
    assert [c.what for c in result.changes] == ["text"]
    entry = audit_lines(project)[-1]
    assert entry["user"] == "test-staff" and entry["action"] == "edit-answer" and entry["target"] == "moving_in/vi"
    assert entry["changes"][0]["before"].startswith("Nếu bạn chuyển đến") and "time" in entry


def test_a_draft_beside_an_approved_answer_is_not_served_until_approved(project, store):
    served = load_content(project.data).answer("moving_out", "ko").text
    store.edit_answer("moving_out", "ko", "새 초안입니다.", mode="draft")
    content = load_content(project.data)
    assert content.answer("moving_out", "ko").text == served   # residents still get the approved one
    raw = rules.raw_answers(project.root)["ko"]["moving_out"]
    assert raw["status"] == "approved" and raw["draft"]["text"] == "새 초안입니다."
    store.approve("moving_out", "ko")
    content = load_content(project.data)
    assert content.answer("moving_out", "ko").text == "새 초안입니다."
    assert "draft" not in rules.raw_answers(project.root)["ko"]["moving_out"]
    with pytest.raises(StaffError, match="already approved"):
        store.approve("moving_out", "ko")


@pytest.mark.parametrize("text,reason", [
    ("Gọi 03-3578-2111 để hỏi.", "phone number"),
    ("Xem https://www.city.minato.tokyo.jp/", "web address"),
    ("Một\n• a\n• b\n• c\n• d", "bullet"),
    ("x" * 801, "801 characters"),
])
def test_an_edit_that_breaks_a_content_rule_is_refused_and_nothing_is_written(project, store, text, reason):
    digest = tree_digest(project.root)
    with pytest.raises(ValidationFailed, match=reason):
        store.edit_answer("moving_in", "vi", text)
    assert tree_digest(project.root) == digest
    assert audit_lines(project) == []


def test_title_over_20_characters_is_refused(project, store):
    with pytest.raises(ValidationFailed, match="1-20 characters"):
        store.edit_answer("moving_in", "en", "Text.", title="A title that is far too long")


def test_examples_go_through_rasa_and_one_example_belongs_to_one_topic(project, store):
    store.add_example("moving_in", "en", "newcomer here, where do i register where i live")
    data = yaml.safe_load((project.data / "nlu" / "en" / "faq.yml").read_text(encoding="utf-8"))
    block = next(b for b in data["nlu"] if b["intent"] == "faq_moving_in")
    assert "- newcomer here, where do i register where i live" in block["examples"]
    with pytest.raises(StaffError, match="already an example of greet"):
        store.add_example("moving_out", "en", "Hello")
    with pytest.raises(StaffError, match="already an example of moving_in"):
        store.add_example("moving_out", "en", "newcomer here, where do i register where i live")
    with pytest.raises(StaffError, match="formula"):
        store.add_example("moving_in", "en", '=HYPERLINK("http://evil.example","help")')
    store.remove_example("moving_in", "en", "newcomer here, where do i register where i live")
    assert (project.data / "nlu" / "en" / "faq.yml").read_text(encoding="utf-8") == \
        (REPO / "data" / "nlu" / "en" / "faq.yml").read_text(encoding="utf-8")


def test_removing_examples_below_the_minimum_is_refused(project, store):
    examples = rules.nlu_examples(project.root)["faq_moving_in"]["ko"]
    for text in examples[: len(examples) - rules.MIN_EXAMPLES_MAIN]:
        store.remove_example("moving_in", "ko", text)
    with pytest.raises(ValidationFailed, match="example questions in ko"):
        store.remove_example("moving_in", "ko", examples[-1])


def test_add_topic_syncs_domain_and_rules_and_may_be_incomplete_until_published(project, store):
    store.add_topic("parking_permit", "city_hall", "Parking near ward offices.", ["city_hall_hours"])
    domain = (project.root / "domain.yml").read_text(encoding="utf-8")
    assert "  - faq_parking_permit\n  # END FAQ INTENTS" in domain
    assert "intent: faq_parking_permit" in (project.data / "rules" / "faq.yml").read_text(encoding="utf-8")
    store.edit_answer("parking_permit", "en", "The ward offices have no parking for visitors.", title="Parking")
    problems = rules.blocking(rules.check(project.root))
    assert problems and all(p.where[0] == "parking_permit" for p in problems)   # blocks publishing only
    assert load_content(project.data).answer("parking_permit", "en") is None     # a new answer is a draft
    with pytest.raises(StaffError, match="already exists"):
        store.add_topic("parking_permit", "city_hall")
    with pytest.raises(StaffError, match="unknown department"):
        store.add_topic("bike_parking", "nowhere")


def test_retire_topic_keeps_the_id_and_removes_its_training_examples(project, store):
    store.retire_topic("dog_registration")
    catalog = yaml.safe_load((project.data / "catalog.yml").read_text(encoding="utf-8"))
    entry = next(t for t in catalog["topics"] if t["id"] == "dog_registration")
    assert entry["retired"] is True
    assert "faq_dog_registration" not in (project.root / "domain.yml").read_text(encoding="utf-8")
    assert "faq_dog_registration" not in rules.nlu_examples(project.root)
    assert rules.blocking(rules.check(project.root)) == []


def test_set_phone_accepts_only_numbers_of_the_facts_file(project, store):
    with pytest.raises(StaffError, match="not in data/reference/minato_facts.yaml"):
        store.set_phone("nhi_pension", "03-1234-5678")
    store.set_phone("nhi_pension", "0335782111")   # written as the facts file writes it
    assert load_content(project.data).departments["nhi_pension"]["phone"] == "03-3578-2111"
    with pytest.raises(StaffError, match="regional city offices"):
        store.set_phone("counter_services", "03-3578-2111")


def test_set_hours(project, store):
    store.set_hours("nhi_pension", "Mon-Fri 08:30-17:00; Wed 08:30-19:00")
    schedule = load_content(project.data).departments["nhi_pension"]["schedule"]
    assert schedule["wed"] == "08:30-19:00" and schedule["mon"] == "08:30-17:00" and "sat" not in schedule
    text = (project.data / "directory" / "departments.yml").read_text(encoding="utf-8")
    assert 'schedule: {mon: "08:30-17:00", tue: "08:30-17:00", wed: "08:30-19:00"' in text   # same style
    with pytest.raises(StaffError, match="does not appear in data/reference"):
        store.set_hours("nhi_pension", "Mon-Fri 08:45-16:15")
    with pytest.raises(StaffError, match="cannot read"):
        store.set_hours("nhi_pension", "weekdays nine to five")


def test_every_language_has_the_feedback_strings():
    content = load_content(REPO / "data")
    for lang in ANSWER_LANGUAGES:
        for key in ("ui.feedback_thanks", "ui.feedback_ask"):
            text = content.text(lang, key)
            assert text != key and (lang == "en" or text != content.text("en", key)), (lang, key)


def test_the_repository_data_is_untouched_by_these_tests():
    # Every test above edits a copy (tmp_path); the repository's data stays as committed or as
    # the other engineer left it. A cheap guard: no staff audit log appears in the repository.
    assert not (REPO / ".state" / "audit.log").exists() or "test-staff" not in \
        Path(REPO / ".state" / "audit.log").read_text(encoding="utf-8")
