"""Department look-up and hand-off to a person."""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import AssistantAction, user_text
from actions.content import Content
from actions.directory import closest_department, contact_card, match_department, warm_up_in_background
from actions.faq import FAQ_PREFIX, ranked_topics

logger = logging.getLogger(__name__)

warm_up_in_background()  # the action server imports this module when it starts


def resolve_department(text: str, ranking: List[Dict[str, Any]], content: Content) -> Optional[str]:
    """The department a contact question is about: a name or alias it contains (any language), else
    the department whose name is clearly closest in meaning, else the contact of the best-ranked FAQ
    topic if the classifier gave it some weight. The evaluation (bench/eval_nlu.py) calls this too."""
    key = match_department(text, content) or closest_department(text, content)
    if key:
        return key
    for item in ranking:
        name = item.get("name") or ""
        if name.startswith(FAQ_PREFIX) and (item.get("confidence") or 0) >= 0.05:
            topic = content.topics.get(name[len(FAQ_PREFIX):])
            if topic is not None:
                return topic.contact
    return None


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
        content, language, lang = self.begin(tracker)
        key = resolve_department(user_text(tracker), tracker.latest_message.get("intent_ranking") or [], content)
        self.outside_note(dispatcher, language)
        if key is None:
            self.say(dispatcher, content.text(lang, "ui.department_unknown"))
            return language.events
        self.send_card(dispatcher, contact_card(key, content, lang))
        # A "how do I ..." question can read like a contact question; the closest topics are one tap away.
        buttons = self.topic_buttons(content, ranked_topics(tracker), lang)
        if buttons:
            self.say(dispatcher, content.text(lang, "ui.related_intro"), buttons)
        return language.events


class ActionHumanHandoff(AssistantAction):
    """Talk to a person: the foreign residents' consultation desk and Minato Call, with hours and languages."""

    def name(self) -> str:
        """Action name."""
        return "action_human_handoff"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        """Sends the two cards."""
        content, language, lang = self.begin(tracker)
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
