"""LINE Messaging API channel: ``LineInput`` (webhook) and ``LineOutput`` (reply/push).

Configure it in ``credentials.yml`` with the bare key ``bot.channels.line.LineInput:``; the secrets
come from the environment (``LINE_CHANNEL_SECRET``, ``LINE_CHANNEL_ACCESS_TOKEN``, optional
``LINE_API_BASE_URL``). The same keys (or ``channel_secret``, ``channel_access_token``,
``api_base_url``) in the credentials dict win over the environment. Without a secret and a token
the channel is off: the assistant starts, and the webhook answers 503.

What the webhook does, following LINE's documented rules:

- verifies ``X-Line-Signature`` (base64 HMAC-SHA256 of the raw body) before anything else (400);
- acknowledges with 200 at once and handles the events in a background task it keeps track of;
- handles each ``webhookEventId`` once (redeliveries included) and never answers ``standby`` events;
- text → the assistant, with the user's LINE profile language as ``language_hint`` metadata;
  follow → a welcome with a language picker; postback ``lang=xx`` → ``/greet`` with metadata
  ``language``; any other postback data (a button payload such as ``/faq_nhi_enrollment``) → the
  assistant as text; stickers, images, video, audio, files, locations → "I can only read text";
- collects one turn's messages and sends them with the reply API (at most 5, reply token used once
  and only while fresh), pushing the rest (``X-Line-Retry-Key``, retries on 429/5xx/timeouts);
- shows LINE's loading animation when the assistant takes longer than ``loading_delay`` seconds.

Only the standard library and aiohttp are used: line-bot-sdk is not co-installable with Rasa 3.6.
"""

from __future__ import annotations

import asyncio
import base64
import email.utils
import hashlib
import hmac
import json
import logging
import os
import re
import time
import unicodedata
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import quote

import aiohttp
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.heap import freeze_heap_after_start

logger = logging.getLogger(__name__)

# asyncio.TimeoutError is not the builtin TimeoutError before Python 3.11.
NETWORK_ERRORS = (aiohttp.ClientError, asyncio.TimeoutError)

DEFAULT_API_BASE_URL = "https://api.line.me"

# LINE's documented limits (Messaging API reference).
MAX_MESSAGES_PER_REQUEST = 5
MAX_TEXT_LENGTH = 5000  # UTF-16 code units per text message
MAX_QUICK_REPLY_ITEMS = 13
MAX_LABEL_LENGTH = 20  # quick-reply / action labels
MAX_POSTBACK_DATA_LENGTH = 300
MAX_DISPLAY_TEXT_LENGTH = 300
MAX_ALT_TEXT_LENGTH = 400  # LINE allows 1,500; notification previews show far less
MIN_LOADING_SECONDS, MAX_LOADING_SECONDS = 5, 60
PROFILE_TIMEOUT = 3.0  # seconds; a profile lookup delays the assistant's answer

NON_TEXT_MESSAGE_TYPES = frozenset({"sticker", "image", "video", "audio", "file", "location"})
LANGUAGE_POSTBACK_PREFIX = "lang="
GREET_MESSAGE = "/greet"
EMPTY_TEXT_WITH_BUTTONS = "…"  # LINE needs a text to carry quick replies

# The assistant's answer languages (docs/architecture.md); "ja-easy" is Easy Japanese.
SUPPORTED_LANGUAGES = ("ja", "ja-easy", "en", "zh", "ko", "vi", "ne", "tl", "pt", "es")
FALLBACK_LANGUAGE = "en"

LANGUAGE_LABELS = {
    "ja": "日本語",
    "ja-easy": "やさしい日本語",
    "en": "English",
    "zh": "中文",
    "ko": "한국어",
    "vi": "Tiếng Việt",
    "ne": "नेपाली",
    "tl": "Tagalog",
    "pt": "Português",
    "es": "Español",
}

CANNOT_READ_TEXT = {
    "ja": "申し訳ありません。文字のメッセージしか読めません。質問を文字で送ってください。",
    "ja-easy": "ごめんなさい。文字（もじ）だけ 読（よ）めます。質問（しつもん）を 文字で 書（か）いて ください。",
    "en": "Sorry, I can only read text. Please type your question.",
    "zh": "抱歉，我只能读取文字。请用文字输入您的问题。",
    "ko": "죄송합니다. 글자로 된 메시지만 읽을 수 있습니다. 질문을 글로 입력해 주세요.",
    "vi": "Xin lỗi, tôi chỉ đọc được tin nhắn chữ. Vui lòng nhập câu hỏi bằng chữ.",
    "ne": "माफ गर्नुहोस्, म केवल लेखिएको सन्देश मात्र पढ्न सक्छु। कृपया आफ्नो प्रश्न लेखेर पठाउनुहोस्।",
    "tl": "Paumanhin, teksto lang ang kaya kong basahin. Pakisulat ang iyong tanong.",
    "pt": "Desculpe, só consigo ler texto. Por favor, escreva a sua pergunta.",
    "es": "Lo siento, solo puedo leer texto. Por favor, escribe tu pregunta.",
}

