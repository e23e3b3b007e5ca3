"""Website chat channel for the embeddable widget (``widget/minato-chat.js``).

Modelled on Rasa's REST channel (``rasa/core/channels/rest.py``): one POST per user
message, bot messages collected with ``CollectingOutputChannel`` and returned as a JSON
list. What it adds, and why:

* **Server-issued, signed sessions.** ``POST /webhooks/web/session`` returns a token
  ``v2.<session id>.<issued at>.<HMAC-SHA256 signature>``. The session id is random and
  becomes the Rasa ``sender_id``; a client can neither choose one nor forge the signature of
  someone else's, so a conversation cannot be hijacked (see STYLE.md, "Trusting
  client-supplied session IDs"). Tokens are stateless (issuing one stores nothing) and expire
  after ``WEB_SESSION_MAX_AGE_HOURS`` (24): a widget left open on a shared computer does not
  show the last conversation to the next person. One client address may open 30 sessions at
  once, then one every 10 seconds (429 with ``Retry-After`` beyond).
* **Strict input checks** with JSON errors (400 for malformed JSON, missing, empty or
  over-long messages; 401 for a bad token).
* **Metadata from an allow-list** only: ``language`` (the widget's language picker) and
  ``language_hint`` (the browser's language), as described in docs/architecture.md.
* **Idempotent retries.** The widget sends a ``client_msg_id`` with each message and
  re-sends after a network failure. A repeated ``(session, client_msg_id)`` gets the
  stored reply instead of being processed twice: from an in-memory cache, from the
  request still in flight, or, after a restart, from the tracker (the id is stored as the
  ``message_id`` of the ``UserUttered`` event).
* **History** for page reloads, read from the running agent's tracker store.
* **Static files** of the widget and a demo page, so nothing comes from a CDN.

Configure it in credentials.yml as ``bot.channels.web.WebChatInput:`` (no keys needed).
The signing secret comes from the environment variable ``WEB_SESSION_SECRET``; when it is
unset one is generated once and kept in ``.state/web_session_secret`` (git-ignored), so
sessions survive restarts.
"""

import asyncio
import base64
import copy
import hashlib
import hmac
import inspect
import json
import logging
import os
import re
import secrets
import time
from collections import OrderedDict
from pathlib import Path
from typing import (
    Any,
    Awaitable,
    Callable,
    Dict,
    List,
    Optional,
    Tuple,
    Union,
)

from rasa.core.channels.channel import (
    CollectingOutputChannel,
    InputChannel,
    UserMessage,
)
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.heap import freeze_heap_after_start

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_WIDGET_DIR = REPO_ROOT / "widget"
DEFAULT_STATE_DIR = REPO_ROOT / ".state"

SECRET_ENV_VAR = "WEB_SESSION_SECRET"
SECRET_FILE_NAME = "web_session_secret"
MIN_SECRET_BYTES = 32

# The answer languages of the assistant (docs/architecture.md). `language` must be one.
ANSWER_LANGUAGES = ("ja", "ja-easy", "en", "zh", "ko", "vi", "ne", "tl", "pt", "es")
# Browser language tags whose primary subtag maps onto an answer language.
_HINT_ALIASES = {"fil": "tl", "zh": "zh", "ja": "ja"}

MAX_MESSAGE_CHARS = 5000
MAX_BODY_BYTES = 256 * 1024
MAX_TOKEN_CHARS = 200
HISTORY_LIMIT = 500
REPLY_CACHE_ENTRIES = 10_000
REPLY_CACHE_TTL_SECONDS = 24 * 3600

# A session token lives this long (WEB_SESSION_MAX_AGE_HOURS): a widget left open on a shared
# computer does not show yesterday's conversation to the next person. The widget then quietly
# starts a new session and sends the message again.
SESSION_MAX_AGE_SECONDS = 24 * 3600
# New sessions one client address may open: a burst, then one every few seconds (429 beyond).
SESSION_BURST = 30
SESSION_REFILL_SECONDS = 10.0

_TOKEN_VERSION = "v2"
_SIGNING_CONTEXT = b"minato-web-session:v2:"
_SESSION_ID_RE = re.compile(r"^web-[0-9a-f]{32}$")
_CLIENT_MSG_ID_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
_LANGUAGE_TAG_RE = re.compile(r"^[A-Za-z]{2,8}([_-][A-Za-z0-9]{1,8})*$")
_STATIC_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*(/[A-Za-z0-9][A-Za-z0-9_.-]*)*$")

