"""The custom actions on their own: no server, no network. Trackers are built in code."""
from __future__ import annotations

from typing import Any, Dict, List, Optional

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.contacts import ActionDepartmentContact, ActionHumanHandoff
from actions.content import get_content
from actions.conversation import ActionChangeLanguage, ActionSmallTalk
from actions.faq import ActionAnswerFaq, ActionFallbackCandidates
from actions.language import requested_language

CONTENT = get_content()


def tracker(text: str, intent: str, lang: Optional[str] = None, source: str = "model",
            slots: Optional[Dict[str, Any]] = None, metadata: Optional[Dict[str, Any]] = None,
            ranking: Optional[List[Dict[str, Any]]] = None, entities: Optional[List[Dict]] = None) -> Tracker:
    ents = list(entities or [])
    if lang:
        ents.append({"entity": "detected_language", "value": lang, "source": source, "confidence": 0.99})
    latest = {"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": ents,
              "intent_ranking": ranking or [{"name": intent, "confidence": 0.9}], "metadata": metadata or {}}
    return Tracker("user-1", {"language": None, "language_source": None, "last_topic": None, **(slots or {})},
                   latest, [], False, None, {}, "action_listen")


@pytest.fixture
def dispatcher() -> CollectingDispatcher:
    return CollectingDispatcher()


def card_of(dispatcher: CollectingDispatcher) -> Dict[str, Any]:
    [card] = [m["custom"] for m in dispatcher.messages if m.get("custom")]
    return card


@pytest.mark.parametrize("lang", ["vi", "ne", "ja", "es"])
async def test_faq_answer_in_the_detected_language_with_card_and_related_topics(dispatcher, lang):
    events = await ActionAnswerFaq().run(dispatcher, tracker("...", "faq_nhi_enrollment", lang), {})
    assert dispatcher.messages[0]["text"] == CONTENT.answer("nhi_enrollment", lang).text
    card = card_of(dispatcher)
    assert card["department"] == "nhi_pension" and card["lang"] == lang
    assert card["phones"][0]["tel"] == "tel:+81335782574"
    related = dispatcher.messages[-1]
    assert [b["payload"] for b in related["buttons"]] == ["/faq_nhi_premium", "/faq_national_pension",
                                                          "/faq_health_checkup", "/feedback_helpful",
                                                          "/feedback_not_helpful"]
    assert all(len(b["title"]) <= 20 for b in related["buttons"])
    assert SlotSet("language", lang) in events and SlotSet("last_topic", "nhi_enrollment") in events


async def test_a_topic_ranked_close_to_the_answer_is_the_first_quick_reply(dispatcher):
    """"I moved here, what about health insurance?" answered with leaving NHI (0.56) while joining NHI
    came second (0.24): joining must be one tap away, before the usual related topics."""
    ranking = [{"name": "faq_nhi_withdrawal", "confidence": 0.56}, {"name": "faq_nhi_enrollment", "confidence": 0.24},
               {"name": "out_of_scope", "confidence": 0.1}, {"name": "faq_nhi_premium", "confidence": 0.08}]
    moved_here = "港区に引っ越してきました。国民健康保険の手続きは？"
    await ActionAnswerFaq().run(dispatcher, tracker(moved_here, "faq_nhi_withdrawal", "ja", ranking=ranking), {})
    related = dispatcher.messages[-1]
    assert [b["payload"] for b in related["buttons"]] == ["/faq_nhi_enrollment", "/faq_moving_out",
                                                          "/faq_nhi_premium", "/feedback_helpful",
                                                          "/feedback_not_helpful"]
    assert related["buttons"][0]["title"] == CONTENT.title("nhi_enrollment", "ja")[:20]
    # a distant runner-up changes nothing
    far = CollectingDispatcher()
    ranking[1]["confidence"] = 0.05
    await ActionAnswerFaq().run(far, tracker("...", "faq_nhi_withdrawal", "ja", ranking=ranking), {})
    assert [b["payload"] for b in far.messages[-1]["buttons"]][:3] == ["/faq_moving_out", "/faq_nhi_premium",
                                                                       "/faq_national_pension"]


