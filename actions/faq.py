"""Answering FAQ topics, and what to do when the topic is uncertain."""
from __future__ import annotations

import logging
from typing import List

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import MAX_BUTTONS, AssistantAction, has_words, user_text
from actions.content import DEFAULT_LANGUAGE
from actions.directory import contact_card, match_office_area, office_card

logger = logging.getLogger(__name__)

FAQ_PREFIX = "faq_"
MAX_MESSAGE_CHARS = 2000
# The department of the emergency numbers (119 / 110): its topics answer before anything else.
EMERGENCY_CONTACT = "emergency"
# "Did this help?" as two quick replies after every answer; 👎 is what staff review (bot.staff unanswered).
FEEDBACK_BUTTONS = [{"title": "👍", "payload": "/feedback_helpful"},
                    {"title": "👎", "payload": "/feedback_not_helpful"}]
# Another topic this close in the ranking is offered first among the quick replies. Over the five
# evaluation sets, when the answered topic was wrong the right one was the runner-up at >= 0.1 in 20
# of 26 cases; when it was right, 5% of answers had such a runner-up (docs/nlu.md, Results).
CLOSE_ALTERNATIVE = 0.1


class ActionAnswerFaq(AssistantAction):
    """Answers the FAQ topic of the latest message in the resident's language, then the contact card
    of the responsible department, up to three related topics and 👍/👎 as quick replies."""

    def name(self) -> str:
        """Action name."""
        return "action_answer_faq"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        """Sends answer, contact card and related topics."""
        content, language, lang = self.begin(tracker)
        intent = (tracker.latest_message.get("intent") or {}).get("name") or ""
        topic_id = intent[len(FAQ_PREFIX):] if intent.startswith(FAQ_PREFIX) else ""
        topic = content.topics.get(topic_id)
        answer = content.answer(topic_id, lang) or content.answer(topic_id, DEFAULT_LANGUAGE)
        if topic is None or topic.retired or answer is None:
            logger.warning("no answer for intent %r in %s", intent, lang)
            return await ActionFallbackCandidates().run(dispatcher, tracker, domain)
        # Someone calling for 119 reads the numbers first; the note on languages can wait.
        urgent = topic.contact == EMERGENCY_CONTACT
        if not urgent:
            self.outside_note(dispatcher, language)
        self.say(dispatcher, answer.text)
        area_office = match_office_area(user_text(tracker), content) if topic_id == "regional_offices" else None
        if area_office:
            self.say(dispatcher, content.text(lang, "ui.regional_office_one", area=content.text(
                lang, f"offices.{area_office}")))
            self.send_card(dispatcher, office_card(area_office, content, lang))
        else:
            self.send_card(dispatcher, contact_card(topic.contact, content, lang))
        if urgent:
            self.outside_note(dispatcher, language)
        close = ranked_topics(tracker, CLOSE_ALTERNATIVE, limit=2, exclude=topic_id)
        buttons = self.topic_buttons(content, list(dict.fromkeys([*close, *topic.related])), lang)
        self.say(dispatcher, content.text(lang, "ui.related_intro"), buttons + FEEDBACK_BUTTONS)
        return [*language.events, SlotSet("last_topic", topic_id)]


def ranked_topics(tracker: Tracker, min_confidence: float = 0.02, limit: int = MAX_BUTTONS,
                  exclude: str = "") -> List[str]:
    """Topic ids of the best FAQ intents in the latest message's ranking (at least ``min_confidence``)."""
    out = []
    for item in tracker.latest_message.get("intent_ranking") or []:
        name = item.get("name") or ""
        topic_id = name[len(FAQ_PREFIX):]
        if name.startswith(FAQ_PREFIX) and topic_id != exclude and (item.get("confidence") or 0) >= min_confidence:
            out.append(topic_id)
    return out[:limit]


class ActionFallbackCandidates(AssistantAction):
    """When the topic is uncertain: the best three candidate topics as quick replies, plus the
    foreign residents' consultation desk; never a guessed answer."""

    def name(self) -> str:
        """Action name."""
        return "action_fallback_candidates"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        """Sends candidates (or a request to rephrase) and the consultation desk's card."""
        content, language, lang = self.begin(tracker)
        text = user_text(tracker)
        if not has_words(text):
            self.say(dispatcher, content.text(lang, "ui.empty_message"))
            return language.events
        if len(text) > MAX_MESSAGE_CHARS:
            self.say(dispatcher, content.text(lang, "ui.too_long"))
            return language.events
        self.outside_note(dispatcher, language)
        buttons = self.topic_buttons(content, ranked_topics(tracker), lang)
        if buttons:
            self.say(dispatcher, content.text(lang, "ui.fallback_intro"), buttons)
        else:
            self.say(dispatcher, content.text(lang, "ui.fallback_none"))
        self.send_card(dispatcher, contact_card("international", content, lang))
        return language.events