WELCOME_TEXT = {
    "ja": "港区のよくある質問アシスタントです。言語を選んでください。",
    "ja-easy": "港区（みなとく）の 質問（しつもん）アシスタントです。ことばを えらんで ください。",
    "en": "Welcome to the Minato City FAQ assistant. Please choose your language.",
    "zh": "欢迎使用港区常见问题助手。请选择您的语言。",
    "ko": "미나토구 FAQ 도우미입니다. 언어를 선택해 주세요.",
    "vi": "Chào mừng bạn đến với trợ lý hỏi đáp của quận Minato. Vui lòng chọn ngôn ngữ.",
    "ne": "मिनातो सिटीको FAQ सहायकमा स्वागत छ। कृपया आफ्नो भाषा छान्नुहोस्।",
    "tl": "Maligayang pagdating sa FAQ assistant ng Minato City. Piliin ang iyong wika.",
    "pt": "Bem-vindo ao assistente de perguntas frequentes da cidade de Minato. Escolha o seu idioma.",
    "es": "Bienvenido al asistente de preguntas frecuentes de la ciudad de Minato. Elige tu idioma.",
}

SORRY_TEXT = {
    "ja": "申し訳ありません。エラーが発生しました。しばらくしてからもう一度お試しください。",
    "ja-easy": "ごめんなさい。うまく いきませんでした。あとで もう一度（いちど） ためして ください。",
    "en": "Sorry, something went wrong. Please try again later.",
    "zh": "抱歉，出现了错误。请稍后再试。",
    "ko": "죄송합니다. 오류가 발생했습니다. 잠시 후 다시 시도해 주세요.",
    "vi": "Xin lỗi, đã xảy ra lỗi. Vui lòng thử lại sau.",
    "ne": "माफ गर्नुहोस्, केही गडबड भयो। कृपया पछि फेरि प्रयास गर्नुहोस्।",
    "tl": "Paumanhin, may nangyaring mali. Pakisubukang muli mamaya.",
    "pt": "Desculpe, ocorreu um erro. Tente novamente mais tarde.",
    "es": "Lo siento, ocurrió un error. Inténtalo de nuevo más tarde.",
}

# LINE profile languages that are not our codes' primary subtag.
_LANGUAGE_ALIASES = {"fil": "tl"}

_DISABLED_MESSAGE = (
    "The LINE channel is not configured: set LINE_CHANNEL_SECRET and "
    "LINE_CHANNEL_ACCESS_TOKEN and restart the assistant."
)


