"""A fake LINE Messaging API on 127.0.0.1 that enforces LINE's rules and records every call.

It rejects what the real platform rejects (and a little more, to keep the channel honest):
a missing or wrong bearer token (401), more than 5 messages, a text over 5,000 UTF-16 code units,
more than 13 quick-reply items or a label over 20 characters (400), a reused or unknown reply
token (400 "Invalid reply token"), a push without ``X-Line-Retry-Key`` (400), a retried push
whose key was already accepted (409). It can be told to fail the next calls of an endpoint
(``fail_next("push", 429, retry_after="1")``).
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

MAX_MESSAGES = 5
MAX_TEXT_UNITS = 5000
MAX_QUICK_REPLY_ITEMS = 13
MAX_LABEL_UNITS = 20
MAX_DATA_UNITS = 300
MAX_ALT_TEXT_UNITS = 1500
URI_SCHEMES = ("http://", "https://", "line://", "tel:")


def utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@dataclass
class Call:
    """One request the fake received (accepted or not)."""

    endpoint: str  # reply, push, loading, profile
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    status: int = 0
    at: float = field(default_factory=time.monotonic)


class FakeLineAPI:
    def __init__(self, access_token: str) -> None:
        self.access_token = access_token
        self.calls: list[Call] = []
        self.profiles: dict[str, dict[str, Any]] = {}
        self._reply_tokens: dict[str, bool] = {}  # token -> used
        self._accepted_retry_keys: set[str] = set()
        self._failures: dict[str, deque] = defaultdict(deque)
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/v2/bot/message/reply", self._reply)
        app.router.add_post("/v2/bot/message/push", self._push)
        app.router.add_post("/v2/bot/chat/loading/start", self._loading)
        app.router.add_get("/v2/bot/profile/{user_id}", self._profile)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}"
        return self.base_url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    # -- test controls --------------------------------------------------------------------------

    def issue_reply_token(self) -> str:
        token = uuid.uuid4().hex
        self._reply_tokens[token] = False
        return token

    def fail_next(self, endpoint: str, status: int, times: int = 1, retry_after: str | None = None) -> None:
        for _ in range(times):
            self._failures[endpoint].append((status, retry_after))

    def calls_to(self, endpoint: str, accepted: bool | None = None) -> list[Call]:
        return [
            call
            for call in self.calls
            if call.endpoint == endpoint and (accepted is None or (200 <= call.status < 300) == accepted)
        ]

    @property
    def replies(self) -> list[Call]:
        return self.calls_to("reply", accepted=True)

    @property
    def pushes(self) -> list[Call]:
        return self.calls_to("push", accepted=True)

    def delivered(self) -> list[dict[str, Any]]:
        """All messages LINE accepted, in the order they were accepted."""
        return [
            message
            for call in self.calls
            if call.endpoint in ("reply", "push") and 200 <= call.status < 300
            for message in call.body["messages"]
        ]

    def delivered_texts(self) -> list[str]:
        return [m.get("text") or m.get("altText") for m in self.delivered()]

    # -- request handling ---------------------------------------------------------------------

    async def _begin(self, endpoint: str, request: web.Request) -> tuple[Call, web.Response | None]:
        body: Any = None
        if request.method == "POST":
            try:
                body = await request.json()
            except ValueError:
                body = None
        call = Call(endpoint, request.method, request.path, dict(request.headers), body)
        self.calls.append(call)
        if request.headers.get("Authorization") != f"Bearer {self.access_token}":
            return call, self._error(call, 401, "Authentication failed. Confirm that the access token is valid.")
        if self._failures[endpoint]:
            status, retry_after = self._failures[endpoint].popleft()
            headers = {"Retry-After": retry_after} if retry_after is not None else None
            return call, self._error(call, status, "Injected failure", headers=headers)
        if request.method == "POST" and not isinstance(body, dict):
            return call, self._error(call, 400, "The request body has 1 error(s)")
        return call, None

    @staticmethod
    def _error(
        call: Call,
        status: int,
        message: str,
        details: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> web.Response:
        call.status = status
        payload: dict[str, Any] = {"message": message}
        if details:
            payload["details"] = details
        return web.json_response(payload, status=status, headers=headers)

    @staticmethod
    def _ok(call: Call, payload: dict[str, Any], status: int = 200) -> web.Response:
        call.status = status
        return web.json_response(payload, status=status)

    async def _reply(self, request: web.Request) -> web.Response:
        call, error = await self._begin("reply", request)
        if error is not None:  # an aiohttp Response is falsy (an empty mapping)
            return error
        problem = validate_messages(call.body.get("messages"))
        if problem:
            return self._error(call, 400, "The request body has 1 error(s)", [problem])
        token = call.body.get("replyToken")
        if token not in self._reply_tokens or self._reply_tokens[token]:
            return self._error(call, 400, "Invalid reply token")
        self._reply_tokens[token] = True
        return self._ok(call, {"sentMessages": _sent(call.body["messages"])})

    async def _push(self, request: web.Request) -> web.Response:
        call, error = await self._begin("push", request)
        if error is not None:  # an aiohttp Response is falsy (an empty mapping)
            return error
        retry_key = request.headers.get("X-Line-Retry-Key")
        if not retry_key:
            return self._error(call, 400, "X-Line-Retry-Key is required by this fake")
        try:
            uuid.UUID(retry_key)
        except ValueError:
            return self._error(call, 400, "The retry key is invalid")
        if retry_key in self._accepted_retry_keys:
            call.status = 409
            return web.json_response(
                {"message": "The retry key is already accepted"},
                status=409,
                headers={"x-line-accepted-request-id": uuid.uuid4().hex},
            )
        if not isinstance(call.body.get("to"), str) or not call.body["to"]:
            return self._error(call, 400, "The request body has 1 error(s)", [{"property": "to"}])
        problem = validate_messages(call.body.get("messages"))
        if problem:
            return self._error(call, 400, "The request body has 1 error(s)", [problem])
        self._accepted_retry_keys.add(retry_key)
        return self._ok(call, {"sentMessages": _sent(call.body["messages"])})

    async def _loading(self, request: web.Request) -> web.Response:
        call, error = await self._begin("loading", request)
        if error is not None:  # an aiohttp Response is falsy (an empty mapping)
            return error
        chat_id, seconds = call.body.get("chatId"), call.body.get("loadingSeconds", 20)
        if not isinstance(chat_id, str) or not chat_id.startswith("U"):
            return self._error(call, 400, "chatId must be a user ID")
        if not isinstance(seconds, int) or seconds % 5 or not 5 <= seconds <= 60:
            return self._error(call, 400, "loadingSeconds must be a multiple of 5 in 5..60")
        return self._ok(call, {}, status=202)

    async def _profile(self, request: web.Request) -> web.Response:
        call, error = await self._begin("profile", request)
        if error is not None:  # an aiohttp Response is falsy (an empty mapping)
            return error
        profile = self.profiles.get(request.match_info["user_id"])
        if profile is None:
            return self._error(call, 404, "Not found")
        return self._ok(call, profile)


def _sent(messages: list[dict[str, Any]]) -> list[dict[str, str]]:
    return [{"id": uuid.uuid4().hex, "quoteToken": uuid.uuid4().hex} for _ in messages]


def validate_messages(messages: Any) -> dict[str, str] | None:
    """Returns a LINE-style error detail, or None when LINE would accept the messages."""
    if not isinstance(messages, list) or not messages:
        return {"property": "messages", "message": "must be a non-empty array"}
    if len(messages) > MAX_MESSAGES:
        return {"property": "messages", "message": "Size must be between 1 and 5"}
    for index, message in enumerate(messages):
        where = f"messages[{index}]"
        if not isinstance(message, dict):
            return {"property": where, "message": "must be an object"}
        kind = message.get("type")
        if kind == "text":
            text = message.get("text")
            if not isinstance(text, str) or not text:
                return {"property": f"{where}.text", "message": "must be specified"}
            if utf16_units(text) > MAX_TEXT_UNITS:
                return {"property": f"{where}.text", "message": "Length must be between 0 and 5000"}
        elif kind == "flex":
            alt = message.get("altText")
            if not isinstance(alt, str) or not alt or utf16_units(alt) > MAX_ALT_TEXT_UNITS:
                return {"property": f"{where}.altText", "message": "invalid altText"}
            contents = message.get("contents")
            if not isinstance(contents, dict) or contents.get("type") not in ("bubble", "carousel"):
                return {"property": f"{where}.contents", "message": "invalid contents"}
            problem = _validate_flex(contents, f"{where}.contents")
            if problem:
                return problem
        elif kind == "image":
            for key in ("originalContentUrl", "previewImageUrl"):
                if not str(message.get(key) or "").startswith("https://"):
                    return {"property": f"{where}.{key}", "message": "must be https"}
        else:
            return {"property": f"{where}.type", "message": f"unsupported type {kind!r}"}
        if "quickReply" in message:
            problem = _validate_quick_reply(message["quickReply"], f"{where}.quickReply")
            if problem:
                return problem
    return None


def _validate_quick_reply(quick_reply: Any, where: str) -> dict[str, str] | None:
    items = quick_reply.get("items") if isinstance(quick_reply, dict) else None
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_QUICK_REPLY_ITEMS:
        return {"property": f"{where}.items", "message": "Size must be between 1 and 13"}
    for index, item in enumerate(items):
        action = item.get("action") if isinstance(item, dict) else None
        if item.get("type") != "action" or not isinstance(action, dict):
            return {"property": f"{where}.items[{index}]", "message": "invalid item"}
        problem = _validate_action(action, f"{where}.items[{index}].action", label_required=True)
        if problem:
            return problem
    return None


def _validate_action(action: dict[str, Any], where: str, label_required: bool) -> dict[str, str] | None:
    label = action.get("label")
    if label_required and (not isinstance(label, str) or not label):
        return {"property": f"{where}.label", "message": "must be specified"}
    if isinstance(label, str) and utf16_units(label) > MAX_LABEL_UNITS:
        return {"property": f"{where}.label", "message": "Length must be between 0 and 20"}
    kind = action.get("type")
    if kind == "postback":
        data = action.get("data")
        if not isinstance(data, str) or not data or utf16_units(data) > MAX_DATA_UNITS:
            return {"property": f"{where}.data", "message": "Length must be between 1 and 300"}
        display = action.get("displayText")
        if display is not None and (not display or utf16_units(display) > MAX_DATA_UNITS):
            return {"property": f"{where}.displayText", "message": "Length must be between 1 and 300"}
    elif kind == "uri":
        if not str(action.get("uri") or "").startswith(URI_SCHEMES):
            return {"property": f"{where}.uri", "message": "invalid uri"}
    elif kind != "message":
        return {"property": f"{where}.type", "message": f"unsupported action {kind!r}"}
    return None


def _validate_flex(component: Any, where: str) -> dict[str, str] | None:
    if isinstance(component, dict):
        if component.get("type") == "text" and not component.get("text"):
            return {"property": f"{where}.text", "message": "must be specified"}
        if isinstance(component.get("action"), dict):
            problem = _validate_action(component["action"], f"{where}.action", label_required=False)
            if problem:
                return problem
        for key, value in component.items():
            if key != "action":
                problem = _validate_flex(value, f"{where}.{key}")
                if problem:
                    return problem
    elif isinstance(component, list):
        for index, value in enumerate(component):
            problem = _validate_flex(value, f"{where}[{index}]")
            if problem:
                return problem
    return None
