"""Unit tests of the web chat channel (bot/channels/web.py).

The channel is registered the way Rasa does it (``rasa.core.run.configure_app``) and
served on 127.0.0.1; the agent is a fake that records what reaches it. No model, no
network beyond the loopback.
"""

import asyncio
import json
import os
import socket
import stat
from pathlib import Path
from typing import Any, AsyncIterator, Dict, List, Optional

import aiohttp
import pytest
import pytest_asyncio
from yarl import URL

from bot.channels.web import SessionSigner, WebChatInput, load_session_secret

pytestmark = pytest.mark.asyncio

SECRET = b"unit-test-secret-0123456789abcdef0123456789"
CARD = {
    "type": "contact_card",
    "lang": "vi",
    "title": "Phòng Bảo hiểm Y tế Quốc dân và Lương hưu",
    "phones": [{"label": "Điện thoại", "number": "03-3578-2574", "tel": "tel:+81335782574"}],
    "open_now": True,
    "text": "Phòng Bảo hiểm Y tế Quốc dân và Lương hưu — 03-3578-2574",
}


class FakeAgent:
    """Records messages, answers with contract-shaped replies, keeps a real tracker."""

    def __init__(self) -> None:
        from rasa.core.tracker_store import InMemoryTrackerStore
        from rasa.shared.core.domain import Domain

        self.tracker_store = InMemoryTrackerStore(Domain.empty())
        self.calls: List[Any] = []
        self.delay = 0.0
        self.fail = False

    async def handle_message(self, message: Any) -> None:
        from rasa.shared.core.events import BotUttered, UserUttered

        self.calls.append(message)
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail:
            raise RuntimeError("the assistant broke")
        replies: List[Dict[str, Any]] = [
            {"text": f"echo: {message.text}"},
            {"custom": dict(CARD)},
            {
                "text": "Related:",
                "buttons": [{"title": "Pension", "payload": "/faq_pension_enrollment"}],
            },
        ]
        tracker = await self.tracker_store.get_or_create_tracker(message.sender_id)
        tracker.update(
            UserUttered(
                message.text,
                input_channel=message.input_channel,
                message_id=message.message_id,
                metadata=message.metadata,
            )
        )
        for reply in replies:
            await message.output_channel.send_response(message.sender_id, dict(reply))
            data = {k: v for k, v in reply.items() if k in ("buttons", "custom")}
            tracker.update(BotUttered(reply.get("text"), data=data))
        await self.tracker_store.save(tracker)


class Server:
    def __init__(self, channel: WebChatInput, agent: FakeAgent) -> None:
        self.channel = channel
        self.agent = agent
        self.base = ""
        self.http: Optional[aiohttp.ClientSession] = None
        self._server: Any = None
        self.app: Any = None

    async def start(self) -> "Server":
        from rasa.core.run import configure_app
        from sanic import Sanic

        Sanic.test_mode = True
        self.app = configure_app([self.channel], enable_api=False, use_uvloop=False)
        self.app.ctx.agent = self.agent
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        self._server = await self.app.create_server(
            host="127.0.0.1", port=port, return_asyncio_server=True, access_log=False
        )
        await self._server.startup()
        await self._server.before_start()
        await self._server.after_start()
        self.base = f"http://127.0.0.1:{port}/webhooks/web"
        self.http = aiohttp.ClientSession()
        return self

    async def stop(self) -> None:
        await self.http.close()
        await self._server.before_stop()
        await self._server.close()
        await self._server.after_stop()

    async def session(self) -> str:
        async with self.http.post(f"{self.base}/session") as resp:
            assert resp.status == 200
            assert resp.headers["Cache-Control"] == "no-store"
            return (await resp.json())["session"]

    async def post(self, body: Any, raw: Optional[bytes] = None) -> aiohttp.ClientResponse:
        data = raw if raw is not None else json.dumps(body).encode()
        resp = await self.http.post(
            f"{self.base}/webhook",
            data=data,
            headers={"Content-Type": "application/json"},
        )
        await resp.read()
        return resp


@pytest.fixture
def agent() -> FakeAgent:
    return FakeAgent()


@pytest.fixture
def channel(tmp_path: Path) -> WebChatInput:
    return WebChatInput(secret=SECRET, state_dir=tmp_path / "state")


