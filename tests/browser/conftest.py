"""Fixtures for the widget's browser tests.

* ``fake_assistant``: a real Sanic server (Rasa's ``configure_app``) with the web
  channel, whose agent is a fake that answers with contract-shaped messages (a text,
  quick-reply buttons, a contact card) and keeps a real ``InMemoryTrackerStore``. Fast:
  no model, no action server.
* ``browser`` / ``new_page``: Debian's Chromium driven by Playwright (never a
  downloaded browser).
* ``shot``: saves a screenshot under ``tests/artifacts/`` (git-ignored).

The end-to-end test runs against ``running_assistant`` from ``tests/conftest.py``.
"""

import asyncio
import os
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"

CONTACT_CARD_VI = {
    "type": "contact_card",
    "lang": "vi",
    "department": "nhi_pension",
    "title": "Phòng Bảo hiểm Y tế Quốc dân và Lương hưu",
    "name_ja": "国保年金課",
    "external": False,
    "phones": [{"label": "Điện thoại", "number": "03-3578-2574", "tel": "tel:+81335782574"}],
    "hours": "T2–T6 8:30–17:00",
    "hours_note": "Nghỉ ngày lễ và 29/12–3/1",
    "place": "Tòa thị chính Minato tầng 3, 1-5-25 Shibakoen",
    "open_now": True,
    "status": "Đang mở cửa",
    "text": "Phòng Bảo hiểm Y tế Quốc dân và Lương hưu — 03-3578-2574",
}

# A card whose every field tries to smuggle markup or a script URL in.
EVIL_CARD = {
    "type": "contact_card",
    "lang": "en",
    "title": "<img src=x onerror=alert('card')>",
    "name_ja": "<b>bold</b>",
    "phones": [{"label": "<i>x</i>", "number": "03-1234-5678", "tel": "javascript:alert(1)"}],
    "hours": "<script>alert(2)</script>",
    "place": "<svg onload=alert(3)>",
    "open_now": None,
    "text": "evil",
}

QUICK_REPLIES_VI = [
    {"title": "Đăng ký BHYT", "payload": "/faq_nhi_enrollment"},
    {"title": "Lương hưu", "payload": "/faq_pension_enrollment"},
]