async def test_explicit_choice_beats_the_text(dispatcher):
    t = tracker("How do I join health insurance?", "faq_nhi_enrollment", "en",
                slots={"language": "ko", "language_source": "explicit"})
    await ActionAnswerFaq().run(dispatcher, t, {})
    assert dispatcher.messages[0]["text"] == CONTENT.answer("nhi_enrollment", "ko").text


async def test_widget_picker_metadata_sets_the_language_explicitly(dispatcher):
    t = tracker("How do I join health insurance?", "faq_nhi_enrollment", "en", metadata={"language": "ja-easy"})
    events = await ActionAnswerFaq().run(dispatcher, t, {})
    assert dispatcher.messages[0]["text"] == CONTENT.answer("nhi_enrollment", "ja-easy").text
    assert SlotSet("language_source", "explicit") in events


async def test_short_text_keeps_the_conversation_language(dispatcher):
    t = tracker("ok", "thanks", "unknown", source="unknown", slots={"language": "vi", "language_source": "detected"})
    await ActionSmallTalk().run(dispatcher, t, {})
    assert dispatcher.messages[0]["text"] == CONTENT.text("vi", "ui.thanks")


async def test_one_word_does_not_switch_the_conversation_language(dispatcher):
    t = tracker("obrigado!", "thanks", "es", slots={"language": "pt", "language_source": "detected"})
    await ActionSmallTalk().run(dispatcher, t, {})
    assert dispatcher.messages[0]["text"] == CONTENT.text("pt", "ui.thanks")


async def test_a_full_sentence_in_another_language_switches_it(dispatcher):
    t = tracker("¿Cómo pago el seguro nacional de salud?", "faq_nhi_premium", "es",
                slots={"language": "pt", "language_source": "detected"})
    await ActionAnswerFaq().run(dispatcher, t, {})
    assert dispatcher.messages[0]["text"] == CONTENT.answer("nhi_premium", "es").text


async def test_unoffered_language_gets_english_and_the_list(dispatcher):
    await ActionAnswerFaq().run(dispatcher, tracker("Comment...", "faq_nhi_enrollment", "fr"), {})
    first = dispatcher.messages[0]["text"]
    assert "Tiếng Việt" in first and "नेपाली" in first
    assert dispatcher.messages[1]["text"] == CONTENT.answer("nhi_enrollment", "en").text


async def test_an_emergency_in_an_unoffered_language_gets_119_before_the_note_on_languages(dispatcher):
    """"Tolong, ayah saya tidak bernapas!" (Indonesian): the numbers and their card come first."""
    t = tracker("Tolong, ayah saya tidak bernapas!", "faq_emergency_numbers", "id")
    await ActionAnswerFaq().run(dispatcher, t, {})
    assert dispatcher.messages[0]["text"] == CONTENT.answer("emergency_numbers", "en").text
    assert dispatcher.messages[1]["custom"]["phones"][0]["tel"] == "tel:119"
    assert "Tiếng Việt" in dispatcher.messages[2]["text"]      # the list of languages, after the card
    assert "buttons" in dispatcher.messages[-1]


async def test_regional_office_for_a_named_area(dispatcher):
    await ActionAnswerFaq().run(dispatcher, tracker("Which office is for Odaiba?", "faq_regional_offices", "en"), {})
    card = card_of(dispatcher)
    assert card["department"] == "shibaura_konan" and card["phones"][0]["number"] == "03-3456-4151"


async def test_fallback_offers_three_candidates_and_the_consultation_desk(dispatcher):
    ranking = [{"name": "nlu_fallback", "confidence": 0.3}, {"name": "faq_moving_in", "confidence": 0.25},
               {"name": "greet", "confidence": 0.2}, {"name": "faq_address_change", "confidence": 0.2},
               {"name": "faq_moving_out", "confidence": 0.1}, {"name": "faq_nhi_enrollment", "confidence": 0.05}]
    await ActionFallbackCandidates().run(dispatcher, tracker("引っ越し", "nlu_fallback", "ja", ranking=ranking), {})
    first = dispatcher.messages[0]
    assert first["text"] == CONTENT.text("ja", "ui.fallback_intro")
    assert [b["payload"] for b in first["buttons"]] == ["/faq_moving_in", "/faq_address_change", "/faq_moving_out"]
    assert card_of(dispatcher)["department"] == "international"