# --------------------------------------------------------------------------------------------
# Text helpers: LINE counts text length in UTF-16 code units.


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units (characters outside the BMP count twice)."""
    return sum(2 if ord(char) > 0xFFFF else 1 for char in text)


def _prefix_within(text: str, limit: int) -> int:
    """Largest index ``i`` such that ``text[:i]`` fits into ``limit`` UTF-16 code units."""
    units = 0
    for index, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit:
            return index
    return len(text)


def _joins_previous(text: str, index: int) -> bool:
    """Whether ``text[index]`` belongs to the grapheme that starts before it."""
    char = text[index]
    if unicodedata.category(char).startswith("M"):  # combining marks, Devanagari vowel signs
        return True
    if char in "\u200d\ufe0e\ufe0f" or 0x1F3FB <= ord(char) <= 0x1F3FF:  # ZWJ, selectors, skin tones
        return True
    return text[index - 1] == "\u200d"


def _safe_cut(text: str, index: int) -> int:
    """Moves a cut position back so that it does not split a user-perceived character."""
    cut = index
    while 0 < cut < len(text) and _joins_previous(text, cut):
        cut -= 1
    return cut if cut > 0 else max(index, 1)


# A sentence ends with . ! ? (then a space), or with CJK / Devanagari full stops.
_SENTENCE_END = re.compile(r"(?:[.!?][\"'”’)\]]*\s)|(?:[。！？｡।॥][」』）)\"'”’]*)")


def _boundary(window: str) -> int | None:
    """Best cut position in ``window``: paragraph, line, sentence, then word boundary."""
    minimum = len(window) // 3  # never cut off a tiny first piece
    for separator in ("\n\n", "\n"):
        position = window.rfind(separator)
        if position > minimum:
            return position + len(separator)
    ends = [match.end() for match in _SENTENCE_END.finditer(window)]
    if ends and ends[-1] > minimum:
        return ends[-1]
    spaces = [match.end() for match in re.finditer(r"\s", window)]
    if spaces and spaces[-1] > minimum:
        return spaces[-1]
    return None


def split_text(text: str, limit: int = MAX_TEXT_LENGTH) -> list[str]:
    """Splits text into pieces of at most ``limit`` UTF-16 code units.

    Cuts at paragraph, line, sentence or word boundaries where possible and never inside a
    surrogate pair or a combined character. Empty pieces are dropped.
    """
    rest = (text or "").strip()
    pieces: list[str] = []
    while rest:
        if utf16_len(rest) <= limit:
            pieces.append(rest)
            break
        hard = _prefix_within(rest, limit)
        cut = _boundary(rest[:hard]) or _safe_cut(rest, hard)
        piece, rest = rest[:cut].rstrip(), rest[cut:].lstrip()
        if piece:
            pieces.append(piece)
    return pieces


def truncate(text: str, limit: int) -> str:
    """Shortens text to ``limit`` UTF-16 code units, ending with "…" when it was cut."""
    text = (text or "").strip()
    if utf16_len(text) <= limit:
        return text
    cut = _safe_cut(text, _prefix_within(text, limit - 1))
    return text[:cut].rstrip() + "…"


def map_line_language(code: Any) -> str | None:
    """Maps a LINE profile language (BCP 47: ``zh-Hant``, ``pt-BR``, ``fil``) to ours, or None."""
    if not isinstance(code, str) or not code.strip():
        return None
    tag = code.strip().lower().replace("_", "-")
    if tag in SUPPORTED_LANGUAGES:
        return tag
    primary = tag.split("-", 1)[0]
    primary = _LANGUAGE_ALIASES.get(primary, primary)
    return primary if primary in SUPPORTED_LANGUAGES else None


# --------------------------------------------------------------------------------------------
# Signature verification.


def compute_signature(channel_secret: str, body: bytes) -> str:
    """Base64 HMAC-SHA256 of the raw request body, keyed with the channel secret."""
    digest = hmac.new(channel_secret.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def is_valid_signature(channel_secret: str, body: bytes, signature: str | None) -> bool:
    """Checks ``X-Line-Signature`` in constant time; any error means invalid."""
    try:
        if not channel_secret or not signature:
            return False
        expected = compute_signature(channel_secret, body)
        return hmac.compare_digest(expected.encode("ascii"), signature.encode("ascii"))
    except Exception as error:  # noqa: BLE001 - any failure (e.g. non-ASCII) means invalid
        logger.warning("Could not verify the X-Line-Signature header: %s", error)
        return False


# --------------------------------------------------------------------------------------------
# A small bounded cache with expiry (webhook event ids, profile languages, chosen languages).

_MISSING = object()


class TTLCache:
    """An insertion-ordered dict whose entries expire after ``ttl`` seconds; at most ``maxsize``."""

    def __init__(self, maxsize: int, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.maxsize = max(1, int(maxsize))
        self.ttl = float(ttl)
        self._clock = clock
        self._data: OrderedDict[Any, tuple[float, Any]] = OrderedDict()

    def _purge(self, now: float) -> None:
        while self._data:
            _key, (expires, _value) = next(iter(self._data.items()))
            if expires > now:
                break
            self._data.popitem(last=False)
        while len(self._data) > self.maxsize:
            self._data.popitem(last=False)

    def get(self, key: Any, default: Any = None) -> Any:
        now = self._clock()
        self._purge(now)
        entry = self._data.get(key)
        return default if entry is None else entry[1]

    def set(self, key: Any, value: Any) -> None:
        now = self._clock()
        self._data[key] = (now + self.ttl, value)
        self._data.move_to_end(key)
        self._purge(now)

    def add(self, key: Any) -> bool:
        """Stores ``key``; returns False if it was already there (and not expired)."""
        if self.get(key, _MISSING) is not _MISSING:
            return False
        self.set(key, True)
        return True

    def __len__(self) -> int:
        self._purge(self._clock())
        return len(self._data)


# --------------------------------------------------------------------------------------------
# Rendering the bot message contract (docs/architecture.md) as LINE message objects.


def text_messages(text: str | None, quick_reply: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """One or more LINE text messages; the quick reply goes on the last one."""
    messages = [{"type": "text", "text": piece} for piece in split_text(text or "")]
    if quick_reply:
        if not messages:
            messages = [{"type": "text", "text": EMPTY_TEXT_WITH_BUTTONS}]
        messages[-1]["quickReply"] = quick_reply
    return messages


def quick_reply_from_buttons(buttons: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Rasa buttons → LINE quick-reply items (postback: label, displayText = title, data = payload)."""
    items: list[dict[str, Any]] = []
    for button in buttons or []:
        if not isinstance(button, dict):
            continue
        title = str(button.get("title") or "").strip()
        payload = str(button.get("payload") or "").strip()
        url = button.get("url")
        if button.get("type") == "web_url" and isinstance(url, str) and url.startswith("https://"):
            action = {
                "type": "uri",
                "label": truncate(title or url, MAX_LABEL_LENGTH),
                "uri": url,
            }
        else:
            data = payload or title
            if not data or utf16_len(data) > MAX_POSTBACK_DATA_LENGTH:
                logger.warning("Skipping a button whose payload is empty or too long for LINE.")
                continue
            action = {
                "type": "postback",
                "label": truncate(title or data, MAX_LABEL_LENGTH),
                "data": data,
                "displayText": truncate(title or data, MAX_DISPLAY_TEXT_LENGTH),
            }
        items.append({"type": "action", "action": action})
    if len(items) > MAX_QUICK_REPLY_ITEMS:
        logger.warning(
            "LINE shows at most %d quick replies; dropping %d.",
            MAX_QUICK_REPLY_ITEMS,
            len(items) - MAX_QUICK_REPLY_ITEMS,
        )
        items = items[:MAX_QUICK_REPLY_ITEMS]
    return {"items": items} if items else None


def _tel_uri(phone: dict[str, Any]) -> str | None:
    tel = phone.get("tel")
    if isinstance(tel, str) and tel.startswith("tel:") and len(tel) > 4:
        return tel
    digits = re.sub(r"[^\d+]", "", str(phone.get("number") or ""))
    return f"tel:{digits}" if digits else None


def _flex_text(text: Any, **style: Any) -> dict[str, Any] | None:
    text = str(text or "").strip()
    if not text:  # LINE rejects empty text components
        return None
    return {"type": "text", "text": text, "wrap": True, **style}


def _flex_row(icon: str, text: Any, **style: Any) -> dict[str, Any] | None:
    value = _flex_text(text, size="sm", flex=1, **style)
    if value is None:
        return None
    return {
        "type": "box",
        "layout": "horizontal",
        "spacing": "sm",
        "contents": [{"type": "text", "text": icon, "size": "sm", "flex": 0}, value],
    }