class FakeAgent:
    """Stands in for ``rasa.core.agent.Agent``: ``handle_message`` + ``tracker_store``."""

    def __init__(self) -> None:
        from rasa.core.tracker_store import InMemoryTrackerStore
        from rasa.shared.core.domain import Domain

        self.tracker_store = InMemoryTrackerStore(Domain.empty())
        self.calls: List[Dict[str, Any]] = []
        self.delay = 0.0

    @staticmethod
    def replies_for(text: str, metadata: Dict[str, Any]) -> List[Dict[str, Any]]:
        language = metadata.get("language") or "-"
        if text.startswith("/"):
            return [{"text": f"Trả lời cho {text} [lang={language}]"}]
        if text == "evil card":
            return [{"custom": dict(EVIL_CARD)}]
        if text.startswith("link"):
            return [{"text": "Xem https://www.city.minato.tokyo.jp/ hoặc gọi 03-3578-2111."}]
        return [
            {"text": f"Bạn đã hỏi: {text}\n• Mang theo thẻ cư trú [lang={language}]"},
            {"custom": dict(CONTACT_CARD_VI)},
            {"text": "Câu hỏi liên quan:", "buttons": list(QUICK_REPLIES_VI)},
        ]

    async def handle_message(self, message: Any) -> None:
        from rasa.shared.core.events import BotUttered, UserUttered

        self.calls.append(
            {
                "text": message.text,
                "sender_id": message.sender_id,
                "metadata": dict(message.metadata or {}),
                "message_id": message.message_id,
            }
        )
        if self.delay:
            await asyncio.sleep(self.delay)
        tracker = await self.tracker_store.get_or_create_tracker(message.sender_id)
        tracker.update(
            UserUttered(
                message.text,
                input_channel=message.input_channel,
                message_id=message.message_id,
                metadata=message.metadata,
            )
        )
        for reply in self.replies_for(message.text, message.metadata or {}):
            await message.output_channel.send_response(message.sender_id, dict(reply))
            data = {k: v for k, v in reply.items() if k in ("buttons", "custom")}
            tracker.update(BotUttered(reply.get("text"), data=data))
        await self.tracker_store.save(tracker)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerThread:
    """Serves a Sanic app on 127.0.0.1 from a background thread with its own loop."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._error: Optional[BaseException] = None
        self._server: Any = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self._start())
        except BaseException as e:  # reported to the test thread
            self._error = e
            self._ready.set()
            return
        self._ready.set()
        self.loop.run_forever()

    async def _start(self) -> None:
        self._server = await self.app.create_server(
            host="127.0.0.1",
            port=self.port,
            return_asyncio_server=True,
            access_log=False,
        )
        await self._server.startup()
        await self._server.before_start()
        await self._server.after_start()

    async def _stop(self) -> None:
        await self._server.before_stop()
        await self._server.close()
        await self._server.after_stop()

    def run_coro(self, coro: Any, timeout: float = 10) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def start(self) -> "ServerThread":
        self._thread.start()
        self._ready.wait(30)
        if self._error:
            raise self._error
        return self

    def stop(self) -> None:
        try:
            self.run_coro(self._stop())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(10)


class FakeAssistant:
    def __init__(self, server: ServerThread, agent: FakeAgent, channel: Any) -> None:
        self.server = server
        self.agent = agent
        self.channel = channel
        self.base_url = server.base_url

    def reset(self) -> None:
        self.agent.calls.clear()
        self.agent.delay = 0.0
        self.channel.signer._clock = time.time


@pytest.fixture(scope="session")
def fake_assistant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeAssistant]:
    from rasa.core.run import configure_app
    from sanic import Sanic

    from bot.channels.web import WebChatInput

    Sanic.test_mode = True  # Rasa's app name may be registered by other tests too
    channel = WebChatInput(secret=os.urandom(32), state_dir=tmp_path_factory.mktemp("web_state"))
    # Cross-origin embedding needs CORS, as with `rasa run --cors "*"`.
    app = configure_app([channel], cors="*", enable_api=False, use_uvloop=False)
    agent = FakeAgent()
    app.ctx.agent = agent
    server = ServerThread(app).start()
    yield FakeAssistant(server, agent, channel)
    server.stop()


class HostSite:
    """Another website (another origin) that embeds the widget: pages by path."""

    def __init__(self) -> None:
        self.pages: Dict[str, str] = {}
        pages = self.pages

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                body = pages.get(self.path.split("?")[0])
                if body is None:
                    self.send_error(404)
                    return
                data = body.encode("utf-8")
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        # "localhost" vs the assistant's "127.0.0.1": a different origin, and both in
        # the loopback address space, so Chromium's local-network checks do not apply.
        self.origin = f"http://localhost:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="session")
def host_site() -> Iterator[HostSite]:
    site = HostSite()
    yield site
    site.stop()


# Module scope, not session: Playwright's sync API keeps an event loop running in the main thread
# until it stops, and every async test that runs after it in the same process would then fail.
@pytest.fixture(scope="module")
def playwright_instance() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed in this venv")
    with sync_api.sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright_instance: Any) -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing: `apt-get update && apt-get install -y chromium`")
    browser = playwright_instance.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def new_page(browser: Any) -> Iterator[Callable[..., Any]]:
    """Opens a page in a fresh context (own localStorage); records dialogs and errors."""
    contexts: List[Any] = []

    def make(width: int = 1280, height: int = 860, **kwargs: Any) -> Any:
        context = browser.new_context(
            viewport={"width": width, "height": height},
            service_workers="block",
            **kwargs,
        )
        contexts.append(context)
        page = context.new_page()
        page.dialogs = []
        page.console_errors = []
        page.page_errors = []

        def on_dialog(dialog: Any) -> None:
            page.dialogs.append(dialog.message)
            dialog.dismiss()

        page.on("dialog", on_dialog)
        page.on(
            "console",
            lambda msg: page.console_errors.append(msg.text) if msg.type == "error" else None,
        )
        page.on("pageerror", lambda err: page.page_errors.append(str(err)))
        return page

    yield make
    for context in contexts:
        context.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    gitignore = ARTIFACTS / ".gitignore"
    if not gitignore.exists():
        gitignore.write_text("# Screenshots from tests/browser: never commit.\n*\n")
    return ARTIFACTS


@pytest.fixture
def shot(artifacts: Path) -> Callable[[Any, str], Path]:
    def save(page: Any, name: str) -> Path:
        path = artifacts / (re.sub(r"[^A-Za-z0-9_.-]", "_", name) + ".png")
        page.screenshot(path=str(path))
        return path

    return save
