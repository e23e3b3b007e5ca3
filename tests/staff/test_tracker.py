"""Residents' unanswered questions (masked, grouped with e5) and statistics, from a small SQLite
tracker store written with Rasa's SQLTrackerStore."""
from __future__ import annotations

import json

import pytest

from bot.staff import rules, tracker
from bot.staff.cli import main
from bot.staff.pii import mask


@pytest.mark.parametrize("text,expected", [
    ("call me at 090-1234-5678 or 03-3578-2111", "call me at [phone] or [phone]"),
    ("携帯は09012345678です", "携帯は[phone]です"),
    ("電話０３－３５７８－２１１１", "電話[phone]"),
    ("+81 90 1234 5678 please", "[phone] please"),
    ("mail taro.yamada@example.co.jp thanks", "mail [email] thanks"),
    ("lost zairyu card AB12345678CD", "lost zairyu card [residence card no.]"),
    ("マイナンバーは123456789012です", "マイナンバーは[My Number]です"),
    ("my number 1234 5678 9012", "my number [My Number]"),
    ("〒105-8511 港区芝公園", "[postal code] 港区芝公園"),
    ("postal code 106-0032", "postal code [postal code]"),
    ("I moved 14 days ago with 2 kids aged 3", "I moved 14 days ago with 2 kids aged 3"),
    ("tax for 2024-2025", "tax for 2024-2025"),
])
def test_personal_data_is_masked(text, expected):
    assert mask(text) == expected


def test_questions_language_topic_and_feedback(tracker_db):
    questions = tracker.read_questions(tracker_db, days=30)
    by_text = {q.text: q for q in questions}
    assert "an old question nobody understood" not in by_text          # outside the 30 days
    assert by_text["区役所に車を停める駐車場はありますか"].language == "ja"
    assert by_text["How do I join health insurance?"].feedback == "not_helpful"
    assert by_text["Bạn có thể giúp tôi đăng ký địa chỉ không?"].feedback == "helpful"
    assert not any("090-1234-5678" in q.text or "AB12345678CD" in q.text for q in questions)


def test_unanswered_questions_are_grouped_by_meaning_with_e5(tracker_db):
    groups = tracker.unanswered(tracker_db, days=30)
    texts = [set(g.texts) for g in groups]
    parking = next(g for g in groups if "Where can I park my car at the ward office?" in g.texts)
    assert set(parking.texts) >= {"Where can I park my car at the ward office?",
                                  "is there parking for cars at city hall"}
    assert parking.suggested_topic == "city_hall_hours"
    assert parking.reasons["fallback"] == len(parking.texts) and parking.count >= 2
    assert {"How do I join health insurance?"} in texts                  # not helpful, its own group
    health = next(g for g in groups if "How do I join health insurance?" in g.texts)
    assert health.reasons == {"not_helpful": 1} and health.answered_topics == {"nhi_enrollment": 1}
    assert health.suggested_topic == "nhi_premium"
    weather = next(g for g in groups if "what's the weather tomorrow" in g.texts)
    assert weather.reasons == {"out_of_scope": 1} and weather.lang_of["what's the weather tomorrow"] == "en"
    flat = " ".join(t for g in groups for t in g.texts)
    assert "[phone]" in flat and "[residence card no.]" in flat and "090-1234" not in flat
    assert "/feedback" not in flat and "/faq_" not in flat               # buttons are not questions
    assert "Bạn có thể" not in flat                                      # answered and helpful


def test_stats(tracker_db):
    s = tracker.stats(tracker_db, days=30)
    assert s.questions == 8 and s.conversations == 4
    assert s.fallbacks == 4 and s.out_of_scope == 1 and s.fallback_rate == pytest.approx(0.5)
    assert s.helpful == 1 and s.not_helpful == 1 and s.not_helpful_topics == {"nhi_enrollment": 1}
    assert s.per_language == {"en": 6, "ja": 1, "vi": 1}   # a button counts in the conversation's language
    assert s.per_topic == {"nhi_enrollment": 1, "nhi_premium": 1, "moving_in": 1}
    assert sum(s.per_day.values()) == 8
    assert tracker.stats(tracker_db, days=90).questions == 9


def test_cli_unanswered_stats_and_promote(project, tracker_db, capsys):
    assert main(["unanswered", "--days", "30"]) == 0
    out = capsys.readouterr().out
    assert "Where can I park my car at the ward office?" in out and "suggested topic: city_hall_hours" in out
    assert "090-1234-5678" not in out
    assert main(["stats", "--days", "30", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["questions"] == 8 and data["not_helpful"] == 1 and data["fallback_rate"] == 0.5
    # The Japanese question becomes an example of a topic, in the language the tracker recorded.
    assert main(["promote", "区役所に車を停める駐車場はありますか", "--topic", "city_hall_hours"]) == 0
    assert "区役所に車を停める駐車場はありますか" in rules.nlu_examples(project.root)["faq_city_hall_hours"]["ja"]
    # A new topic from a question; personal data never reaches the training data.
    assert main(["promote", "can I get a parking permit? my mail is a@b.jp", "--new-topic", "parking_permit",
                 "--contact", "city_hall"]) == 0
    assert rules.nlu_examples(project.root)["faq_parking_permit"]["en"] == \
        ["can I get a parking permit? my mail is [email]"]


def test_no_tracker_store_yet(project, capsys):
    assert main(["stats"]) == 1
    assert "no conversations yet" in capsys.readouterr().err
