"""Shared fixtures: a trained model (once per session, cached in models/ by a hash of data and
config) and the real assistant (Rasa server + action server) running on free loopback ports."""
from __future__ import annotations

import gc
import json
import os
import socket
import urllib.request
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import pytest

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def trained_model() -> Path:
    """The current model, trained on first use (about three minutes), then reused."""
    from bot.train import train

    return train(quiet=True)


class Assistant:
    """A running assistant and small helpers to talk to it over HTTP."""

    def __init__(self, base_url: str, log_dir: Path) -> None:
        self.base_url = base_url
        self.log_dir = log_dir

    def post(self, path: str, body: Any, raw: Optional[bytes] = None,
             headers: Optional[Dict[str, str]] = None) -> tuple:
        """POSTs JSON (or raw bytes); returns (status, parsed JSON or text)."""
        data = raw if raw is not None else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(self.base_url + path, data=data, method="POST",
                                         headers={"Content-Type": "application/json", **(headers or {})})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                status, payload = response.status, response.read()
        except urllib.error.HTTPError as err:
            status, payload = err.code, err.read()
        try:
            return status, json.loads(payload.decode("utf-8"))
        except ValueError:
            return status, payload.decode("utf-8", "replace")

    def ask(self, text: str, sender: str, metadata: Optional[Dict[str, Any]] = None) -> List[Dict[str, Any]]:
        """Sends one message through the REST channel; returns the bot's messages."""
        body: Dict[str, Any] = {"sender": sender, "message": text}
        if metadata:
            body["metadata"] = metadata
        status, reply = self.post("/webhooks/rest/webhook", body)
        assert status == 200, (status, reply)
        return reply

    def parse(self, text: str) -> Dict[str, Any]:
        """POST /model/parse."""
        status, reply = self.post("/model/parse", {"text": text})
        assert status == 200, (status, reply)
        return reply


LINE_SECRET = "test-line-channel-secret"
LINE_TOKEN = "test-line-access-token"


class BackgroundFakeLine:
    """The fake LINE API (tests/channels/fake_line.py) served from a background thread's event loop,
    so that a real assistant in another process can call it during synchronous tests."""

    def __init__(self) -> None:
        import asyncio
        import threading

        from tests.channels.fake_line import FakeLineAPI

        self.api = FakeLineAPI(LINE_TOKEN)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.base_url = asyncio.run_coroutine_threadsafe(self.api.start(), self.loop).result(10)

    def close(self) -> None:
        import asyncio

        asyncio.run_coroutine_threadsafe(self.api.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)


@pytest.fixture(scope="session")
def fake_line() -> Iterator[BackgroundFakeLine]:
    """A fake LINE API the running assistant's LINE channel talks to."""
    fake = BackgroundFakeLine()
    try:
        yield fake
    finally:
        fake.close()


@pytest.fixture(scope="session")
def running_assistant(trained_model: Path, tmp_path_factory: pytest.TempPathFactory,
                      fake_line: BackgroundFakeLine) -> Iterator[Assistant]:
    """The real assistant on free ports with its own SQLite tracker store, every channel on (LINE
    pointed at the fake LINE API); stopped after the session."""
    from bot.run import environment, start, stop, wait_ready

    state = tmp_path_factory.mktemp("assistant")
    env = environment()
    env.update({
        "PORT": str(free_port()),
        "ACTION_PORT": str(free_port()),
        "ADMIN_PORT": str(free_port()),
        "HOST": "127.0.0.1",
        "TRACKER_DB": str(state / "tracker.db"),
        "WEB_SESSION_SECRET": "test-secret-not-for-production",
    })
    env.update({"LINE_CHANNEL_SECRET": LINE_SECRET, "LINE_CHANNEL_ACCESS_TOKEN": LINE_TOKEN,
                "LINE_API_BASE_URL": fake_line.base_url})
    env.pop("RASA_AUTH_TOKEN", None)
    procs = start(trained_model, env, log_dir=state / "logs")
    try:
        dead = wait_ready(procs, env, timeout=240)
        if dead:
            log = (state / "logs").glob("*.log")
            pytest.fail(f"{dead} died while starting:\n" + "\n".join(p.read_text()[-3000:] for p in log))
        yield Assistant(f"http://127.0.0.1:{env['PORT']}", state / "logs")
    finally:
        stop(procs)


def texts(messages: List[Dict[str, Any]]) -> str:
    """All the text a resident would read in a reply (texts and contact cards)."""
    parts = []
    for m in messages:
        if m.get("text"):
            parts.append(m["text"])
        if isinstance(m.get("custom"), dict):
            parts.append(m["custom"].get("text", ""))
    return "\n".join(parts)


def cards(messages: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """The contact cards of a reply."""
    return [m["custom"] for m in messages if isinstance(m.get("custom"), dict)
            and m["custom"].get("type") == "contact_card"]


os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(autouse=True)
def _gc_unfrozen_after_each_test() -> Iterator[None]:
    """Channel servers started in a test freeze the heap (bot/channels/heap.py); in the test process
    that would keep later tests' garbage alive, so it is undone after each test."""
    yield
    gc.unfreeze()