_STATUS_COLORS = {True: "#1B873F", False: "#C62828", None: "#666666"}


def contact_card_flex(card: dict[str, Any]) -> dict[str, Any]:
    """A ``contact_card`` custom payload → a LINE Flex message (one bubble)."""
    title = str(card.get("title") or card.get("name_ja") or "").strip() or "—"
    header: list[Any] = [_flex_text(title, weight="bold", size="lg")]
    name_ja = str(card.get("name_ja") or "").strip()
    if name_ja and name_ja != title:
        header.append(_flex_text(name_ja, size="sm", color="#666666"))
    open_now = card.get("open_now") if card.get("open_now") in (True, False) else None
    if card.get("status"):
        header.append(
            _flex_text(
                f"● {card['status']}",
                size="sm",
                weight="bold",
                color=_STATUS_COLORS[open_now],
            )
        )

    details: list[Any] = []
    for phone in card.get("phones") or []:
        if not isinstance(phone, dict) or not (phone.get("number") or phone.get("tel")):
            continue
        number = str(phone.get("number") or str(phone.get("tel") or "")[4:])
        label = str(phone.get("label") or "").strip()
        cells = [
            {"type": "text", "text": "📞", "size": "sm", "flex": 0},
            _flex_text(label, size="sm", color="#666666", flex=2),
            _flex_text(number, size="sm", color="#1E6FD9", decoration="underline", flex=4),
        ]
        row: dict[str, Any] = {
            "type": "box",
            "layout": "horizontal",
            "spacing": "sm",
            "contents": [cell for cell in cells if cell],
        }
        uri = _tel_uri(phone)
        if uri:
            row["action"] = {
                "type": "uri",
                "label": truncate(label or number, MAX_LABEL_LENGTH),
                "uri": uri,
            }
        details.append(row)
    details.append(_flex_row("🕘", card.get("hours")))
    details.append(_flex_text(card.get("hours_note"), size="xs", color="#666666"))
    details.append(_flex_row("📍", card.get("place")))

    body = [part for part in header if part]
    details = [part for part in details if part]
    if details:
        body.append({"type": "separator", "margin": "md"})
        body.append(
            {
                "type": "box",
                "layout": "vertical",
                "spacing": "sm",
                "margin": "md",
                "contents": details,
            }
        )
    alt_text = truncate(str(card.get("text") or title), MAX_ALT_TEXT_LENGTH)
    return {
        "type": "flex",
        "altText": alt_text,
        "contents": {
            "type": "bubble",
            "body": {
                "type": "box",
                "layout": "vertical",
                "spacing": "sm",
                "contents": body,
            },
        },
    }


def _move_quick_reply_last(messages: list[dict[str, Any]]) -> None:
    """LINE shows quick replies only on the last message: keep the turn's last one there."""
    quick_reply = None
    for message in messages:
        if "quickReply" in message:
            quick_reply = message.pop("quickReply")
    if quick_reply and messages:
        messages[-1]["quickReply"] = quick_reply


# --------------------------------------------------------------------------------------------
# LINE API client.