@pytest_asyncio.fixture
async def server(channel: WebChatInput, agent: FakeAgent) -> AsyncIterator[Server]:
    srv = await Server(channel, agent).start()
    yield srv
    await srv.stop()


@pytest_asyncio.fixture
async def unfrozen_server(channel: WebChatInput, agent: FakeAgent) -> AsyncIterator[Server]:
    import gc

    gc.unfreeze()
    srv = await Server(channel, agent).start()
    yield srv
    await srv.stop()
    gc.unfreeze()


async def test_the_loaded_server_heap_is_frozen_after_start(unfrozen_server: Server) -> None:
    """Full garbage collections of the loaded server (35-250 ms) skip what was alive at start-up:
    bot/channels/heap.py. The model loads before ``after_server_start``; the channel freezes then."""
    import gc

    assert gc.get_freeze_count() > 10_000


# ------------------------------------------------------------------------ routes


async def test_routes_are_registered_under_webhooks_web(server: Server) -> None:
    import rasa.core.utils

    routes = rasa.core.utils.list_routes(server.app)
    lines = "\n".join(routes.values())
    for path in ("/webhooks/web/session", "/webhooks/web/webhook", "/webhooks/web/history"):
        assert path in lines
    assert "/webhooks/web/static/" in lines
    assert WebChatInput.name() == "web"


async def test_health_for_monitoring_and_demo_page_for_browsers(server: Server) -> None:
    async with server.http.get(f"{server.base}/", headers={"Accept": "*/*"}) as resp:
        assert await resp.json() == {"status": "ok"}
    async with server.http.get(f"{server.base}/health") as resp:
        assert await resp.json() == {"status": "ok"}
    async with server.http.get(f"{server.base}/", headers={"Accept": "text/html,application/xhtml+xml"}) as resp:
        assert resp.status == 200
        assert resp.content_type == "text/html"
        html = await resp.text()
        assert 'src="/webhooks/web/static/minato-chat.js"' in html
        csp = resp.headers["Content-Security-Policy"]
        assert "script-src 'self';" in csp and "unsafe-inline" not in csp


# ---------------------------------------------------------------------- sessions


async def test_sessions_are_random_and_signed(server: Server) -> None:
    first, second = await server.session(), await server.session()
    assert first != second
    sid = server.channel.signer.verify(first)
    assert sid and sid.startswith("web-") and first.split(".")[1] == sid
    assert SessionSigner(b"another-secret-another-secret-xx").verify(first) is None


def test_session_tokens_expire() -> None:
    now = [1_800_000_000.0]
    signer = SessionSigner(SECRET, max_age=24 * 3600, clock=lambda: now[0])
    sid, token = signer.issue()
    now[0] += 23 * 3600
    assert signer.verify(token) == sid                     # the same day: the conversation goes on
    now[0] += 2 * 3600
    assert signer.verify(token) is None                    # the next day: a new session
    _, future = SessionSigner(SECRET, clock=lambda: now[0] + 3600).issue()
    assert signer.verify(future) is None                   # issued "in the future": refused


async def test_new_sessions_are_rate_limited_per_address(channel: WebChatInput, agent: FakeAgent) -> None:
    from bot.channels.web import RateLimiter

    now = [0.0]
    channel.session_limiter = RateLimiter(burst=3, refill=10.0, clock=lambda: now[0])
    srv = await Server(channel, agent).start()
    try:
        statuses = []
        for _ in range(4):
            async with srv.http.post(f"{srv.base}/session") as resp:
                statuses.append(resp.status)
                if resp.status == 429:
                    assert (await resp.json())["error"] == "too_many_sessions"
                    assert resp.headers["Retry-After"] == "10"
        assert statuses == [200, 200, 200, 429]
        now[0] += 10.0                                      # one more after the refill time
        async with srv.http.post(f"{srv.base}/session") as resp:
            assert resp.status == 200
            token = (await resp.json())["session"]
        # an existing session keeps working while new ones are refused
        assert (await srv.post({"session": token, "message": "hello"})).status == 200
    finally:
        await srv.stop()