@pytest.mark.parametrize("text", ["", "   ", "😀😀", "!!!"])
async def test_fallback_for_a_message_without_words_asks_for_a_question(dispatcher, text):
    await ActionFallbackCandidates().run(dispatcher, tracker(text, "nlu_fallback", "unknown", source="unknown",
                                                             slots={"language": "ko"}), {})
    assert dispatcher.messages == [{"text": CONTENT.text("ko", "ui.empty_message"), "buttons": [],
                                    "elements": [], "custom": {}, "template": None, "response": None,
                                    "image": None, "attachment": None}]


async def test_department_contact_by_name_in_chinese(dispatcher):
    await ActionDepartmentContact().run(dispatcher, tracker("国保年金课在几楼？", "ask_department_contact", "zh"), {})
    card = card_of(dispatcher)
    assert card["department"] == "nhi_pension" and card["lang"] == "zh" and card["name_ja"] == "国保年金課"


async def test_department_contact_from_the_closest_topic(dispatcher):
    ranking = [{"name": "ask_department_contact", "confidence": 0.6}, {"name": "faq_dog_registration",
                                                                       "confidence": 0.2}]
    await ActionDepartmentContact().run(dispatcher, tracker("dog office number?", "ask_department_contact", "en",
                                                            ranking=ranking), {})
    assert card_of(dispatcher)["department"] == "sanitation"


async def test_department_card_offers_the_closest_topics(dispatcher):
    ranking = [{"name": "ask_department_contact", "confidence": 0.86},
               {"name": "faq_nhi_enrollment", "confidence": 0.08}]
    t = tracker("Bagaimana cara daftar asuransi kesehatan nasional?", "ask_department_contact", "id",
                ranking=ranking)
    await ActionDepartmentContact().run(dispatcher, t, {})
    assert card_of(dispatcher)["department"] == "nhi_pension"
    assert [b["payload"] for b in dispatcher.messages[-1]["buttons"]] == ["/faq_nhi_enrollment"]


async def test_handoff_gives_the_desk_and_minato_call_with_languages(dispatcher):
    await ActionHumanHandoff().run(dispatcher, tracker("人と話したい", "human_handoff", "ja"), {})
    cards = [m["custom"] for m in dispatcher.messages if m.get("custom")]
    assert [c["department"] for c in cards] == ["international", "minato_call"]
    assert all(c.get("languages") for c in cards)


@pytest.mark.parametrize("text,lang", [
    ("你会说中文吗？我看不懂英文", "zh"),
    ("I don't read English, Chinese please", "zh"),
    ("Você fala inglês? Prefiro em inglês", "en"),
    ("やさしい日本語でお願いします", "ja-easy"),
    ("한국어로 대답해 주세요", "ko"),
    ("can you speak french?", "fr"),
    ("hello", None),
])
def test_requested_language(text, lang):
    assert requested_language(text) == lang


async def test_change_language_sets_an_explicit_choice(dispatcher):
    t = tracker("한국어로 대답해 주세요", "change_language", "ko")
    events = await ActionChangeLanguage().run(dispatcher, t, {})
    assert SlotSet("language", "ko") in events and SlotSet("language_source", "explicit") in events
    assert dispatcher.messages[0]["text"] == CONTENT.text("ko", "ui.language_changed")


async def test_change_language_to_an_unoffered_one_lists_the_choices(dispatcher):
    events = await ActionChangeLanguage().run(dispatcher, tracker("can you speak french?", "change_language", "en"), {})
    assert SlotSet("language_source", "explicit") not in events and SlotSet("language", "fr") not in events
    message = dispatcher.messages[0]
    assert len(message["buttons"]) == 10
    assert message["buttons"][0]["payload"] == '/change_language{"language":"en"}'
