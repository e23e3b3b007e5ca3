"""LINE end to end: signed webhook payloads shaped like LINE's go to the real assistant, and what
reaches (the fake) LINE is the approved answer in the resident's language with a Flex contact card."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest

from actions.content import get_content
from tests.channels.test_line import follow_event, sticker_event, text_event
from tests.conftest import LINE_SECRET

pytestmark = pytest.mark.slow


def send(assistant, events) -> int:
    body = json.dumps({"destination": "Uexample", "events": events}, ensure_ascii=False).encode("utf-8")
    signature = base64.b64encode(hmac.new(LINE_SECRET.encode(), body, hashlib.sha256).digest()).decode()
    status, _ = assistant.post("/webhooks/line/webhook", None, raw=body, headers={"X-Line-Signature": signature})
    return status


def wait_for_delivery(fake, before: int, timeout: float = 30.0) -> list:
    deadline = time.time() + timeout
    while time.time() < deadline:
        delivered = fake.api.delivered()
        if len(delivered) > before:
            time.sleep(0.5)  # the rest of the turn (card, quick replies) arrives in the same call
            return fake.api.delivered()[before:]
        time.sleep(0.1)
    raise AssertionError("nothing reached LINE")


@pytest.mark.parametrize("lang,text,topic", [
    ("ja", "国民健康保険に入りたいです。どうすればいいですか", "nhi_enrollment"),
    ("ne", "घरको फोहोर कसरी छुट्याउने? प्लास्टिक र बोतल कुन प्रकारमा पर्छ?", "garbage_sorting"),
])
def test_a_question_on_line_gets_the_answer_and_a_flex_card(running_assistant, fake_line, lang, text, topic):
    before = len(fake_line.api.delivered())
    assert send(running_assistant, [text_event(fake_line.api, text, user_id=f"U{lang}{time.time_ns()}")]) == 200
    messages = wait_for_delivery(fake_line, before)
    content = get_content()
    assert messages[0]["type"] == "text" and messages[0]["text"] == content.answer(topic, lang).text
    flex = [m for m in messages if m["type"] == "flex"]
    assert flex and "tel:" in json.dumps(flex[0]["contents"])
    assert len(messages) <= 5


def test_a_bad_signature_reaches_nobody(running_assistant, fake_line):
    before = len(fake_line.api.calls)
    body = json.dumps({"destination": "U", "events": [text_event(fake_line.api, "hello")]}).encode()
    status, _ = running_assistant.post("/webhooks/line/webhook", None, raw=body, headers={"X-Line-Signature": "bad"})
    assert status == 400
    time.sleep(1)
    assert len(fake_line.api.calls) == before


def test_a_sticker_and_a_follow_get_polite_replies(running_assistant, fake_line):
    before = len(fake_line.api.delivered())
    assert send(running_assistant, [sticker_event(fake_line.api, f"Us{time.time_ns()}")]) == 200
    assert wait_for_delivery(fake_line, before)[0]["type"] == "text"
    before = len(fake_line.api.delivered())
    assert send(running_assistant, [follow_event(fake_line.api, f"Uf{time.time_ns()}")]) == 200
    welcome = wait_for_delivery(fake_line, before)
    assert welcome[-1]["quickReply"]["items"], "the welcome offers languages as quick replies"