@dataclass
class ApiResult:
    status: int
    body: str
    headers: dict[str, str]

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def parse_retry_after(value: str | None) -> float | None:
    """``Retry-After`` as seconds (delta-seconds or an HTTP date); None when absent or invalid."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - time.time())


class LineApiClient:
    """Calls LINE's Messaging API with one lazily created aiohttp session (bearer auth, timeouts)."""

    def __init__(
        self,
        access_token: str,
        base_url: str = DEFAULT_API_BASE_URL,
        *,
        request_timeout: float = 10.0,
        push_max_attempts: int = 4,
        backoff_base: float = 0.5,
        backoff_max: float = 8.0,
        max_retry_after: float = 30.0,
    ) -> None:
        self.access_token = access_token
        self.base_url = base_url.rstrip("/")
        self.request_timeout = float(request_timeout)
        self.push_max_attempts = max(1, int(push_max_attempts))
        self.backoff_base = float(backoff_base)
        self.backoff_max = float(backoff_max)
        self.max_retry_after = float(max_retry_after)
        self._session: aiohttp.ClientSession | None = None

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.request_timeout, connect=min(5.0, self.request_timeout))
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def _request(
        self,
        method: str,
        path: str,
        payload: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        client_timeout: aiohttp.ClientTimeout | None = None,
    ) -> ApiResult:
        all_headers = {"Authorization": f"Bearer {self.access_token}"}
        data = None
        if payload is not None:
            all_headers["Content-Type"] = "application/json"
            data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        all_headers.update(headers or {})
        options: dict[str, Any] = {"data": data, "headers": all_headers}
        if client_timeout is not None:  # None would mean "no timeout" to aiohttp
            options["timeout"] = client_timeout
        async with self._get_session().request(method, self.base_url + path, **options) as resp:
            body = await resp.text(errors="replace")
            return ApiResult(resp.status, body, dict(resp.headers))

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        delay = min(self.backoff_max, self.backoff_base * (2 ** (attempt - 1)))
        if retry_after is not None:
            delay = max(delay, retry_after)
        return min(delay, self.max_retry_after)

    async def reply(self, reply_token: str, messages: list[dict[str, Any]]) -> bool:
        """One reply attempt (a reply token cannot be retried safely). True when accepted."""
        try:
            result = await self._request(
                "POST",
                "/v2/bot/message/reply",
                {"replyToken": reply_token, "messages": messages},
            )
        except NETWORK_ERRORS as error:
            logger.warning("LINE reply failed: %r", error)
            return False
        if result.ok:
            return True
        logger.warning("LINE reply rejected (%d): %s", result.status, result.body[:500])
        return False

    async def push(self, to: str, messages: list[dict[str, Any]]) -> bool:
        """Pushes messages with a retry key; retries 429, 5xx and network errors with backoff."""
        retry_key = str(uuid.uuid4())
        payload = {"to": to, "messages": messages}
        for attempt in range(1, self.push_max_attempts + 1):
            retry_after: float | None = None
            try:
                result = await self._request(
                    "POST",
                    "/v2/bot/message/push",
                    payload,
                    {"X-Line-Retry-Key": retry_key},
                )
            except NETWORK_ERRORS as error:
                reason = repr(error)
            else:
                if result.ok:
                    return True
                if result.status == 409:  # an earlier attempt with this key was accepted
                    logger.info("LINE push %s was already accepted.", retry_key)
                    return True
                if result.status != 429 and result.status < 500:
                    logger.error(
                        "LINE push rejected (%d), %d message(s) not delivered: %s",
                        result.status,
                        len(messages),
                        result.body[:500],
                    )
                    return False
                reason = f"HTTP {result.status}"
                retry_after = parse_retry_after(result.headers.get("Retry-After"))
            if attempt == self.push_max_attempts:
                break
            delay = self._delay(attempt, retry_after)
            logger.warning(
                "LINE push attempt %d/%d failed (%s); retrying in %.2fs.",
                attempt,
                self.push_max_attempts,
                reason,
                delay,
            )
            await asyncio.sleep(delay)
        logger.error(
            "LINE push failed after %d attempt(s) (%s); %d message(s) not delivered.",
            self.push_max_attempts,
            reason,
            len(messages),
        )
        return False

    async def show_loading(self, chat_id: str, seconds: int) -> None:
        """Best effort: shows the loading animation in a one-to-one chat."""
        try:
            result = await self._request(
                "POST",
                "/v2/bot/chat/loading/start",
                {"chatId": chat_id, "loadingSeconds": seconds},
            )
            if not result.ok:
                logger.info(
                    "LINE loading animation refused (%d): %s",
                    result.status,
                    result.body[:200],
                )
        except NETWORK_ERRORS as error:
            logger.info("LINE loading animation failed: %r", error)

    async def get_profile(self, user_id: str) -> dict[str, Any] | None:
        """The user's profile (``displayName``, ``language``, ...), or None."""
        try:
            result = await self._request(
                "GET",
                f"/v2/bot/profile/{quote(user_id, safe='')}",
                # The answer waits for this lookup: never long.
                client_timeout=aiohttp.ClientTimeout(total=min(PROFILE_TIMEOUT, self.request_timeout)),
            )
        except NETWORK_ERRORS as error:
            logger.info("LINE profile lookup failed: %r", error)
            return None
        if not result.ok:
            logger.info("LINE profile lookup refused (%d).", result.status)
            return None
        try:
            profile = json.loads(result.body)
        except ValueError:
            return None
        return profile if isinstance(profile, dict) else None


# --------------------------------------------------------------------------------------------
# Output channel.


class LineOutput(OutputChannel):
    """Renders the bot message contract as LINE messages.

    In a turn (``collect=True``) messages are collected and sent by :meth:`flush`: the reply API
    for the first five while the reply token is fresh, push for the rest or when replying fails.
    Without a turn (``collect=False``, e.g. a trigger_intent call) every message is pushed at once.
    """

    @classmethod
    def name(cls) -> str:
        return "line"

    def __init__(
        self,
        api: LineApiClient,
        to: str | None = None,
        reply_token: str | None = None,
        reply_deadline: float | None = None,
        collect: bool = True,
    ) -> None:
        super().__init__()
        self.api = api
        self.to = to
        self.reply_token = reply_token
        self.reply_deadline = reply_deadline if reply_deadline is not None else 0.0
        self.collect = collect
        self._pending: list[dict[str, Any]] = []
        self._reply_token_used = False

    @property
    def pending(self) -> list[dict[str, Any]]:
        """LINE message objects collected and not yet sent."""
        return list(self._pending)

    async def add_messages(self, recipient_id: str | None, messages: list[dict[str, Any]]) -> None:
        if not messages:
            return
        if self.collect:
            self._pending.extend(messages)
        else:
            await self._deliver(recipient_id or self.to, list(messages))

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self.add_messages(recipient_id, text_messages(text))

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        await self.add_messages(recipient_id, text_messages(text, quick_reply_from_buttons(buttons)))

    async def send_quick_replies(
        self,
        recipient_id: str,
        text: str,
        quick_replies: list[dict[str, Any]],
        **kwargs: Any,
    ) -> None:
        await self.send_text_with_buttons(recipient_id, text, quick_replies)

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        if isinstance(image, str) and image.startswith("https://") and len(image) <= 2000:
            message = {
                "type": "image",
                "originalContentUrl": image,
                "previewImageUrl": image,
            }
            await self.add_messages(recipient_id, [message])
        else:
            await self.send_text_message(recipient_id, str(image))

    async def send_attachment(self, recipient_id: str, attachment: Any, **kwargs: Any) -> None:
        await self.send_text_message(recipient_id, str(attachment))

    async def send_custom_json(self, recipient_id: str, json_message: Any, **kwargs: Any) -> None:
        if isinstance(json_message, dict) and json_message.get("type") == "contact_card":
            await self.add_messages(recipient_id, [contact_card_flex(json_message)])
        elif isinstance(json_message, dict) and isinstance(json_message.get("text"), str):
            await self.send_text_message(recipient_id, json_message["text"])
        else:  # never show raw JSON to a resident
            kind = json_message.get("type") if isinstance(json_message, dict) else type(json_message)
            logger.warning("LINE channel skips an unsupported custom payload (%s).", kind)

    async def flush(self) -> None:
        """Sends the messages collected in this turn."""
        messages, self._pending = self._pending, []
        if messages:
            await self._deliver(self.to, messages)

    async def _deliver(self, to: str | None, messages: list[dict[str, Any]]) -> None:
        _move_quick_reply_last(messages)
        remaining = messages
        if self.reply_token and not self._reply_token_used:
            self._reply_token_used = True  # one use only, whatever happens
            if time.monotonic() < self.reply_deadline:
                batch = remaining[:MAX_MESSAGES_PER_REQUEST]
                if await self.api.reply(self.reply_token, batch):
                    remaining = remaining[MAX_MESSAGES_PER_REQUEST:]
                else:
                    logger.info(
                        "Pushing %d message(s) because the reply failed.",
                        len(remaining),
                    )
            else:
                logger.info("Reply token expired; pushing %d message(s).", len(remaining))
        if not remaining:
            return
        if not to:
            logger.error("No LINE recipient to push to; %d message(s) dropped.", len(remaining))
            return
        for start in range(0, len(remaining), MAX_MESSAGES_PER_REQUEST):
            await self.api.push(to, remaining[start : start + MAX_MESSAGES_PER_REQUEST])