async def test_message_reaches_the_agent_as_the_session(server: Server) -> None:
    token = await server.session()
    resp = await server.post({"session": token, "message": "Xin chào", "metadata": {"language": "vi"}})
    assert resp.status == 200
    messages = await resp.json()
    assert [m.get("text") for m in messages] == ["echo: Xin chào", None, "Related:"]
    assert messages[1]["custom"]["type"] == "contact_card"
    assert messages[2]["buttons"][0]["payload"] == "/faq_pension_enrollment"
    (message,) = server.agent.calls
    assert message.sender_id == server.channel.signer.verify(token)
    assert message.input_channel == "web"
    assert message.metadata == {"language": "vi"}


@pytest.mark.parametrize(
    "token",
    [
        None,
        "",
        "garbage",
        "v1.web-0123456789abcdef0123456789abcdef.AAAA",
        "v2.web-0123456789abcdef0123456789abcdef.AAAA",
        "v2.web-0123456789abcdef0123456789abcdef.1700000000.AAAA",
        "v2." + "x" * 500,
        12345,
        {"session": "nested"},
    ],
)
async def test_bad_token_is_401(server: Server, token: Any) -> None:
    body: Dict[str, Any] = {"message": "hello"}
    if token is not None:
        body["session"] = token
    resp = await server.post(body)
    assert resp.status == 401
    assert (await resp.json())["error"] == "invalid_session"
    assert server.agent.calls == []


async def test_forged_session_id_is_401(server: Server) -> None:
    """Someone who knows (or guesses) another user's id cannot sign it."""
    mine = await server.session()
    victim = await server.session()
    _, victim_id, victim_issued, victim_signature = victim.split(".")
    _, _, my_issued, my_signature = mine.split(".")
    forged = [
        f"v2.{victim_id}.{my_issued}.{my_signature}",  # my signature on their id
        f"v2.{victim_id}.{victim_issued}.",  # no signature
        f"v2.web-{'0' * 32}.{my_issued}.{my_signature}",  # a chosen id
        f"v2.{victim_id}.{victim_issued}.{victim_signature[:-1]}A",  # tampered signature
        f"v2.{victim_id}.{int(victim_issued) + 3600}.{victim_signature}",  # a later issue time
        f"v1.{victim_id}.{victim_signature}",  # the old format
        victim_id,  # the bare id, as socket.io clients would send it
    ]
    for token in forged:
        if token == victim:
            continue
        resp = await server.post({"session": token, "message": "show me their chat"})
        assert resp.status == 401, token
        async with server.http.get(f"{server.base}/history", params={"session": token}) as history:
            assert history.status == 401
    # A token signed with another server's secret is refused too.
    _, foreign = SessionSigner(b"x" * 32).issue()
    assert (await server.post({"session": foreign, "message": "hi"})).status == 401
    assert server.agent.calls == []


# ------------------------------------------------------------------ input checks


@pytest.mark.parametrize(
    "raw, code",
    [
        (b"{not json", "malformed_json"),
        (b"", "malformed_json"),
        (b"[1, 2]", "malformed_json"),
        (b'"just a string"', "malformed_json"),
        (b"\xff\xfe\x00garbage", "malformed_json"),
    ],
)
async def test_malformed_json_is_400(server: Server, raw: bytes, code: str) -> None:
    resp = await server.post(None, raw=raw)
    assert resp.status == 400
    assert resp.content_type == "application/json"
    body = await resp.json()
    assert body["error"] == code and body["detail"]


@pytest.mark.parametrize(
    "message, code",
    [
        (None, "missing_message"),
        ("", "empty_message"),
        ("   \n\t ", "empty_message"),
        (42, "invalid_message"),
        (["a"], "invalid_message"),
        ("a" * 5001, "message_too_long"),
        ("a" * 100_000, "message_too_long"),
    ],
)
async def test_bad_message_is_400(server: Server, message: Any, code: str) -> None:
    token = await server.session()
    body: Dict[str, Any] = {"session": token}
    if message is not None:
        body["message"] = message
    resp = await server.post(body)
    assert resp.status == 400
    payload = await resp.json()
    assert payload["error"] == code and payload["detail"]
    assert server.agent.calls == []


async def test_oversized_body_is_413(server: Server) -> None:
    token = await server.session()
    resp = await server.post({"session": token, "message": "hi", "padding": "x" * 300_000})
    assert resp.status == 413
    assert (await resp.json())["error"] == "payload_too_large"


async def test_message_of_exactly_5000_characters_is_accepted(server: Server) -> None:
    token = await server.session()
    resp = await server.post({"session": token, "message": "あ" * 5000})
    assert resp.status == 200