STATIC_MIME_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".webp": "image/webp",
}
STATIC_CACHE_CONTROL = "public, max-age=300"

# The demo page runs only same-origin code: no inline script, no CDN, no web font.
# Its own inline <style> blocks are allowed by hash (see `_page_csp`).
DEMO_PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'{styles}; "
    "img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'self'"
)
_STYLE_BLOCK_RE = re.compile(rb"<style>(.*?)</style>", re.DOTALL)


# --------------------------------------------------------------------------- secrets


def load_session_secret(state_dir: Optional[Path] = None) -> bytes:
    """Returns the HMAC key for session tokens.

    ``WEB_SESSION_SECRET`` wins. Otherwise the key in ``<state_dir>/web_session_secret``
    is used, created (mode 0600, with a ``.gitignore`` beside it) the first time. The file
    is created with ``O_EXCL`` so two processes starting together agree on one key.
    """
    from_env = os.environ.get(SECRET_ENV_VAR)
    if from_env:
        secret = from_env.encode("utf-8")
        if len(secret) < MIN_SECRET_BYTES:
            logger.warning(
                f"{SECRET_ENV_VAR} is shorter than {MIN_SECRET_BYTES} bytes; "
                f"use a long random value (e.g. `python -c 'import secrets; "
                f"print(secrets.token_hex(32))'`)."
            )
        return secret

    state_dir = Path(state_dir or DEFAULT_STATE_DIR)
    state_dir.mkdir(parents=True, exist_ok=True)
    gitignore = state_dir / ".gitignore"
    if not gitignore.exists():
        gitignore.write_text("# Local runtime state: never commit.\n*\n", "utf-8")
    path = state_dir / SECRET_FILE_NAME

    for _ in range(50):
        try:
            existing = path.read_text("utf-8").strip()
        except FileNotFoundError:
            existing = None
        if existing:
            return existing.encode("utf-8")
        if existing is None:
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass  # another process is writing it: read it on the next turn
            else:
                value = secrets.token_hex(32)
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    handle.write(value + "\n")
                logger.info(f"Generated a web session secret in {path}.")
                return value.encode("utf-8")
        time.sleep(0.05)
    raise RuntimeError(f"Could not read the web session secret from {path}.")


class SessionSigner:
    """Issues and verifies session tokens ``v2.<session id>.<issued at>.<signature>``.

    The signature covers the id and the issue time, so neither can be changed; a token older than
    ``max_age`` seconds (or issued in the future) is refused like a forged one.
    """

    def __init__(self, secret: bytes, max_age: float = SESSION_MAX_AGE_SECONDS,
                 clock: Callable[[], float] = time.time) -> None:
        if not secret:
            raise ValueError("The session secret must not be empty.")
        self._secret = secret
        self.max_age = max_age
        self._clock = clock

    def _sign(self, session_id: str, issued: str) -> str:
        message = _SIGNING_CONTEXT + f"{session_id}.{issued}".encode("ascii")
        digest = hmac.new(self._secret, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")

    def issue(self) -> Tuple[str, str]:
        """Returns a new random session id and its signed token."""
        session_id = f"web-{secrets.token_hex(16)}"
        issued = str(int(self._clock()))
        return session_id, f"{_TOKEN_VERSION}.{session_id}.{issued}.{self._sign(session_id, issued)}"

    def verify(self, token: Any) -> Optional[str]:
        """Returns the session id of a valid, unexpired token, ``None`` for anything else."""
        try:
            if not isinstance(token, str) or len(token) > MAX_TOKEN_CHARS:
                return None
            version, session_id, issued, signature = token.split(".")
            if version != _TOKEN_VERSION or not _SESSION_ID_RE.match(session_id) or not issued.isdigit():
                return None
            if not hmac.compare_digest(self._sign(session_id, issued).encode("ascii"),
                                       signature.encode("ascii")):
                return None
            age = self._clock() - int(issued)
            if -60 <= age <= self.max_age:
                return session_id
        except Exception:  # any malformed token is simply invalid
            return None
        return None


class RateLimiter:
    """A token bucket per client address: ``burst`` at once, then one every ``refill`` seconds."""

    def __init__(self, burst: int = SESSION_BURST, refill: float = SESSION_REFILL_SECONDS,
                 clock: Callable[[], float] = time.monotonic, max_clients: int = 50_000) -> None:
        self.burst, self.refill, self._clock, self._max = burst, refill, clock, max_clients
        self._buckets: OrderedDict[str, Tuple[float, float]] = OrderedDict()

    def allow(self, client: str) -> Tuple[bool, float]:
        """(allowed, seconds until the next one would be)."""
        now = self._clock()
        tokens, last = self._buckets.pop(client, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) / self.refill)
        allowed = tokens >= 1.0
        if allowed:
            tokens -= 1.0
        self._buckets[client] = (tokens, now)
        while len(self._buckets) > self._max:  # forget the longest-idle clients
            self._buckets.popitem(last=False)
        return allowed, 0.0 if allowed else (1.0 - tokens) * self.refill


