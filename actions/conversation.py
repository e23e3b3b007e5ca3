"""Small talk, out-of-scope questions and language changes."""
from __future__ import annotations

import logging
from typing import List

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import AssistantAction, user_text
from actions.content import ANSWER_LANGUAGES
from actions.language import Language, detected, offered_line, requested_language

logger = logging.getLogger(__name__)

REPLIES = {
    "greet": "ui.greet",
    "goodbye": "ui.goodbye",
    "thanks": "ui.thanks",
    "affirm": "ui.thanks",
    "deny": "ui.thanks",
    "bot_challenge": "ui.bot_challenge",
    "out_of_scope": "ui.out_of_scope",
}
# Topics offered as quick replies after a greeting.
STARTER_TOPICS = ["moving_in", "nhi_enrollment", "garbage_sorting"]


class ActionSmallTalk(AssistantAction):
    """A short reply in the resident's language to greetings, thanks, "are you a bot?" and
    questions outside the ward's services."""

    def name(self) -> str:
        """Action name."""
        return "action_small_talk"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        """Sends the reply for the latest intent."""
        content, language, lang = self.begin(tracker)
        intent = (tracker.latest_message.get("intent") or {}).get("name") or ""
        self.outside_note(dispatcher, language)
        text = content.text(lang, REPLIES.get(intent, "ui.fallback_none"))
        if intent == "greet":
            self.say(dispatcher, text, self.topic_buttons(content, STARTER_TOPICS, lang))
        else:
            self.say(dispatcher, text)
        return language.events


class ActionChangeLanguage(AssistantAction):
    """ "Can you answer in Korean?": switches the conversation's language (an explicit choice that
    wins over detection), or lists the languages offered."""

    def name(self) -> str:
        """Action name."""
        return "action_change_language"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        """Sets the language slot and confirms in the new language."""
        content = self.content()
        wanted = self.wanted(tracker)
        if wanted in ANSWER_LANGUAGES:
            self.say(dispatcher, content.text(wanted, "ui.language_changed"))
            return [SlotSet("language", wanted), SlotSet("language_source", "explicit")]
        current = self.language(tracker)
        lang = current.code
        buttons = [{"title": content.language_name(code), "payload": f'/change_language{{"language":"{code}"}}'}
                   for code in ANSWER_LANGUAGES]
        prefix = content.text(lang, "ui.unsupported_language") + "\n" if wanted else ""
        self.say(dispatcher, prefix + offered_line(content, lang), buttons)
        return current.events

    @staticmethod
    def wanted(tracker: Tracker) -> str:
        """The language asked for: a `language` entity (picker buttons), a language named in the
        text, or the language the request itself is written in."""
        for entity in tracker.latest_message.get("entities") or []:
            if entity.get("entity") == "language" and entity.get("value"):
                return str(entity["value"])
        named = requested_language(user_text(tracker))
        if named:
            return named
        entity = detected(tracker)
        if entity.get("source") in ("script", "model"):
            return str(entity.get("value") or "")
        return ""


__all__ = ["ActionSmallTalk", "ActionChangeLanguage", "Language"]