@pytest.mark.parametrize(
    "metadata, expected",
    [
        ({"language": "vi"}, {"language": "vi"}),
        ({"language": "ja-easy"}, {"language": "ja-easy"}),
        ({"language": "fr"}, {}),
        ({"language": "VI"}, {}),
        ({"language": "<script>alert(1)</script>"}, {}),
        ({"language": ["vi"]}, {}),
        ({"language_hint": "vi-VN"}, {"language_hint": "vi"}),
        ({"language_hint": "pt_BR"}, {"language_hint": "pt"}),
        ({"language_hint": "fil-PH"}, {"language_hint": "tl"}),
        ({"language_hint": "zh-Hant-TW"}, {"language_hint": "zh"}),
        ({"language_hint": "de-DE"}, {}),
        ({"language_hint": "x" * 100}, {}),
        (
            {"language": "ne", "sender": "admin", "is_staff": True, "slots": {"a": 1}},
            {"language": "ne"},
        ),
        ("not an object", {}),
    ],
)
async def test_metadata_comes_from_the_allow_list_only(server: Server, metadata: Any, expected: Dict[str, Any]) -> None:
    token = await server.session()
    resp = await server.post({"session": token, "message": "hi", "metadata": metadata})
    assert resp.status == 200
    assert server.agent.calls[-1].metadata == expected


async def test_invalid_client_msg_id_is_400(server: Server) -> None:
    token = await server.session()
    for bad in ["short", "has space in it", "x" * 65, 123, "../../etc/passwd"]:
        resp = await server.post({"session": token, "message": "hi", "client_msg_id": bad})
        assert resp.status == 400
        assert (await resp.json())["error"] == "invalid_client_msg_id"


# ------------------------------------------------------------------- idempotency


async def test_retry_with_the_same_client_msg_id_is_not_processed_twice(
    server: Server,
) -> None:
    token = await server.session()
    body = {"session": token, "message": "hello", "client_msg_id": "msg-0001-aaaa"}
    first = await server.post(body)
    second = await server.post(body)
    assert first.status == second.status == 200
    assert await first.json() == await second.json()
    assert "X-Idempotent-Replay" not in first.headers
    assert second.headers["X-Idempotent-Replay"] == "true"
    assert len(server.agent.calls) == 1
    assert server.agent.calls[0].message_id == "msg-0001-aaaa"

    # A new id is a new message; the same id in another session is another message.
    await server.post({**body, "client_msg_id": "msg-0002-bbbb"})
    other = await server.session()
    await server.post({**body, "session": other})
    assert len(server.agent.calls) == 3


async def test_duplicate_arriving_while_the_first_is_in_flight(server: Server) -> None:
    server.agent.delay = 0.3
    token = await server.session()
    body = {"session": token, "message": "slow", "client_msg_id": "msg-slow-0001"}
    first, second = await asyncio.gather(server.post(body), server.post(body))
    assert first.status == second.status == 200
    assert await first.json() == await second.json()
    assert len(server.agent.calls) == 1


async def test_retry_after_a_restart_is_answered_from_the_tracker(agent: FakeAgent, tmp_path: Path) -> None:
    body: Dict[str, Any] = {"message": "hello", "client_msg_id": "msg-restart-01"}
    before = await Server(WebChatInput(secret=SECRET, state_dir=tmp_path), agent).start()
    try:
        body["session"] = await before.session()
        original = await (await before.post(body)).json()
    finally:
        await before.stop()

    # Same secret and tracker store, but a new process: its reply cache is empty.
    after = await Server(WebChatInput(secret=SECRET, state_dir=tmp_path), agent).start()
    try:
        resp = await after.post(body)
        assert resp.status == 200
        assert resp.headers["X-Idempotent-Replay"] == "true"
        assert await resp.json() == original
        assert len(agent.calls) == 1
    finally:
        await after.stop()


async def test_a_failed_answer_is_not_cached(server: Server) -> None:
    token = await server.session()
    body = {"session": token, "message": "hello", "client_msg_id": "msg-fail-0001"}
    server.agent.fail = True
    resp = await server.post(body)
    assert resp.status == 503
    assert (await resp.json())["error"] == "assistant_unavailable"
    server.agent.fail = False
    resp = await server.post(body)
    assert resp.status == 200 and "X-Idempotent-Replay" not in resp.headers
    assert len(server.agent.calls) == 2


