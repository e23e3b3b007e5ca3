"""action_feedback: thanks in the resident's language; after "not helpful", where to ask a person."""
from __future__ import annotations

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.content import get_content
from actions.feedback import ActionFeedback


def tracker_for(intent: str, language: str) -> Tracker:
    return Tracker(
        sender_id="resident", slots={"language": language, "language_source": "detected", "last_topic": "moving_in"},
        latest_message={"text": f"/{intent}", "intent": {"name": intent, "confidence": 1.0},
                        "entities": [{"entity": "detected_language", "value": "unknown", "source": "unknown"}]},
        events=[], paused=False, followup_action=None, active_loop={}, latest_action_name="action_listen")


@pytest.mark.parametrize("language", ["ja", "vi", "ne"])
async def test_helpful(language):
    dispatcher = CollectingDispatcher()
    events = await ActionFeedback().run(dispatcher, tracker_for("feedback_helpful", language), {})
    assert [m["text"] for m in dispatcher.messages] == [get_content().text(language, "ui.feedback_thanks")]
    assert events == []


async def test_not_helpful_offers_the_consultation_desk():
    dispatcher = CollectingDispatcher()
    await ActionFeedback().run(dispatcher, tracker_for("feedback_not_helpful", "ko"), {})
    content = get_content()
    assert dispatcher.messages[0]["text"] == content.text("ko", "ui.feedback_thanks")
    assert dispatcher.messages[1]["text"] == content.text("ko", "ui.handoff")
    card = dispatcher.messages[2]["custom"]
    assert card["type"] == "contact_card" and card["department"] == "international" and card["lang"] == "ko"
