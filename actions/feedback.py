"""Residents' feedback on an answer: 👍 (feedback_helpful) or 👎 (feedback_not_helpful).

The feedback itself is the intent in the tracker store: the staff tools (``python -m bot.staff
unanswered`` / ``stats``, the admin page) read it from there, next to the question it follows.
"""
from __future__ import annotations

import logging
from typing import List

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import AssistantAction
from actions.directory import contact_card

logger = logging.getLogger(__name__)

NOT_HELPFUL = "feedback_not_helpful"
# Where a resident whose answer did not help can ask a person.
HELP_DESK = "international"


class ActionFeedback(AssistantAction):
    """Thanks the resident for their feedback in their language; after "not helpful", also shows
    where to ask a person (the foreign residents' consultation desk)."""

    def name(self) -> str:
        """Action name."""
        return "action_feedback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        """Sends the thanks (and, after "not helpful", the consultation desk's card)."""
        content, language, lang = self.begin(tracker)
        intent = (tracker.latest_message.get("intent") or {}).get("name") or ""
        logger.info("feedback %s on topic %s", intent, tracker.get_slot("last_topic"))
        self.say(dispatcher, content.text(lang, "ui.feedback_thanks"))
        if intent == NOT_HELPFUL:
            self.say(dispatcher, content.text(lang, "ui.handoff"))
            self.send_card(dispatcher, contact_card(HELP_DESK, content, lang))
        return language.events
