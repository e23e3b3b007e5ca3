"""What every action shares: the content, the answer language, and how replies are sent."""
from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from typing import Any, Dict, List, Optional, Tuple

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import language as lang_mod
from actions.content import Content, get_content

logger = logging.getLogger(__name__)

MAX_BUTTONS = 3


class AssistantAction(Action, ABC):
    """Base for the assistant's actions: resolves the reply language and sends localised replies."""

    @abstractmethod
    def name(self) -> str:
        """Action name (abstract, so that rasa-sdk does not register this base class)."""

    @staticmethod
    def content() -> Content:
        """The current content (reloaded after staff edits)."""
        return get_content()

    @staticmethod
    def language(tracker: Tracker) -> lang_mod.Language:
        """The language to answer the latest message in."""
        return lang_mod.resolve(tracker)

    def begin(self, tracker: Tracker) -> Tuple[Content, lang_mod.Language, str]:
        """What every reply starts from: the content, the answer language, and its code."""
        language = self.language(tracker)
        return self.content(), language, language.code

    @staticmethod
    def say(dispatcher: CollectingDispatcher, text: str, buttons: Optional[List[Dict[str, Any]]] = None) -> None:
        """Sends plain text (and quick replies)."""
        if buttons:
            dispatcher.utter_message(text=text, buttons=buttons)
        else:
            dispatcher.utter_message(text=text)

    @staticmethod
    def send_card(dispatcher: CollectingDispatcher, card: Dict[str, Any]) -> None:
        """Sends a contact card (docs/architecture.md)."""
        dispatcher.utter_message(json_message=card)

    @staticmethod
    def topic_buttons(content: Content, topic_ids: List[str], lang: str) -> List[Dict[str, str]]:
        """Quick replies that ask a topic directly (payload /faq_<id>)."""
        buttons = []
        for tid in topic_ids[:MAX_BUTTONS]:
            topic = content.topics.get(tid)
            if topic is None or topic.retired:
                continue
            buttons.append({"title": content.title(tid, lang)[:20], "payload": f"/faq_{tid}"})
        return buttons

    def outside_note(self, dispatcher: CollectingDispatcher, language: lang_mod.Language) -> None:
        """For a message in a language we do not offer: say so, in English, with the list."""
        if language.outside:
            content = self.content()
            self.say(dispatcher, content.text("en", "ui.unsupported_language") + "\n"
                     + lang_mod.offered_line(content, "en"))


def user_text(tracker: Tracker) -> str:
    """The latest message's text."""
    return tracker.latest_message.get("text") or ""


def has_words(text: str) -> bool:
    """Whether a message has any letters at all (not empty, not only emoji or punctuation)."""
    return any(ch.isalpha() for ch in text or "")
