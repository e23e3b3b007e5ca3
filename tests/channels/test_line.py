"""Tests of the LINE channel (bot/channels/line.py).

The real channel runs inside a real Sanic app built by ``rasa.core.run.configure_app`` and served
on a free loopback port; LINE is the fake in ``fake_line.py``, which enforces LINE's rules. The
assistant is a small fake agent (``app.ctx.agent``) that answers with contract-shaped messages
(docs/architecture.md). Webhook payloads copy the shape of LINE's documented webhook JSON.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import socket
import time
import uuid
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from rasa.core.channels.channel import UserMessage
from rasa.core.run import configure_app
from rasa.core.utils import list_routes
from sanic import Sanic

from bot.channels.line import (
    CANNOT_READ_TEXT,
    LANGUAGE_LABELS,
    SORRY_TEXT,
    WELCOME_TEXT,
    LineInput,
    LineOutput,
    TTLCache,
    compute_signature,
    is_valid_signature,
    map_line_language,
    parse_retry_after,
    split_text,
    truncate,
    utf16_len,
)
from tests.channels.fake_line import FakeLineAPI, utf16_units

SECRET = "8c2f5b0e9d1a4c7f6e3b2a1d0c9f8e7d"
TOKEN = "fake-channel-access-token"
BOT_ID = "U0123456789abcdef0123456789abcdef"
JA_USER = "U1a2b3c4d5e6f708192a3b4c5d6e7f801"
NE_USER = "U2b3c4d5e6f708192a3b4c5d6e7f80912"
VI_USER = "U3c4d5e6f708192a3b4c5d6e7f8091a23"
ZH_USER = "U4d5e6f708192a3b4c5d6e7f8091a2b34"
GROUP_ID = "Cf1e2d3c4b5a69788796a5b4c3d2e1f00"

# Fast, deterministic timings; tests that need another value pass it explicitly.
FAST = {
    "loading_delay": 5.0,
    "backoff_base": 0.001,
    "backoff_max": 0.01,
    "max_retry_after": 0.2,
    "request_timeout": 5.0,
    "shutdown_timeout": 2.0,
}

BUTTONS = [
    {"title": "Bảo hiểm y tế", "payload": "/faq_nhi_enrollment"},
    {"title": "Đăng ký cư trú", "payload": "/faq_residence_registration"},
]
CONTACT_CARD = {
    "type": "contact_card",
    "lang": "vi",
    "department": "nhi_pension",
    "title": "Phòng Bảo hiểm Y tế Quốc dân và Lương hưu",
    "name_ja": "国保年金課",
    "external": False,
    "phones": [
        {"label": "Điện thoại", "number": "03-3578-2574", "tel": "tel:+81335782574"},
        {"label": "Shiba", "number": "03-3578-3111", "tel": ""},
    ],
    "hours": "T2–T6 8:30–17:00",
    "hours_note": "Nghỉ ngày lễ và 29/12–3/1",
    "place": "Tòa thị chính Minato tầng 3, 1-5-25 Shibakoen",
    "open_now": True,
    "status": "Đang mở cửa",
    "text": "Phòng Bảo hiểm Y tế Quốc dân và Lương hưu (国保年金課)\n"
    "Điện thoại: 03-3578-2574\nT2–T6 8:30–17:00\n" + "Tòa thị chính Minato tầng 3. " * 30,
}
LONG_TEXT = "\n\n".join(
    f"第{i}段落：国民健康保険の手続きについて説明します。窓口は区役所です。😀" * 12 for i in range(1, 41)
)


# --------------------------------------------------------------------------------------------
# The fake assistant.


def bot_message(text: str | None = None, **data: Any) -> dict[str, Any]:
    """A message shaped like Rasa's BotUttered.message()."""
    message = {
        "text": text,
        "elements": None,
        "quick_replies": None,
        "buttons": None,
        "attachment": None,
        "image": None,
        "custom": None,
        "timestamp": time.time(),
    }
    message.update(data)
    return message


