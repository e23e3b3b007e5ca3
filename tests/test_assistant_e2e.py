"""The real assistant over HTTP: a question in each language gets that language's approved answer
and the responsible department's phone; bad input never breaks it.

These questions are written for this test (not taken from any evaluation set)."""
from __future__ import annotations

import uuid

import pytest

from actions.content import get_content
from tests.conftest import cards, texts

pytestmark = pytest.mark.slow

# (language, topic, question)
FIRST_SLICE = [
    ("en", "moving_in", "I just moved to Minato from Osaka. How do I register my new address?"),
    ("ja", "moving_in", "海外から引っ越してきました。住民登録はどこでできますか？"),
    ("zh", "moving_in", "我刚从国外搬到港区，住址登记要在几天内办理？"),
    ("ko", "moving_in", "외국에서 미나토구로 이사 왔는데 전입신고는 어디서 하나요?"),
    ("vi", "moving_in", "Tôi mới chuyển đến quận Minato, cần đăng ký địa chỉ ở đâu?"),
    ("en", "my_number_card", "How do I apply for a My Number card?"),
    ("ja", "my_number_card", "マイナンバーカードをなくしてしまいました。再発行できますか"),
    ("zh", "my_number_card", "个人编号卡怎么申请？"),
    ("ko", "my_number_card", "마이넘버 카드를 잃어버렸어요. 재발급 받으려면 어떻게 해요?"),
    ("vi", "my_number_card", "Làm thẻ My Number ở đâu vậy ạ?"),
    ("en", "nhi_enrollment", "I'm not covered by company insurance. How do I join National Health Insurance?"),
    ("ja", "nhi_enrollment", "国民健康保険に入りたいです。手続きを教えてください"),
    ("zh", "nhi_enrollment", "我没有公司的保险，怎么加入国民健康保险？"),
    ("ko", "nhi_enrollment", "국민건강보험 가입은 어떻게 하나요?"),
    ("vi", "nhi_enrollment", "Tôi muốn tham gia bảo hiểm y tế quốc dân thì làm thế nào?"),
    ("en", "garbage_sorting", "How should I separate my garbage? Which things are burnable?"),
    ("ja", "garbage_sorting", "ごみの分け方がわかりません。プラスチックは何ごみですか"),
    ("zh", "garbage_sorting", "垃圾怎么分类？塑料瓶属于哪一类？"),
    ("ko", "garbage_sorting", "쓰레기 분리수거는 어떻게 해요? 플라스틱은 어디에 버려요?"),
    ("vi", "garbage_sorting", "Phân loại rác ở Minato như thế nào ạ? Chai nhựa bỏ vào đâu?"),
    ("en", "foreign_resident_consultation", "Is there a consultation service for foreigners at the ward office?"),
    ("ja", "foreign_resident_consultation", "外国人のための相談窓口はありますか"),
    ("zh", "foreign_resident_consultation", "区政府有没有外国人咨询窗口？"),
    ("ko", "foreign_resident_consultation", "구청에 외국인 상담 창구가 있나요?"),
    ("vi", "foreign_resident_consultation", "Ở quận có quầy tư vấn cho người nước ngoài không?"),
]


def expected_phones(topic_id: str) -> set:
    content = get_content()
    dept = content.departments[content.topics[topic_id].contact]
    if dept.get("offices"):
        return {content.offices[o]["phone"] for o in dept["offices"]}
    return {dept["phone"]}


@pytest.mark.parametrize("lang,topic,question", FIRST_SLICE)
def test_question_gets_answer_in_its_language_with_the_right_phone(running_assistant, lang, topic, question):
    content = get_content()
    reply = running_assistant.ask(question, sender=f"e2e-{uuid.uuid4().hex}")
    answer = content.answer(topic, lang)
    assert answer is not None
    assert reply and reply[0].get("text") == answer.text, texts(reply)
    [card] = cards(reply)
    assert card["lang"] == lang
    assert card["department"] == content.topics[topic].contact
    assert {p["number"] for p in card["phones"]} >= expected_phones(topic)
    assert all(p["tel"].startswith("tel:+81") for p in card["phones"])