# ----------------------------------------------------------------------- idempotency


class ReplyCache:
    """Bounded, expiring store of replies keyed by ``(session id, client_msg_id)``."""

    def __init__(
        self,
        max_entries: int = REPLY_CACHE_ENTRIES,
        ttl_seconds: float = REPLY_CACHE_TTL_SECONDS,
    ) -> None:
        self._max_entries = max_entries
        self._ttl = ttl_seconds
        self._entries: OrderedDict[Tuple[str, str], Tuple[float, List[Dict]]] = OrderedDict()

    def get(self, key: Tuple[str, str]) -> Optional[List[Dict[str, Any]]]:
        entry = self._entries.get(key)
        if entry is None:
            return None
        stored_at, messages = entry
        if time.monotonic() - stored_at > self._ttl:
            del self._entries[key]
            return None
        return copy.deepcopy(messages)

    def put(self, key: Tuple[str, str], messages: List[Dict[str, Any]]) -> None:
        self._entries[key] = (time.monotonic(), copy.deepcopy(messages))
        self._entries.move_to_end(key)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)


# ---------------------------------------------------------------------- small helpers


class _BadRequest(Exception):
    def __init__(self, code: str, detail: str, status: int = 400) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.status = status


def _error(code: str, detail: str, status: int) -> HTTPResponse:
    return response.json(
        {"error": code, "detail": detail},
        status=status,
        headers={"Cache-Control": "no-store"},
    )


def _page_csp(html: bytes) -> str:
    """The demo page's CSP, allowing exactly its inline ``<style>`` blocks by hash."""
    hashes = "".join(
        f" 'sha256-{base64.b64encode(hashlib.sha256(block).digest()).decode()}'"
        for block in _STYLE_BLOCK_RE.findall(html)
    )
    return DEMO_PAGE_CSP.format(styles=hashes)


def normalize_language_hint(value: Any) -> Optional[str]:
    """Maps a browser language tag (``vi-VN``, ``pt_BR``, ``fil``) to an answer language."""
    if not isinstance(value, str) or len(value) > 35:
        return None
    tag = value.strip()
    if not _LANGUAGE_TAG_RE.match(tag):
        return None
    tag = tag.lower().replace("_", "-")
    if tag in ANSWER_LANGUAGES:
        return tag
    primary = tag.split("-", 1)[0]
    primary = _HINT_ALIASES.get(primary, primary)
    return primary if primary in ANSWER_LANGUAGES else None


def _bot_event_to_message(event: Any, recipient_id: str) -> Dict[str, Any]:
    """The same shape as ``CollectingOutputChannel`` produces for a ``BotUttered``."""
    data = event.data or {}
    message = {
        "recipient_id": recipient_id,
        "text": event.text,
        "image": data.get("image"),
        "buttons": data.get("buttons") or data.get("quick_replies"),
        "attachment": data.get("attachment"),
        "custom": data.get("custom"),
    }
    return {k: v for k, v in message.items() if v is not None}