class FakeAgent:
    """Stands in for rasa's Agent: records messages and answers with contract-shaped ones."""

    def __init__(self) -> None:
        self.messages: list[UserMessage] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.slow_seconds = 0.15

    @staticmethod
    def replies_for(text: str) -> list[dict[str, Any]]:
        if text == "/greet":
            return [bot_message("Xin chào! Tôi có thể giúp gì?", buttons=BUTTONS)]
        if text == "long":
            return [bot_message(LONG_TEXT)]
        if text == "many":
            return [bot_message(f"message {i}", buttons=BUTTONS if i == 3 else None) for i in range(1, 8)]
        return [
            bot_message(text),
            bot_message("Topics:", buttons=BUTTONS),
            bot_message(custom=CONTACT_CARD),
        ]

    async def handle_message(self, message: UserMessage) -> None:
        self.messages.append(message)
        if message.text == "boom":
            raise RuntimeError("the assistant crashed")
        if message.text == "slow":
            await asyncio.sleep(self.slow_seconds)
        if message.text == "wait":
            await self.gate.wait()
        for reply in self.replies_for(message.text or ""):
            await message.output_channel.send_response(message.sender_id, reply)


# --------------------------------------------------------------------------------------------
# LINE-shaped webhook payloads.


def _event(kind: str, source: dict[str, Any], **extra: Any) -> dict[str, Any]:
    redelivery = extra.pop("redelivery", False)
    event = {
        "type": kind,
        "mode": extra.pop("mode", "active"),
        "timestamp": int(time.time() * 1000),
        "source": source,
        "webhookEventId": extra.pop("event_id", None) or uuid.uuid4().hex[:26].upper(),
        "deliveryContext": {"isRedelivery": redelivery},
    }
    event.update(extra)
    return event


def user(user_id: str) -> dict[str, str]:
    return {"type": "user", "userId": user_id}


def text_event(fake: FakeLineAPI, text: str, user_id: str = JA_USER, **extra: Any) -> dict[str, Any]:
    extra.setdefault("replyToken", fake.issue_reply_token())
    source = extra.pop("source", None) or user(user_id)
    message = {
        "id": str(uuid.uuid4().int)[:18],
        "type": "text",
        "quoteToken": uuid.uuid4().hex,
        "text": text,
    }
    return _event("message", source, message=message, **extra)


def sticker_event(fake: FakeLineAPI, user_id: str, kind: str = "sticker") -> dict[str, Any]:
    message: dict[str, Any] = {"id": str(uuid.uuid4().int)[:18], "type": kind}
    if kind == "sticker":
        message.update(packageId="446", stickerId="1988", stickerResourceType="STATIC", quoteToken="q")
    elif kind == "location":
        message.update(title="Minato City Hall", latitude=35.658, longitude=139.751)
    else:
        message["contentProvider"] = {"type": "line"}
    return _event("message", user(user_id), replyToken=fake.issue_reply_token(), message=message)


def postback_event(fake: FakeLineAPI, data: str, user_id: str = JA_USER) -> dict[str, Any]:
    return _event("postback", user(user_id), replyToken=fake.issue_reply_token(), postback={"data": data})


def follow_event(fake: FakeLineAPI, user_id: str) -> dict[str, Any]:
    return _event("follow", user(user_id), replyToken=fake.issue_reply_token(), follow={"isUnblocked": False})


def webhook(*events: dict[str, Any]) -> dict[str, Any]:
    return {"destination": BOT_ID, "events": list(events)}


# --------------------------------------------------------------------------------------------
# Harness: a real Sanic server with the channel, and the fake LINE API.


