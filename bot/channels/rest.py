"""Rasa's REST channel (/webhooks/rest/webhook) with input validation.

Same URL and reply format as Rasa's own ``rest`` channel, but bad input gets a clear 4xx with a
JSON error instead of a stack trace or a 500: a body that is not a JSON object, a missing or
non-text ``message``, a message over ``MAX_MESSAGE_CHARS``, a ``metadata`` that is not an object.
An empty message is valid: the assistant answers it politely. A missing ``sender`` gets a random
id, so that callers without one never share a conversation.
"""
from __future__ import annotations

import json
import logging
import uuid
from typing import Any, Awaitable, Callable, Dict, Optional, Tuple

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.heap import freeze_heap_after_start

logger = logging.getLogger(__name__)

MAX_MESSAGE_CHARS = 5000
MAX_SENDER_CHARS = 128


def error(status: int, message: str) -> HTTPResponse:
    """A JSON error response."""
    return response.json({"error": message, "status": status}, status=status)


def parse_body(request: Request) -> Tuple[Optional[Dict[str, Any]], Optional[HTTPResponse]]:
    """The request's JSON object, or an error response."""
    try:
        body = json.loads(request.body or b"")
    except (ValueError, UnicodeDecodeError):
        return None, error(400, "The request body is not valid JSON.")
    if not isinstance(body, dict):
        return None, error(400, "The request body must be a JSON object.")
    return body, None


def validate_message(body: Dict[str, Any]) -> Optional[HTTPResponse]:
    """An error response if the body's message, sender or metadata are unusable."""
    message = body.get("message")
    if message is None:
        return error(400, "Missing 'message': send {\"sender\": \"...\", \"message\": \"your question\"}.")
    if not isinstance(message, str):
        return error(400, "'message' must be a string.")
    if len(message) > MAX_MESSAGE_CHARS:
        return error(413, f"'message' is too long: at most {MAX_MESSAGE_CHARS} characters.")
    sender = body.get("sender")
    if sender is not None and (not isinstance(sender, (str, int)) or len(str(sender)) > MAX_SENDER_CHARS):
        return error(400, f"'sender' must be a string of at most {MAX_SENDER_CHARS} characters.")
    if body.get("metadata") is not None and not isinstance(body.get("metadata"), dict):
        return error(400, "'metadata' must be a JSON object.")
    return None


class ValidatingRestInput(RestInput):
    """Rasa's REST channel, answering bad input with a clear 4xx."""

    @classmethod
    def name(cls) -> str:
        """Same name, hence same URL, as Rasa's channel: /webhooks/rest/webhook."""
        return "rest"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """Rasa's REST blueprint behind a validating front."""
        inner = super().blueprint(on_new_message)
        bp = Blueprint("validating_rest_webhook", __name__)

        @bp.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @bp.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            body, problem = parse_body(request)
            if problem is not None:
                return problem
            problem = validate_message(body)
            if problem is not None:
                return problem
            if body.get("sender") is None:
                body["sender"] = uuid.uuid4().hex
            request.parsed_json = body
            handler = _route_handler(inner, "/webhook")
            return await handler(request)

        return freeze_heap_after_start(bp)


def _route_handler(bp: Blueprint, uri: str) -> Callable:
    for route in bp._future_routes:
        if route.uri == uri:
            return route.handler
    raise RuntimeError(f"{uri} not found in {bp.name}")