# --------------------------------------------------------------------------------------------
# Input channel.


@dataclass
class _EventContext:
    event_id: str | None
    source_type: str
    user_id: str | None
    sender_id: str
    reply_token: str | None
    reply_deadline: float


def _as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _sender_of(source: dict[str, Any]) -> tuple[str, str | None, str | None]:
    """(source type, userId, conversation id: userId, or the groupId / roomId of a group chat)."""

    def text(key: str) -> str | None:
        value = source.get(key)
        return value if isinstance(value, str) and value else None

    source_type = str(source.get("type") or "")
    conversation_key = {"group": "groupId", "room": "roomId"}.get(source_type, "userId")
    return source_type, text("userId"), text(conversation_key)


class LineInput(InputChannel):
    """LINE Messaging API webhook: ``/webhooks/line/webhook`` (health at ``/webhooks/line/``)."""

    # Optional tuning keys in credentials.yml, with their types.
    OPTIONS: ClassVar[dict[str, type]] = {
        "reply_token_ttl": float,  # seconds a reply token is treated as valid (LINE: about 1 min)
        "loading_delay": float,  # show the loading animation when no answer after this many s
        "loading_seconds": int,  # how long LINE shows it (5–60, a multiple of 5)
        "request_timeout": float,  # total timeout of one LINE API call
        "push_max_attempts": int,  # push attempts on 429 / 5xx / network errors
        "backoff_base": float,  # first retry delay; doubles each attempt
        "backoff_max": float,  # longest computed retry delay
        "max_retry_after": float,  # longest wait honoured from a Retry-After header
        "event_cache_ttl": float,  # how long a webhookEventId is remembered
        "event_cache_size": int,  # how many webhookEventIds are remembered
        "profile_cache_ttl": float,  # how long a user's profile language is cached
        "shutdown_timeout": float,  # how long shutdown waits for events in progress
    }

    @classmethod
    def name(cls) -> str:
        return "line"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        """Reads secrets from the credentials dict, else from the environment.

        A missing secret or token does not stop the assistant: the channel is off (503).
        """
        credentials = credentials or {}

        def pick(env_name: str, key: str) -> str | None:
            for name in (key, env_name):
                value = credentials.get(name)
                if value not in (None, ""):
                    return str(value)
            return os.environ.get(env_name) or None

        options: dict[str, Any] = {}
        for key, kind in cls.OPTIONS.items():
            if credentials.get(key) is not None:
                options[key] = kind(credentials[key])
        return cls(
            pick("LINE_CHANNEL_SECRET", "channel_secret"),
            pick("LINE_CHANNEL_ACCESS_TOKEN", "channel_access_token"),
            pick("LINE_API_BASE_URL", "api_base_url") or DEFAULT_API_BASE_URL,
            **options,
        )

    def __init__(
        self,
        channel_secret: str | None,
        channel_access_token: str | None,
        api_base_url: str = DEFAULT_API_BASE_URL,
        *,
        reply_token_ttl: float = 50.0,
        loading_delay: float = 1.0,
        loading_seconds: int = 20,
        request_timeout: float = 10.0,
        push_max_attempts: int = 4,
        backoff_base: float = 0.5,
        backoff_max: float = 8.0,
        max_retry_after: float = 30.0,
        event_cache_ttl: float = 24 * 3600.0,
        event_cache_size: int = 10_000,
        profile_cache_ttl: float = 24 * 3600.0,
        shutdown_timeout: float = 10.0,
    ) -> None:
        self.channel_secret = channel_secret or None
        self.enabled = bool(channel_secret and channel_access_token)
        self.reply_token_ttl = float(reply_token_ttl)
        self.loading_delay = float(loading_delay)
        seconds = int(loading_seconds) // 5 * 5
        self.loading_seconds = min(MAX_LOADING_SECONDS, max(MIN_LOADING_SECONDS, seconds))
        self.shutdown_timeout = float(shutdown_timeout)
        self.api: LineApiClient | None = None
        if self.enabled:
            self.api = LineApiClient(
                str(channel_access_token),
                api_base_url or DEFAULT_API_BASE_URL,
                request_timeout=request_timeout,
                push_max_attempts=push_max_attempts,
                backoff_base=backoff_base,
                backoff_max=backoff_max,
                max_retry_after=max_retry_after,
            )
        else:
            missing = [
                name
                for name, value in (
                    ("LINE_CHANNEL_SECRET", channel_secret),
                    ("LINE_CHANNEL_ACCESS_TOKEN", channel_access_token),
                )
                if not value
            ]
            logger.warning("LINE channel is off: %s not set.", " and ".join(missing))
        self._seen_events = TTLCache(event_cache_size, event_cache_ttl)
        self._profile_languages = TTLCache(event_cache_size, profile_cache_ttl)
        self._chosen_languages = TTLCache(event_cache_size, profile_cache_ttl)
        self._tasks: set[asyncio.Task] = set()

    # -- Rasa hooks -----------------------------------------------------------------------------

    def get_output_channel(self) -> OutputChannel | None:
        """An output channel that pushes each message (no reply token outside a webhook turn)."""
        return LineOutput(self.api, collect=False) if self.api else None

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        line_webhook = Blueprint("line_webhook", __name__)

        @line_webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok" if self.enabled else "disabled"})

        @line_webhook.route("/webhook", methods=["POST"])
        async def webhook(request: Request) -> HTTPResponse:
            return await self.handle_webhook(request, on_new_message)

        @line_webhook.listener("before_server_stop")
        async def shutdown(_app: Any, _loop: Any) -> None:
            await self.close()

        return freeze_heap_after_start(line_webhook)

    # -- webhook --------------------------------------------------------------------------------

    async def handle_webhook(
        self, request: Request, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> HTTPResponse:
        if not self.enabled:
            return response.json(
                {
                    "status": "error",
                    "error": "line_channel_disabled",
                    "message": _DISABLED_MESSAGE,
                },
                status=503,
            )
        body = request.body or b""
        if not is_valid_signature(self.channel_secret, body, request.headers.get("X-Line-Signature")):
            logger.warning("LINE webhook rejected: missing or invalid X-Line-Signature.")
            return response.json({"status": "error", "error": "invalid_signature"}, status=400)
        try:
            payload = json.loads(body)
        except (ValueError, RecursionError):
            return response.json({"status": "error", "error": "malformed_json"}, status=400)
        if not isinstance(payload, dict) or not isinstance(payload.get("events"), list):
            return response.json({"status": "error", "error": "missing_events"}, status=400)

        received_at = time.monotonic()
        events = [event for event in payload["events"] if self._accept(event)]
        if events:  # an empty list is LINE's URL verification: nothing to do
            self._spawn(self._process_events(events, received_at, on_new_message))
        return response.json({"status": "ok"})

    def _accept(self, event: Any) -> bool:
        """Drops malformed, standby and already seen events (checked on arrival, in order)."""
        if not isinstance(event, dict):
            logger.warning("Ignoring a LINE webhook event that is not an object.")
            return False
        event_id = event.get("webhookEventId")
        if event.get("mode") == "standby":
            logger.debug("Ignoring LINE event %s in standby mode.", event_id)
            return False
        if isinstance(event_id, str) and event_id and not self._seen_events.add(event_id):
            redelivery = _as_dict(event.get("deliveryContext")).get("isRedelivery")
            logger.info(
                "Skipping LINE event %s: already handled (redelivery=%s).",
                event_id,
                redelivery,
            )
            return False
        return True

    def _spawn(self, coroutine: Awaitable[Any]) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            logger.warning("LINE event processing was cancelled before it finished.")
        elif task.exception() is not None:
            logger.error("LINE event processing failed.", exc_info=task.exception())

    async def drain(self, limit: float | None = None) -> bool:
        """Waits (at most ``limit`` seconds) for the events in progress; True when none are left."""
        deadline = None if limit is None else time.monotonic() + limit
        while self._tasks:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return False
            await asyncio.wait(set(self._tasks), timeout=remaining)
        return True

    async def close(self) -> None:
        """Lets events in progress finish (bounded), then closes the HTTP session."""
        if not await self.drain(self.shutdown_timeout):
            logger.error(
                "Cancelling %d LINE event task(s) still running at shutdown.",
                len(self._tasks),
            )
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.api:
            await self.api.close()

    # -- events ---------------------------------------------------------------------------------

    async def _process_events(
        self,
        events: list[dict[str, Any]],
        received_at: float,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
    ) -> None:
        for event in events:  # in order: one webhook may hold several messages of one user
            try:
                await self._handle_event(event, received_at, on_new_message)
            except Exception:
                logger.exception(
                    "LINE event %s (%s) could not be handled.",
                    event.get("webhookEventId"),
                    event.get("type"),
                )

    def _context(self, event: dict[str, Any], received_at: float) -> _EventContext | None:
        source = _as_dict(event.get("source"))
        source_type, user_id, sender_id = _sender_of(source)
        if not sender_id:
            return None
        deadline = received_at + self.reply_token_ttl
        delivery = _as_dict(event.get("deliveryContext"))
        timestamp = event.get("timestamp")
        if delivery.get("isRedelivery") and isinstance(timestamp, (int, float)):
            # A redelivered event's token is as old as the event, not as the request.
            deadline -= max(0.0, time.time() - timestamp / 1000.0)
        reply_token = event.get("replyToken") if isinstance(event.get("replyToken"), str) else None
        return _EventContext(
            event_id=event.get("webhookEventId"),
            source_type=source_type,
            user_id=user_id,
            sender_id=str(sender_id),
            reply_token=reply_token,
            reply_deadline=deadline,
        )

    async def _handle_event(
        self,
        event: dict[str, Any],
        received_at: float,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
    ) -> None:
        event_type = event.get("type")
        if event_type not in ("message", "follow", "postback"):
            logger.debug("Ignoring LINE event type %s.", event_type)
            return
        context = self._context(event, received_at)
        if context is None:
            logger.warning("Ignoring LINE event %s without a source.", event.get("webhookEventId"))
            return

        if event_type == "follow":
            await self._welcome(context)
        elif event_type == "postback":
            data = str(_as_dict(event.get("postback")).get("data") or "").strip()
            if data.startswith(LANGUAGE_POSTBACK_PREFIX):
                language = data[len(LANGUAGE_POSTBACK_PREFIX) :].strip()
                if language not in SUPPORTED_LANGUAGES:
                    logger.warning("Ignoring a language choice for unknown language %r.", language)
                    return
                self._chosen_languages.set(context.sender_id, language)
                await self._to_assistant(
                    context,
                    GREET_MESSAGE,
                    context.event_id,
                    {"language": language},
                    on_new_message,
                )
            elif data:
                await self._to_assistant(context, data, context.event_id, {}, on_new_message)
        else:
            message = _as_dict(event.get("message"))
            if message.get("type") == "text":
                text = message.get("text")
                if isinstance(text, str) and text.strip():
                    await self._to_assistant(context, text, message.get("id"), {}, on_new_message)
            elif message.get("type") in NON_TEXT_MESSAGE_TYPES:
                language = await self._user_language(context)
                text = CANNOT_READ_TEXT.get(language, CANNOT_READ_TEXT[FALLBACK_LANGUAGE])
                await self._send(context, text_messages(text))
            else:
                logger.debug("Ignoring LINE message type %r.", message.get("type"))

    def _output(self, context: _EventContext) -> LineOutput:
        assert self.api is not None
        return LineOutput(
            self.api,
            to=context.sender_id,
            reply_token=context.reply_token,
            reply_deadline=context.reply_deadline,
        )

    async def _send(self, context: _EventContext, messages: list[dict[str, Any]]) -> None:
        output = self._output(context)
        await output.add_messages(context.sender_id, messages)
        await output.flush()

    async def _welcome(self, context: _EventContext) -> None:
        hint = await self._language_hint(context)
        text = WELCOME_TEXT.get(hint or "") or f"{WELCOME_TEXT['ja']}\n{WELCOME_TEXT['en']}"
        items = [
            {
                "type": "action",
                "action": {
                    "type": "postback",
                    "label": label,
                    "data": f"{LANGUAGE_POSTBACK_PREFIX}{code}",
                    "displayText": label,
                },
            }
            for code, label in LANGUAGE_LABELS.items()
        ]
        await self._send(context, text_messages(text, {"items": items}))

    async def _to_assistant(
        self,
        context: _EventContext,
        text: str,
        message_id: str | None,
        extra_metadata: dict[str, Any],
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
    ) -> None:
        output = self._output(context)
        loading = None
        if context.source_type == "user" and context.user_id:
            loading = asyncio.get_running_loop().create_task(self._loading_after_delay(context.user_id))
        try:
            metadata: dict[str, Any] = {}
            hint = await self._language_hint(context)
            if hint:
                metadata["language_hint"] = hint
            metadata.update(extra_metadata)
            await on_new_message(
                UserMessage(
                    text,
                    output,
                    context.sender_id,
                    input_channel=self.name(),
                    message_id=message_id,
                    metadata=metadata,
                )
            )
        except Exception:
            logger.exception("The assistant failed on LINE event %s.", context.event_id)
            language = await self._user_language(context)
            await output.add_messages(
                context.sender_id,
                text_messages(SORRY_TEXT.get(language, SORRY_TEXT[FALLBACK_LANGUAGE])),
            )
        finally:
            if loading is not None:
                loading.cancel()
            await output.flush()

    async def _loading_after_delay(self, user_id: str) -> None:
        await asyncio.sleep(self.loading_delay)
        if self.api:
            await self.api.show_loading(user_id, self.loading_seconds)

    async def _language_hint(self, context: _EventContext) -> str | None:
        """The user's LINE profile language mapped to ours (cached; None if unknown)."""
        if not context.user_id or not self.api:
            return None
        cached = self._profile_languages.get(context.user_id, _MISSING)
        if cached is not _MISSING:
            return cached
        profile = await self.api.get_profile(context.user_id)
        language = map_line_language((profile or {}).get("language"))
        self._profile_languages.set(context.user_id, language)
        return language

    async def _user_language(self, context: _EventContext) -> str:
        """Language for the channel's own short replies: chosen > profile > English."""
        chosen = self._chosen_languages.get(context.sender_id)
        if chosen:
            return chosen
        return await self._language_hint(context) or FALLBACK_LANGUAGE