# ----------------------------------------------------------------------- history


async def test_history_lists_the_conversation_in_order(server: Server) -> None:
    token = await server.session()
    await server.post({"session": token, "message": "first", "client_msg_id": "msg-h-0001"})
    await server.post({"session": token, "message": "/faq_pension_enrollment", "client_msg_id": "msg-h-0002"})
    async with server.http.get(f"{server.base}/history", params={"session": token}) as r:
        assert r.status == 200
        assert r.headers["Cache-Control"] == "no-store"
        messages = (await r.json())["messages"]
    assert [(m["sender"], m.get("text")) for m in messages] == [
        ("user", "first"),
        ("bot", "echo: first"),
        ("bot", None),
        ("bot", "Related:"),
        ("user", "Pension"),  # the quick reply's title, not its payload
        ("bot", "echo: /faq_pension_enrollment"),
        ("bot", None),
        ("bot", "Related:"),
    ]
    assert messages[0]["client_msg_id"] == "msg-h-0001"
    assert messages[2]["custom"]["type"] == "contact_card"
    assert messages[3]["buttons"] == [{"title": "Pension", "payload": "/faq_pension_enrollment"}]

    # Another session sees nothing of it.
    other = await server.session()
    async with server.http.get(f"{server.base}/history", params={"session": other}) as r:
        assert (await r.json())["messages"] == []


async def test_history_needs_a_valid_token(server: Server) -> None:
    async with server.http.get(f"{server.base}/history") as r:
        assert r.status == 401
    async with server.http.get(f"{server.base}/history", params={"session": "v1.web-nope.nope"}) as r:
        assert r.status == 401


# ------------------------------------------------------------------ static files


@pytest.mark.parametrize(
    "name, mime",
    [
        ("minato-chat.js", "text/javascript"),
        ("minato-chat.css", "text/css"),
        ("demo.html", "text/html"),
    ],
)
async def test_static_files_have_mime_types_and_cache_headers(server: Server, name: str, mime: str) -> None:
    async with server.http.get(f"{server.base}/static/{name}") as resp:
        assert resp.status == 200
        assert resp.content_type == mime
        assert resp.headers["Cache-Control"] == "public, max-age=300"
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        etag = resp.headers["ETag"]
    async with server.http.get(f"{server.base}/static/{name}", headers={"If-None-Match": etag}) as resp:
        assert resp.status == 304


@pytest.mark.parametrize(
    "raw_path",
    [
        "/static/..%2F..%2Fbot%2Fchannels%2Fweb.py",
        "/static/%2e%2e/%2e%2e/credentials.yml",
        "/static/..%5C..%5Cbot%5Cchannels%5Cweb.py",
        "/static/%2Fetc%2Fpasswd",
        "/static/.gitignore",
        "/static/minato-chat.js%00.png",
        "/static/missing.js",
        "/static/minato-chat.py",
        "/static/",
    ],
)
async def test_static_refuses_anything_outside_the_widget(server: Server, raw_path: str) -> None:
    url = URL(server.base + raw_path, encoded=True)
    async with server.http.get(url) as resp:
        assert resp.status == 404
        assert "import" not in await resp.text()


# ----------------------------------------------------------------------- secrets


async def test_generated_secret_is_kept_private_and_reused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WEB_SESSION_SECRET", raising=False)
    state = tmp_path / ".state"
    first = load_session_secret(state)
    assert load_session_secret(state) == first
    path = state / "web_session_secret"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert (state / ".gitignore").read_text().strip().endswith("*")

    # Tokens survive a restart: a new channel on the same state accepts old tokens.
    _, token = WebChatInput(state_dir=state).signer.issue()
    assert WebChatInput(state_dir=state).signer.verify(token)

    monkeypatch.setenv("WEB_SESSION_SECRET", "from-the-environment-" + "z" * 20)
    assert load_session_secret(state) == b"from-the-environment-" + b"z" * 20
    assert WebChatInput(state_dir=state).signer.verify(token) is None


async def test_from_credentials_needs_no_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEB_SESSION_SECRET", "s" * 40)
    channel = WebChatInput.from_credentials(None)
    assert isinstance(channel, WebChatInput)
    assert channel.widget_dir.name == "widget"
