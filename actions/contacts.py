"""Department look-up and hand-off to a person."""
from __future__ import annotations

import logging
from typing import List, Optional

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import AssistantAction, user_text
from actions.directory import closest_department, contact_card, match_department
from actions.faq import FAQ_PREFIX

logger = logging.getLogger(__name__)


class ActionDepartmentContact(AssistantAction):
    """ "What is the number of the nursery section / where is the health center": the card of the
    department the message names (names and aliases in all languages), else the one whose name is
    clearly closest in meaning, else the department responsible for the closest FAQ topic."""

    def name(self) -> str:
        """Action name."""
        return "action_department_contact"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        """Sends the department's contact card, or asks which department is meant."""
        content = self.content()
        language = self.language(tracker)
        lang = language.code
        text = user_text(tracker)
        key = match_department(text, content) or closest_department(text, content) or self.from_ranking(tracker)
        self.outside_note(dispatcher, language)
        if key is None:
            self.say(dispatcher, content.text(lang, "ui.department_unknown"))
            return language.events
        self.send_card(dispatcher, contact_card(key, content, lang))
        return language.events

    def from_ranking(self, tracker: Tracker) -> Optional[str]:
        """The contact of the best-ranked FAQ topic, if the classifier gave it some weight."""
        content = self.content()
        for item in tracker.latest_message.get("intent_ranking") or []:
            name = item.get("name") or ""
            if name.startswith(FAQ_PREFIX) and (item.get("confidence") or 0) >= 0.05:
                topic = content.topics.get(name[len(FAQ_PREFIX):])
                if topic is not None:
                    return topic.contact
        return None


class ActionHumanHandoff(AssistantAction):
    """Talk to a person: the foreign residents' consultation desk and Minato Call, with hours and languages."""

    def name(self) -> str:
        """Action name."""
        return "action_human_handoff"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        """Sends the two cards."""
        content = self.content()
        language = self.language(tracker)
        lang = language.code
        self.outside_note(dispatcher, language)
        self.say(dispatcher, content.text(lang, "ui.handoff"))
        for key in ("international", "minato_call"):
            card = contact_card(key, content, lang)
            langs = content.departments[key].get("languages") or []
            if langs:
                names = ", ".join(content.language_name(code) for code in langs)
                card["languages"] = names
                card["text"] += f"\n{content.text(lang, 'card.languages')}: {names}"
            self.send_card(dispatcher, card)
        return language.events