class WebChatInput(InputChannel):
    """Signed REST-style channel for the Minato web chat widget."""

    @classmethod
    def name(cls) -> str:
        """Name of the channel, also its URL prefix: ``/webhooks/web/``."""
        return "web"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> "WebChatInput":
        """Creates the channel; ``credentials.yml`` needs no keys for it.

        Optional keys: ``state_dir`` (where a generated secret is kept) and
        ``widget_dir`` (where the widget files are served from).
        """
        credentials = credentials or {}
        return cls(
            state_dir=credentials.get("state_dir"),
            widget_dir=credentials.get("widget_dir"),
        )

    def __init__(
        self,
        secret: Optional[bytes] = None,
        state_dir: Optional[Union[str, Path]] = None,
        widget_dir: Optional[Union[str, Path]] = None,
        reply_cache: Optional[ReplyCache] = None,
        session_limiter: Optional[RateLimiter] = None,
    ) -> None:
        """Creates the channel.

        Args:
            secret: HMAC key for session tokens; by default from ``load_session_secret``.
            state_dir: where a generated secret is kept (default ``<repo>/.state``).
            widget_dir: folder of the widget files (default ``<repo>/widget``).
            reply_cache: store of replies for idempotent retries.
            session_limiter: how many new sessions one client address may open.
        """
        state_path = Path(state_dir) if state_dir else None
        max_age = float(os.environ.get("WEB_SESSION_MAX_AGE_HOURS", SESSION_MAX_AGE_SECONDS / 3600)) * 3600
        self.signer = SessionSigner(secret or load_session_secret(state_path), max_age=max_age)
        self.session_limiter = session_limiter or RateLimiter()
        self.widget_dir = Path(widget_dir or DEFAULT_WIDGET_DIR).resolve()
        self.reply_cache = reply_cache or ReplyCache()
        self._in_flight: Dict[Tuple[str, str], asyncio.Future] = {}
        self._static_cache: Dict[Path, Tuple[Tuple[int, int], bytes, str, Optional[str]]] = {}

    # ------------------------------------------------------------ request parsing

    @staticmethod
    def _parse_body(request: Request) -> Dict[str, Any]:
        body = request.body or b""
        if len(body) > MAX_BODY_BYTES:
            raise _BadRequest(
                "payload_too_large",
                f"The request body is larger than {MAX_BODY_BYTES} bytes.",
                status=413,
            )
        if not body.strip():
            raise _BadRequest("malformed_json", "The request body is empty.")
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise _BadRequest("malformed_json", "The request body is not valid JSON.") from None
        if not isinstance(payload, dict):
            raise _BadRequest("malformed_json", "The request body must be a JSON object.")
        return payload

    async def _extract_sender(self, req: Request) -> Optional[str]:
        """The session id of the signed token in the body, or ``None`` if invalid."""
        return self.signer.verify(req.ctx.web_payload.get("session"))

    # noinspection PyMethodMayBeStatic
    def _extract_message(self, req: Request) -> str:
        message = req.ctx.web_payload.get("message")
        if message is None:
            raise _BadRequest("missing_message", "The field 'message' is required.")
        if not isinstance(message, str):
            raise _BadRequest("invalid_message", "The field 'message' must be a string.")
        if not message.strip():
            raise _BadRequest("empty_message", "The message is empty.")
        if len(message) > MAX_MESSAGE_CHARS:
            raise _BadRequest(
                "message_too_long",
                f"The message is longer than {MAX_MESSAGE_CHARS} characters.",
            )
        return message

    @staticmethod
    def _extract_client_msg_id(req: Request) -> Optional[str]:
        value = req.ctx.web_payload.get("client_msg_id")
        if value is None:
            return None
        if not isinstance(value, str) or not _CLIENT_MSG_ID_RE.match(value):
            raise _BadRequest(
                "invalid_client_msg_id",
                "'client_msg_id' must be 8-64 characters of A-Z, a-z, 0-9, '_' or '-'.",
            )
        return value

    def get_metadata(self, request: Request) -> Optional[Dict[str, Any]]:
        """Only allow-listed metadata reaches the assistant.

        ``language`` must be one of the ten answer languages (anything else is
        dropped); ``language_hint`` is the browser's language mapped onto them.
        """
        raw = request.ctx.web_payload.get("metadata")
        if not isinstance(raw, dict):
            return {}
        metadata: Dict[str, Any] = {}
        language = raw.get("language")
        if isinstance(language, str) and language in ANSWER_LANGUAGES:
            metadata["language"] = language
        elif language is not None:
            logger.debug(f"Ignored a language outside the allow-list: {language!r:.40}")
        hint = normalize_language_hint(raw.get("language_hint"))
        if hint:
            metadata["language_hint"] = hint
        return metadata

    def _session_from_query(self, request: Request) -> Optional[str]:
        return self.signer.verify(request.args.get("session"))

    # -------------------------------------------------------------- tracker access

    @staticmethod
    async def _full_tracker(request: Request, session_id: str) -> Any:
        agent = getattr(request.app.ctx, "agent", None)
        tracker_store = getattr(agent, "tracker_store", None)
        if tracker_store is None:
            return None
        return await tracker_store.retrieve_full_tracker(session_id)

    async def _replay_from_tracker(
        self, request: Request, session_id: str, client_msg_id: str
    ) -> Optional[List[Dict[str, Any]]]:
        """The reply already given to ``client_msg_id``, e.g. before a restart."""
        from rasa.shared.core.events import BotUttered, UserUttered

        try:
            tracker = await self._full_tracker(request, session_id)
        except Exception:
            logger.exception("Could not read the tracker to de-duplicate a retry.")
            return None
        if tracker is None:
            return None
        replay: Optional[List[Dict[str, Any]]] = None
        for event in tracker.events:
            if isinstance(event, UserUttered):
                if replay is not None:
                    break
                if event.message_id == client_msg_id:
                    replay = []
            elif replay is not None and isinstance(event, BotUttered):
                replay.append(_bot_event_to_message(event, session_id))
        return replay

    async def _history(self, request: Request, session_id: str) -> List[Dict]:
        from rasa.shared.core.events import BotUttered, UserUttered

        tracker = await self._full_tracker(request, session_id)
        if tracker is None:
            return []
        messages: List[Dict[str, Any]] = []
        button_titles: Dict[str, str] = {}
        for event in tracker.events:
            if isinstance(event, UserUttered):
                text = event.text
                if not text:
                    continue
                entry: Dict[str, Any] = {
                    "sender": "user",
                    "text": button_titles.get(text, text),
                    "timestamp": event.timestamp,
                }
                if event.message_id and _CLIENT_MSG_ID_RE.match(event.message_id):
                    entry["client_msg_id"] = event.message_id
                messages.append(entry)
            elif isinstance(event, BotUttered):
                message = _bot_event_to_message(event, session_id)
                message.pop("recipient_id", None)
                if not message:
                    continue
                message["sender"] = "bot"
                message["timestamp"] = event.timestamp
                # A quick reply is stored as its payload ("/faq_x"): show its title.
                for button in message.get("buttons") or []:
                    if (
                        isinstance(button, dict)
                        and isinstance(button.get("payload"), str)
                        and isinstance(button.get("title"), str)
                    ):
                        button_titles[button["payload"]] = button["title"]
                messages.append(message)
        return messages[-HISTORY_LIMIT:]

    # -------------------------------------------------------------------- handling

    async def _process(
        self,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        text: str,
        session_id: str,
        metadata: Dict[str, Any],
        client_msg_id: Optional[str],
    ) -> Optional[List[Dict[str, Any]]]:
        """Runs the message through the assistant; ``None`` if that failed."""
        collector = CollectingOutputChannel()
        try:
            await on_new_message(
                UserMessage(
                    text,
                    collector,
                    session_id,
                    input_channel=self.name(),
                    message_id=client_msg_id,
                    metadata=metadata,
                )
            )
        except asyncio.CancelledError:
            logger.error("web.message.received.timeout")
            return None
        except Exception:
            logger.exception("web.message.received.failure")
            return None
        return collector.messages

    async def _receive(
        self,
        request: Request,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
    ) -> HTTPResponse:
        try:
            request.ctx.web_payload = self._parse_body(request)
        except _BadRequest as e:
            return _error(e.code, e.detail, e.status)

        session_id = await self._extract_sender(request)
        if session_id is None:
            return _error(
                "invalid_session",
                "The session token is missing or invalid: request a new one from POST /webhooks/web/session.",
                401,
            )
        try:
            text = self._extract_message(request)
            client_msg_id = self._extract_client_msg_id(request)
        except _BadRequest as e:
            return _error(e.code, e.detail, e.status)
        metadata = self.get_metadata(request)

        if client_msg_id is None:
            messages = await self._process(on_new_message, text, session_id, metadata, None)
            return self._reply(messages)

        key = (session_id, client_msg_id)
        cached = self.reply_cache.get(key)
        if cached is not None:
            return self._reply(cached, replay=True)
        pending = self._in_flight.get(key)
        if pending is not None:
            messages = await asyncio.shield(pending)
            return self._reply(copy.deepcopy(messages), replay=True)

        future: asyncio.Future = asyncio.get_running_loop().create_future()
        self._in_flight[key] = future
        messages = None
        try:
            replayed = await self._replay_from_tracker(request, session_id, client_msg_id)
            if replayed is not None:
                messages = replayed
                self.reply_cache.put(key, messages)
                return self._reply(messages, replay=True)
            messages = await self._process(on_new_message, text, session_id, metadata, client_msg_id)
            if messages is not None:
                self.reply_cache.put(key, messages)
            return self._reply(messages)
        finally:
            self._in_flight.pop(key, None)
            if not future.done():
                future.set_result(copy.deepcopy(messages))

    @staticmethod
    def _reply(messages: Optional[List[Dict[str, Any]]], replay: bool = False) -> HTTPResponse:
        if messages is None:
            return _error(
                "assistant_unavailable",
                "The assistant could not answer right now; retry with the same client_msg_id.",
                503,
            )
        headers = {"Cache-Control": "no-store"}
        if replay:
            headers["X-Idempotent-Replay"] = "true"
        return response.json(messages, headers=headers)

    # ---------------------------------------------------------------- static files

    def _static(self, request: Request, name: str) -> HTTPResponse:
        not_found = _error("not_found", "No such widget file.", 404)
        if not _STATIC_NAME_RE.match(name or ""):
            return not_found
        mime = STATIC_MIME_TYPES.get(os.path.splitext(name)[1].lower())
        if mime is None:
            return not_found
        path = (self.widget_dir / name).resolve()
        if self.widget_dir not in path.parents or not path.is_file():
            return not_found

        stat = path.stat()
        version = (stat.st_mtime_ns, stat.st_size)
        cached = self._static_cache.get(path)
        if cached is None or cached[0] != version:
            body = path.read_bytes()
            etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
            csp = _page_csp(body) if mime.startswith("text/html") else None
            cached = (version, body, etag, csp)
            self._static_cache[path] = cached
        _, body, etag, csp = cached

        headers = {
            "Cache-Control": STATIC_CACHE_CONTROL,
            "ETag": etag,
            "X-Content-Type-Options": "nosniff",
        }
        if csp:
            headers["Content-Security-Policy"] = csp
            headers["Referrer-Policy"] = "no-referrer"
        if request.headers.get("if-none-match") == etag:
            return response.empty(status=304, headers=headers)
        return response.raw(body, content_type=mime, headers=headers)

    # ------------------------------------------------------------------ blueprint

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """Routes: demo page/health, static files, session, webhook and history."""
        module_type = inspect.getmodule(self)
        module_name = module_type.__name__ if module_type is not None else None
        web_webhook = Blueprint(f"custom_webhook_{type(self).__name__}", module_name)

        @web_webhook.route("/", methods=["GET"])
        async def index(request: Request) -> HTTPResponse:
            # Browsers get the demo page; monitoring (Accept: */* or JSON) gets the
            # health answer rest.py gives on the same route.
            accept = request.headers.get("accept", "")
            if "text/html" in accept:
                return self._static(request, "demo.html")
            return response.json({"status": "ok"})

        @web_webhook.route("/health", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @web_webhook.route("/static/<name:path>", methods=["GET"])
        async def static(request: Request, name: str) -> HTTPResponse:
            return self._static(request, name)

        @web_webhook.route("/session", methods=["POST"])
        async def new_session(request: Request) -> HTTPResponse:
            allowed, wait = self.session_limiter.allow(request.remote_addr or request.ip or "?")
            if not allowed:
                resp = _error("too_many_sessions", "Too many new sessions from this address; "
                              "please try again in a moment.", 429)
                resp.headers["Retry-After"] = str(max(1, int(wait + 0.999)))
                return resp
            _, token = self.signer.issue()
            return response.json({"session": token}, headers={"Cache-Control": "no-store"})

        @web_webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            return await self._receive(request, on_new_message)

        @web_webhook.route("/history", methods=["GET"])
        async def history(request: Request) -> HTTPResponse:
            session_id = self._session_from_query(request)
            if session_id is None:
                return _error("invalid_session", "The session token is missing or invalid.", 401)
            try:
                messages = await self._history(request, session_id)
            except Exception:
                logger.exception("web.history.failure")
                return _error("history_unavailable", "The history could not be read.", 503)
            return response.json({"messages": messages}, headers={"Cache-Control": "no-store"})

        return freeze_heap_after_start(web_webhook)