@dataclass
class Harness:
    channel: LineInput
    agent: FakeAgent
    fake: FakeLineAPI
    app: Sanic
    url: str
    http: aiohttp.ClientSession

    async def post(self, payload: Any, signature: str | None = "sign", raw: bytes | None = None) -> tuple[int, Any]:
        body = raw if raw is not None else json.dumps(payload, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json"}
        if signature == "sign":
            headers["X-Line-Signature"] = compute_signature(SECRET, body)
        elif signature is not None:
            headers["X-Line-Signature"] = signature
        async with self.http.post(f"{self.url}/webhooks/line/webhook", data=body, headers=headers) as resp:
            return resp.status, await resp.json()

    async def deliver(self, *events: dict[str, Any]) -> None:
        """Posts a signed webhook, expects 200, and waits until the channel has handled it."""
        status, body = await self.post(webhook(*events))
        assert status == 200, body
        assert await self.channel.drain(limit=5.0)


@pytest.fixture
async def fake_line():
    fake = FakeLineAPI(TOKEN)
    await fake.start()
    fake.profiles.update(
        {
            JA_USER: {"userId": JA_USER, "displayName": "佐藤", "language": "ja"},
            NE_USER: {"userId": NE_USER, "displayName": "Sita"},  # language not shared
            VI_USER: {"userId": VI_USER, "displayName": "Lan", "language": "vi"},
            ZH_USER: {"userId": ZH_USER, "displayName": "王", "language": "zh-Hant"},
        }
    )
    yield fake
    await fake.stop()


@pytest.fixture
async def start(fake_line, monkeypatch):
    monkeypatch.setattr(Sanic, "test_mode", True)  # configure_app names every app "rasa_server"
    running: list[tuple[Any, aiohttp.ClientSession]] = []

    async def _start(env: bool = True, token: str = TOKEN, **options: Any) -> Harness:
        for name in ("LINE_CHANNEL_SECRET", "LINE_CHANNEL_ACCESS_TOKEN", "LINE_API_BASE_URL"):
            monkeypatch.delenv(name, raising=False)
        if env:
            monkeypatch.setenv("LINE_CHANNEL_SECRET", SECRET)
            monkeypatch.setenv("LINE_CHANNEL_ACCESS_TOKEN", token)
            monkeypatch.setenv("LINE_API_BASE_URL", fake_line.base_url)
        channel = LineInput.from_credentials({**FAST, **options})
        app = configure_app([channel])
        agent = FakeAgent()
        app.ctx.agent = agent
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        server = await app.create_server(sock=sock, return_asyncio_server=True, access_log=False)
        await server.startup()  # create_server has already started listening
        await server.before_start()
        await server.after_start()
        http = aiohttp.ClientSession()
        running.append((server, http))
        host, port = sock.getsockname()
        return Harness(channel, agent, fake_line, app, f"http://{host}:{port}", http)

    yield _start
    for server, http in running:
        await http.close()
        await server.before_stop()  # the channel drains its tasks and closes its session
        server.close()
        await server.wait_closed()
        await server.after_stop()


# --------------------------------------------------------------------------------------------
# Routes, configuration.


async def test_routes_and_health(start):
    harness = await start()
    routes = list_routes(harness.app)
    assert any(name.endswith("line_webhook.webhook") for name in routes)
    assert any("/webhooks/line/webhook" in line for line in routes.values())
    async with harness.http.get(f"{harness.url}/webhooks/line/") as resp:
        assert resp.status == 200
        assert await resp.json() == {"status": "ok"}


async def test_channel_off_without_env_vars_answers_503(start, fake_line):
    harness = await start(env=False)
    assert not harness.channel.enabled
    assert harness.channel.get_output_channel() is None
    status, body = await harness.post(webhook(text_event(fake_line, "こんにちは")))
    assert status == 503
    assert body["error"] == "line_channel_disabled"
    assert "LINE_CHANNEL_SECRET" in body["message"]
    async with harness.http.get(f"{harness.url}/webhooks/line/") as resp:
        assert (await resp.json())["status"] == "disabled"
    assert harness.agent.messages == []
    assert fake_line.calls == []


def test_from_credentials_dict_wins_over_env(monkeypatch):
    monkeypatch.setenv("LINE_CHANNEL_SECRET", "env-secret")
    monkeypatch.setenv("LINE_CHANNEL_ACCESS_TOKEN", "env-token")
    monkeypatch.delenv("LINE_API_BASE_URL", raising=False)
    channel = LineInput.from_credentials({"channel_secret": "dict-secret", "reply_token_ttl": "30"})
    assert channel.enabled
    assert channel.channel_secret == "dict-secret"
    assert channel.api.access_token == "env-token"
    assert channel.api.base_url == "https://api.line.me"
    assert channel.reply_token_ttl == 30.0
    from_env = LineInput.from_credentials(None)  # credentials.yml: "bot.channels.line.LineInput:"
    assert from_env.channel_secret == "env-secret"
    monkeypatch.delenv("LINE_CHANNEL_ACCESS_TOKEN")
    assert not LineInput.from_credentials(None).enabled


# --------------------------------------------------------------------------------------------
# Text → assistant → one reply.


async def test_japanese_text_reaches_assistant_and_turn_is_one_reply(start, fake_line):
    harness = await start()
    event = text_event(fake_line, "国民健康保険に入りたいです", JA_USER)
    await harness.deliver(event)

    [message] = harness.agent.messages
    assert message.text == "国民健康保険に入りたいです"
    assert message.sender_id == JA_USER
    assert message.input_channel == "line"
    assert message.message_id == event["message"]["id"]
    assert message.metadata == {"language_hint": "ja"}

    [reply] = fake_line.replies
    assert fake_line.pushes == []
    assert reply.headers["Authorization"] == f"Bearer {TOKEN}"
    assert reply.body["replyToken"] == event["replyToken"]
    echo, topics, card = reply.body["messages"]
    assert echo == {"type": "text", "text": "国民健康保険に入りたいです"}
    assert topics["text"] == "Topics:" and "quickReply" not in topics
    assert card["type"] == "flex"
    # LINE shows quick replies only on the last message: the turn's buttons moved there.
    assert card["quickReply"]["items"][0] == {
        "type": "action",
        "action": {
            "type": "postback",
            "label": "Bảo hiểm y tế",
            "data": "/faq_nhi_enrollment",
            "displayText": "Bảo hiểm y tế",
        },
    }


async def test_nepali_text_without_profile_language(start, fake_line):
    harness = await start()
    text = "राष्ट्रिय स्वास्थ्य बीमामा कसरी दर्ता गर्ने?"
    await harness.deliver(text_event(fake_line, text, NE_USER))
    [message] = harness.agent.messages
    assert message.text == text
    assert message.metadata == {}  # the profile does not share a language: no hint
    assert fake_line.delivered()[0]["text"] == text


async def test_profile_language_is_mapped_and_cached(start, fake_line):
    harness = await start()
    await harness.deliver(text_event(fake_line, "你好", ZH_USER))
    await harness.deliver(text_event(fake_line, "国民健康保险", ZH_USER))
    assert [m.metadata for m in harness.agent.messages] == [{"language_hint": "zh"}] * 2
    assert len(fake_line.calls_to("profile")) == 1


async def test_webhook_acknowledges_before_the_assistant_answers(start, fake_line):
    harness = await start()
    harness.agent.gate.clear()
    status, _ = await harness.post(webhook(text_event(fake_line, "wait")))
    assert status == 200
    assert fake_line.replies == []  # acknowledged while the assistant is still busy
    harness.agent.gate.set()
    assert await harness.channel.drain(limit=5.0)
    assert len(fake_line.replies) == 1


async def test_group_message_uses_group_id_and_no_loading_animation(start, fake_line):
    harness = await start(loading_delay=0.01)
    source = {"type": "group", "groupId": GROUP_ID, "userId": JA_USER}
    await harness.deliver(text_event(fake_line, "slow", source=source))
    [message] = harness.agent.messages
    assert message.sender_id == GROUP_ID
    assert fake_line.calls_to("loading") == []
    assert len(fake_line.replies) == 1


async def test_loading_animation_when_assistant_is_slow(start, fake_line):
    harness = await start(loading_delay=0.02, loading_seconds=22)
    await harness.deliver(text_event(fake_line, "slow", JA_USER))
    [loading] = fake_line.calls_to("loading", accepted=True)
    assert loading.body == {"chatId": JA_USER, "loadingSeconds": 20}
    assert loading.headers["Authorization"] == f"Bearer {TOKEN}"
    harness.channel.loading_delay = 1.0  # generous, so that a busy CI machine cannot flake
    await harness.deliver(text_event(fake_line, "quick", JA_USER))
    assert len(fake_line.calls_to("loading")) == 1  # a fast answer shows no animation


async def test_assistant_failure_sends_an_apology(start, fake_line, caplog):
    harness = await start()
    with caplog.at_level(logging.ERROR, logger="bot.channels.line"):
        await harness.deliver(text_event(fake_line, "boom", VI_USER))
    assert fake_line.delivered_texts() == [SORRY_TEXT["vi"]]
    assert "the assistant crashed" in caplog.text


# --------------------------------------------------------------------------------------------
# Webhook rules: signature, JSON, verification, redelivery, standby.


@pytest.mark.parametrize("signature", [None, "", "bm90IHRoZSByaWdodCBzaWduYXR1cmU=", "ünicode"])
async def test_bad_or_missing_signature_is_rejected(start, fake_line, signature):
    harness = await start()
    status, body = await harness.post(webhook(text_event(fake_line, "こんにちは")), signature=signature)
    assert status == 400
    assert body["error"] == "invalid_signature"
    await harness.channel.drain()
    assert harness.agent.messages == []
    assert fake_line.calls == []


async def test_signature_of_another_body_is_rejected(start, fake_line):
    harness = await start()
    signed = json.dumps(webhook(text_event(fake_line, "a"))).encode()
    status, _ = await harness.post(
        None, signature=compute_signature(SECRET, signed), raw=signed.replace(b'"a"', b'"b"')
    )
    assert status == 400
    assert fake_line.calls == []


@pytest.mark.parametrize("raw", [b"{not json", b"\xff\xfe\x00", b"[]", b'{"events": {}}', b""])
async def test_malformed_body_with_valid_signature_is_400(start, fake_line, raw):
    harness = await start()
    status, _ = await harness.post(None, raw=raw)
    assert status == 400
    assert harness.agent.messages == [] and fake_line.calls == []


async def test_url_verification_request(start, fake_line):
    harness = await start()
    status, _ = await harness.post({"destination": BOT_ID, "events": []})
    assert status == 200
    await harness.channel.drain()
    assert harness.agent.messages == [] and fake_line.calls == []


async def test_redelivered_event_is_processed_once(start, fake_line):
    harness = await start()
    event = text_event(fake_line, "住民票がほしい", JA_USER)
    await harness.deliver(event)
    redelivered = {**event, "deliveryContext": {"isRedelivery": True}}
    await harness.deliver(redelivered)
    await harness.deliver(event, redelivered)
    assert len(harness.agent.messages) == 1
    assert len(fake_line.calls_to("reply")) == 1 and fake_line.pushes == []


async def test_standby_event_is_not_answered(start, fake_line):
    harness = await start()
    await harness.deliver(text_event(fake_line, "こんにちは", JA_USER, mode="standby"))
    assert harness.agent.messages == []
    assert fake_line.calls == []


async def test_late_redelivery_does_not_use_the_stale_reply_token(start, fake_line):
    harness = await start()
    event = text_event(fake_line, "住民票", JA_USER, redelivery=True)
    event["timestamp"] -= 120_000  # first seen here two minutes after the user wrote
    await harness.deliver(event)
    assert len(harness.agent.messages) == 1
    assert fake_line.calls_to("reply") == []
    assert len(fake_line.pushes) == 1


async def test_odd_events_are_skipped_without_errors(start, fake_line, caplog):
    harness = await start()
    odd = [
        1,
        "event",
        {"type": "message"},
        {"type": "message", "source": "nobody", "deliveryContext": "x", "message": []},
        {"type": "postback", "source": user(JA_USER), "postback": "lang=vi"},
        {"type": "message", "source": user(JA_USER), "message": {"type": "unknown"}},
        {"type": "unfollow", "source": user(JA_USER)},
        {"type": "message", "source": {"type": "group", "groupId": 7}, "message": {"type": "text", "text": "x"}},
    ]
    with caplog.at_level(logging.ERROR, logger="bot.channels.line"):
        status, _ = await harness.post(webhook(*odd))
        assert status == 200
        assert await harness.channel.drain(limit=5.0)
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert harness.agent.messages == [] and fake_line.calls == []


async def test_several_events_in_one_webhook_keep_their_order(start, fake_line):
    harness = await start()
    await harness.deliver(text_event(fake_line, "一つ目", JA_USER), text_event(fake_line, "二つ目", JA_USER))
    assert [m.text for m in harness.agent.messages] == ["一つ目", "二つ目"]
    assert [r.body["messages"][0]["text"] for r in fake_line.replies] == ["一つ目", "二つ目"]


# --------------------------------------------------------------------------------------------
# Non-text messages, follow, postbacks.


@pytest.mark.parametrize("kind", ["sticker", "image", "video", "audio", "file", "location"])
async def test_non_text_message_gets_polite_reply_in_user_language(start, fake_line, kind):
    harness = await start()
    await harness.deliver(sticker_event(fake_line, VI_USER, kind))
    assert harness.agent.messages == []
    assert fake_line.delivered_texts() == [CANNOT_READ_TEXT["vi"]]
    assert fake_line.pushes == []


async def test_sticker_from_user_without_language_gets_english(start, fake_line):
    harness = await start()
    await harness.deliver(sticker_event(fake_line, NE_USER))
    assert fake_line.delivered_texts() == [CANNOT_READ_TEXT["en"]]


async def test_follow_event_welcomes_with_language_choices(start, fake_line):
    harness = await start()
    await harness.deliver(follow_event(fake_line, VI_USER))
    assert harness.agent.messages == []
    [welcome] = fake_line.delivered()
    assert welcome["text"] == WELCOME_TEXT["vi"]
    items = welcome["quickReply"]["items"]
    assert [item["action"]["data"] for item in items] == [f"lang={c}" for c in LANGUAGE_LABELS]
    assert all(item["action"]["displayText"] == item["action"]["label"] for item in items)
    assert {"ja-easy", "ne", "tl"} <= {item["action"]["data"][5:] for item in items}


async def test_language_postback_sets_explicit_language(start, fake_line):
    harness = await start()
    await harness.deliver(postback_event(fake_line, "lang=vi", JA_USER))
    [message] = harness.agent.messages
    assert message.text == "/greet"
    assert message.metadata == {"language_hint": "ja", "language": "vi"}
    [greeting] = fake_line.delivered()
    assert greeting["text"] == "Xin chào! Tôi có thể giúp gì?"
    assert len(greeting["quickReply"]["items"]) == 2
    # The channel's own short replies now use the chosen language, not the profile's.
    await harness.deliver(sticker_event(fake_line, JA_USER))
    assert fake_line.delivered_texts()[-1] == CANNOT_READ_TEXT["vi"]


async def test_unknown_language_postback_is_ignored(start, fake_line):
    harness = await start()
    await harness.deliver(postback_event(fake_line, "lang=xx", JA_USER))
    assert harness.agent.messages == [] and fake_line.delivered() == []


async def test_intent_postback_goes_to_assistant_as_text(start, fake_line):
    harness = await start()
    event = postback_event(fake_line, "/faq_nhi_enrollment", VI_USER)
    await harness.deliver(event)
    [message] = harness.agent.messages
    assert message.text == "/faq_nhi_enrollment"
    assert message.metadata == {"language_hint": "vi"}
    assert message.message_id == event["webhookEventId"]
    assert len(fake_line.replies) == 1


# --------------------------------------------------------------------------------------------
# Output: limits, reply vs push, retries.


async def test_long_text_is_split_cleanly(start, fake_line):
    harness = await start()
    await harness.deliver(text_event(fake_line, "long"))
    [reply] = fake_line.replies
    texts = [m["text"] for m in reply.body["messages"]]
    assert len(texts) >= 3
    assert all(utf16_units(t) <= 5000 for t in texts)
    assert all(t.endswith("😀") for t in texts)  # cut at paragraph ends
    assert "\n\n".join(texts) == LONG_TEXT


async def test_more_than_five_messages_reply_five_then_push_the_rest(start, fake_line):
    harness = await start()
    await harness.deliver(text_event(fake_line, "many", JA_USER))
    [reply] = fake_line.replies
    [push] = fake_line.pushes
    assert [m["text"] for m in reply.body["messages"]] == [f"message {i}" for i in range(1, 6)]
    assert push.body["to"] == JA_USER
    assert [m["text"] for m in push.body["messages"]] == ["message 6", "message 7"]
    uuid.UUID(push.headers["X-Line-Retry-Key"])
    delivered = fake_line.delivered()
    assert [("quickReply" in m) for m in delivered] == [False] * 6 + [True]


async def test_expired_reply_token_is_not_used_and_messages_are_pushed(start, fake_line):
    harness = await start(reply_token_ttl=0)
    await harness.deliver(text_event(fake_line, "こんにちは", JA_USER))
    assert fake_line.calls_to("reply") == []
    [push] = fake_line.pushes
    assert push.headers["Authorization"] == f"Bearer {TOKEN}"
    assert uuid.UUID(push.headers["X-Line-Retry-Key"])
    assert [m["type"] for m in push.body["messages"]] == ["text", "text", "flex"]


async def test_push_429_is_retried_with_same_key_honouring_retry_after(start, fake_line):
    harness = await start(reply_token_ttl=0, max_retry_after=0.15)
    fake_line.fail_next("push", 429, retry_after="1")
    await harness.deliver(text_event(fake_line, "こんにちは", JA_USER))
    first, second = fake_line.calls_to("push")
    assert (first.status, second.status) == (429, 200)
    assert first.headers["X-Line-Retry-Key"] == second.headers["X-Line-Retry-Key"]
    # backoff_base is 1 ms: a pause this long comes from Retry-After (capped at 0.15 s).
    assert second.at - first.at >= 0.14
    assert len(fake_line.delivered()) == 3


async def test_push_5xx_and_accepted_retry_count_once(start, fake_line):
    harness = await start(reply_token_ttl=0)
    fake_line.fail_next("push", 500, times=2)
    await harness.deliver(text_event(fake_line, "こんにちは", JA_USER))
    statuses = [call.status for call in fake_line.calls_to("push")]
    assert statuses == [500, 500, 200]
    assert len({call.headers["X-Line-Retry-Key"] for call in fake_line.calls_to("push")}) == 1


async def test_push_gives_up_after_bounded_attempts(start, fake_line, caplog):
    harness = await start(reply_token_ttl=0, push_max_attempts=3)
    fake_line.fail_next("push", 503, times=10)
    with caplog.at_level(logging.ERROR, logger="bot.channels.line"):
        await harness.deliver(text_event(fake_line, "こんにちは", JA_USER))
    assert len(fake_line.calls_to("push")) == 3
    assert "not delivered" in caplog.text


async def test_failed_reply_falls_back_to_push(start, fake_line):
    harness = await start()
    fake_line.fail_next("reply", 500)
    await harness.deliver(text_event(fake_line, "こんにちは", JA_USER))
    assert [c.status for c in fake_line.calls_to("reply")] == [500]
    [push] = fake_line.pushes
    assert len(push.body["messages"]) == 3


async def test_reused_reply_token_is_refused_and_messages_are_pushed(start, fake_line):
    harness = await start()
    token = fake_line.issue_reply_token()
    await harness.deliver(text_event(fake_line, "一回目", JA_USER, replyToken=token))
    await harness.deliver(text_event(fake_line, "二回目", JA_USER, replyToken=token))
    first, second = fake_line.calls_to("reply")
    assert first.status == 200 and second.status == 400
    [push] = fake_line.pushes
    assert push.body["messages"][0]["text"] == "二回目"


async def test_wrong_access_token_is_refused_by_line(start, fake_line, caplog):
    harness = await start(token="not-the-token")
    with caplog.at_level(logging.WARNING, logger="bot.channels.line"):
        await harness.deliver(text_event(fake_line, "こんにちは", JA_USER))
    assert {call.status for call in fake_line.calls} == {401}
    assert fake_line.delivered() == []
    assert "LINE push rejected (401)" in caplog.text


async def test_contact_card_renders_as_flex(start, fake_line):
    harness = await start()
    await harness.deliver(text_event(fake_line, "窓口", JA_USER))
    card = fake_line.delivered()[-1]
    assert card["altText"] == truncate(CONTACT_CARD["text"], 400)
    assert len(card["altText"]) <= 400 and card["altText"].endswith("…")
    bubble = json.dumps(card["contents"], ensure_ascii=False)
    for value in (
        "Phòng Bảo hiểm Y tế",
        "国保年金課",
        "03-3578-2574",
        "T2–T6 8:30–17:00",
        "Nghỉ ngày lễ",
        "Shibakoen",
        "Đang mở cửa",
    ):
        assert value in bubble
    uris = _find_values(card["contents"], "uri")
    assert uris == ["tel:+81335782574", "tel:0335783111"]


def _find_values(node: Any, key: str) -> list[Any]:
    found = []
    if isinstance(node, dict):
        for k, v in node.items():
            found += [v] if k == key else _find_values(v, key)
    elif isinstance(node, list):
        for item in node:
            found += _find_values(item, key)
    return found


async def test_output_channel_outside_a_turn_pushes(start, fake_line):
    harness = await start()
    output = harness.channel.get_output_channel()
    assert isinstance(output, LineOutput)
    await output.send_response(JA_USER, bot_message("お知らせです", buttons=BUTTONS))
    [push] = fake_line.pushes
    assert push.body["to"] == JA_USER
    assert push.body["messages"][0]["text"] == "お知らせです"
    assert len(push.body["messages"][0]["quickReply"]["items"]) == 2


# --------------------------------------------------------------------------------------------
# Units.


def test_split_text_prefers_paragraphs_then_lines_then_sentences():
    paragraphs = "a" * 60 + "\n\n" + "b" * 60
    assert split_text(paragraphs, limit=100) == ["a" * 60, "b" * 60]
    lines = "a" * 60 + "\n" + "b" * 60
    assert split_text(lines, limit=100) == ["a" * 60, "b" * 60]
    sentences = "これは文です。" * 20
    pieces = split_text(sentences, limit=50)
    assert all(p.endswith("。") and utf16_len(p) <= 50 for p in pieces)
    nepali = "यो वाक्य हो। " * 20
    assert all(p.endswith("।") for p in split_text(nepali, limit=50))
    assert split_text("   ") == []


def test_split_text_never_breaks_a_surrogate_pair():
    text = "a" * 4999 + "😀" + "b" * 10
    first, second = split_text(text)
    assert first == "a" * 4999 and second == "😀" + "b" * 10
    pieces = split_text("😀" * 6000)
    assert [utf16_len(p) for p in pieces] == [5000, 5000, 2000]
    for piece in pieces:
        piece.encode("utf-16", errors="strict")


def test_split_text_does_not_detach_combining_marks():
    text = "क" * 10 + "ि" + "ख" * 5  # a Devanagari vowel sign after the 10th consonant
    pieces = split_text(text, limit=10)
    assert pieces[0] == "क" * 9 and pieces[1].startswith("कि")


def test_truncate_and_labels():
    assert truncate("short", 20) == "short"
    label = truncate("Đăng ký con dấu và giấy chứng nhận", 20)
    assert utf16_len(label) <= 20 and label.endswith("…")
    assert utf16_len(truncate("😀" * 30, 20)) <= 20


@pytest.mark.parametrize(
    "code, expected",
    [
        ("ja", "ja"),
        ("zh-Hant", "zh"),
        ("zh-Hans", "zh"),
        ("pt-BR", "pt"),
        ("es-419", "es"),
        ("fil", "tl"),
        ("ne", "ne"),
        ("en-US", "en"),
        ("th", None),
        ("", None),
        (None, None),
    ],
)
def test_map_line_language(code, expected):
    assert map_line_language(code) == expected


def test_signature_matches_lines_algorithm():
    body = b'{"destination":"U1","events":[]}'
    expected = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()
    assert compute_signature(SECRET, body) == expected
    assert is_valid_signature(SECRET, body, expected)
    assert not is_valid_signature(SECRET, body + b" ", expected)
    assert not is_valid_signature(SECRET, body, None)
    assert not is_valid_signature("", body, expected)


def test_ttl_cache_expires_and_is_bounded():
    now = [0.0]
    cache = TTLCache(maxsize=2, ttl=10, clock=lambda: now[0])
    assert cache.add("a") and not cache.add("a")
    now[0] = 11
    assert cache.add("a")  # expired, so new again
    cache.add("b")
    cache.add("c")
    assert len(cache) == 2 and cache.get("a") is None


def test_parse_retry_after():
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