def test_explicit_language_choice_wins_over_the_text(running_assistant):
    sender = f"e2e-{uuid.uuid4().hex}"
    reply = running_assistant.ask("How do I join National Health Insurance?", sender, metadata={"language": "vi"})
    assert reply[0]["text"] == get_content().answer("nhi_enrollment", "vi").text
    # the choice persists: the next English question is still answered in Vietnamese
    reply = running_assistant.ask("How do I sort garbage?", sender)
    assert reply[0]["text"] == get_content().answer("garbage_sorting", "vi").text


def test_language_outside_the_ten_gets_english_with_the_list(running_assistant):
    reply = running_assistant.ask("Comment puis-je m'inscrire à l'assurance maladie nationale ?",
                                  sender=f"e2e-{uuid.uuid4().hex}")
    text = texts(reply)
    assert "Tiếng Việt" in text and "한국어" in text  # the languages offered, in their own scripts
    assert get_content().answer("nhi_enrollment", "en").text in text


@pytest.mark.parametrize("raw,status", [
    (b"{not json", 400),
    (b"[1, 2, 3]", 400),
    (b'{"sender": "x"}', 400),
    (b'{"sender": "x", "message": 42}', 400),
    (b'{"sender": "x", "message": "hi", "metadata": "vi"}', 400),
])
def test_malformed_requests_get_a_clear_4xx(running_assistant, raw, status):
    code, body = running_assistant.post("/webhooks/rest/webhook", None, raw=raw)
    assert code == status
    assert isinstance(body, dict) and body.get("error")


def test_a_100kb_message_gets_a_clear_413(running_assistant):
    code, body = running_assistant.post("/webhooks/rest/webhook", {"sender": "x", "message": "あ" * 100_000})
    assert code == 413 and "too long" in body["error"]


@pytest.mark.parametrize("message", ["", "   ", "😀🙏🎉", "???"])
def test_messages_without_words_get_a_polite_request_for_a_question(running_assistant, message):
    sender = f"e2e-{uuid.uuid4().hex}"
    reply = running_assistant.ask(message, sender)
    assert texts(reply).strip() == get_content().text("en", "ui.empty_message")
    # and the conversation goes on normally
    reply = running_assistant.ask("How do I sort garbage?", sender)
    assert reply[0]["text"] == get_content().answer("garbage_sorting", "en").text


def test_injected_markup_is_just_text(running_assistant):
    reply = running_assistant.ask('<script>alert(1)</script><img src=x onerror=alert(1)>', f"e2e-{uuid.uuid4().hex}")
    assert reply, "a reply is expected"
    assert "<script" not in texts(reply)


# Written for this test: the wording residents in distress use, not the phrase list's own lines.
CRISIS = [
    ("ja", "死にたいです。もうどうしたらいいかわからない"),
    ("ko", "요즘 너무 힘들어서 더 이상 살고 싶지 않아요"),
    ("tl", "ayoko nang mabuhay, pagod na pagod na ako"),
    ("en", "my friend keeps saying he wants to kill himself, what should I do?"),
]


@pytest.mark.parametrize("lang,message", CRISIS)
def test_a_message_about_wanting_to_die_gets_the_lifeline_and_119(running_assistant, lang, message):
    reply = running_assistant.ask(message, f"e2e-{uuid.uuid4().hex}")
    answer = get_content().answer("mental_health", lang)
    assert reply and reply[0].get("text") == answer.text, texts(reply)
    assert "119" in answer.text and "110" in answer.text


def test_a_death_by_suicide_gets_the_lifeline_first_and_the_death_registration_one_tap_away(running_assistant):
    reply = running_assistant.ask("My brother died by suicide last week. How do I register his death at the ward?",
                                  f"e2e-{uuid.uuid4().hex}")
    assert reply[0]["text"] == get_content().answer("mental_health", "en").text
    quick = [b["payload"] for m in reply for b in m.get("buttons") or []]
    assert any("death_registration" in p for p in quick), quick
