"""The admin app over HTTP (aiohttp's test client): login, CSRF, sessions, rate limit, escaping,
and each page's main action. The browser test (test_browser.py) drives the same app in Chromium."""
from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any, Dict, List

import numpy as np
import pytest
from aiohttp import FormData, web
from aiohttp.test_utils import TestClient, TestServer
from openpyxl import load_workbook

from actions.content import load_content
from bot.staff import publish as publish_mod
from bot.staff import rules
from bot.staff.users import Users
from bot.staff.web import Settings, create_app
from tests.staff.conftest import FakeTranslator, audit_lines, tree_digest

PASSWORD = "correct horse battery staple"


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def fake_embedder(texts: List[str]) -> np.ndarray:
    """Questions about parking share a direction; everything else is its own group."""
    out = np.zeros((len(texts), len(texts) + 1), dtype=np.float32)
    for i, t in enumerate(texts):
        out[i, 0 if ("park" in t.lower() or "駐車" in t) else i + 1] = 1.0
    return out


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def settings(project, clock) -> Settings:
    Users(project.users_file).add("sato", PASSWORD)
    return Settings(project=project, clock=clock, translator_factory=FakeTranslator, embedder=fake_embedder)


@pytest.fixture
async def client(settings):
    async with TestClient(TestServer(create_app(settings))) as c:
        yield c


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def flashes(html: str) -> List[str]:
    return re.findall(r'<p class="flash \w+" role="status">([^<]*)</p>', html)


async def login(client: TestClient, name: str = "sato", password: str = PASSWORD) -> Any:
    page = await client.get("/login")
    data = {"name": name, "password": password, "csrf_token": csrf_of(await page.text()), "next": "/"}
    return await client.post("/login", data=data, allow_redirects=False)


async def token(client: TestClient, path: str = "/") -> str:
    return csrf_of(await (await client.get(path)).text())


async def test_every_page_needs_a_login_but_health(client):
    for path in ("/", "/topics/moving_in", "/directory", "/import", "/unanswered", "/stats", "/audit", "/publish",
                 "/export.xlsx"):
        response = await client.get(path, allow_redirects=False)
        assert response.status == 303 and response.headers["Location"].startswith("/login?next="), path
    response = await client.post("/topics/moving_in/vi", data={"text": "x"}, allow_redirects=False)
    assert response.status == 303 and response.headers["Location"].startswith("/login")
    assert (await (await client.get("/health")).text()) == "ok"


async def test_login_cookie_flags_and_session_rotation(client, settings):
    page = await client.get("/login")
    anonymous = page.cookies["minato_admin"]
    assert anonymous["httponly"] and anonymous["samesite"] == "Strict" and anonymous["path"] == "/"
    response = await login(client)
    assert response.status == 303 and response.headers["Location"] == "/"
    cookie = response.cookies["minato_admin"]
    assert cookie.value != anonymous.value                      # a new session id after login
    assert cookie["httponly"] and cookie["samesite"] == "Strict"
    assert (await client.get("/")).status == 200
    # Behind HTTPS (ADMIN_SECURE_COOKIES=1) the cookie is Secure too.
    settings.secure_cookies = True
    response = await login(client)
    assert response.cookies["minato_admin"]["secure"]


async def test_security_headers(client):
    await login(client)
    response = await client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp and "script-src" not in csp
    assert response.headers["X-Frame-Options"] == "DENY" and response.headers["Cache-Control"] == "no-store"


async def test_wrong_password_and_rate_limit(client, clock):
    for _ in range(5):
        assert (await login(client, password="wrong password!")).status == 401
    blocked = await login(client)               # even the right password waits now
    assert blocked.status == 429 and "Too many sign-in attempts" in await blocked.text()
    clock.advance(16 * 60)
    assert (await login(client)).status == 303


async def test_unknown_user_is_refused(client):
    response = await login(client, name="nobody")
    assert response.status == 401 and "Wrong user name or password" in await response.text()


async def test_post_without_or_with_a_wrong_csrf_token_changes_nothing(client, project):
    await login(client)
    digest = tree_digest(project.root)
    for data in ({"title": "x", "text": "changed", "mode": "approved"},
                 {"title": "x", "text": "changed", "mode": "approved", "csrf_token": "forged"}):
        response = await client.post("/topics/moving_in/vi", data=data)
        assert response.status == 403 and "CSRF" in await response.text()
    good = await token(client, "/topics/moving_in/vi")
    response = await client.post("/topics/moving_in/vi", data={"title": "x", "text": "changed", "mode": "approved",
                                                               "csrf_token": good},
                                 headers={"Origin": "https://evil.example"})
    assert response.status == 403
    response = await client.post("/login", data={"name": "sato", "password": PASSWORD})
    assert response.status == 403                  # the login form has a token too
    assert tree_digest(project.root) == digest and audit_lines(project) == []


async def test_session_expires_after_30_idle_minutes_and_after_8_hours(client, clock):
    await login(client)
    clock.advance(29 * 60)
    assert (await client.get("/", allow_redirects=False)).status == 200
    clock.advance(31 * 60)
    response = await client.get("/", allow_redirects=False)
    assert response.status == 303 and "expired=1" in response.headers["Location"]
    assert "Your session expired" in await (await client.get(response.headers["Location"])).text()
    await login(client)
    for _ in range(24):                            # active every 20 minutes for 8 hours
        clock.advance(20 * 60)
        assert (await client.get("/", allow_redirects=False)).status == 200
    clock.advance(20 * 60 + 1)
    assert (await client.get("/", allow_redirects=False)).status == 303


async def test_logout(client):
    await login(client)
    csrf = await token(client)
    response = await client.post("/logout", data={"csrf_token": csrf}, allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/login"
    assert (await client.get("/", allow_redirects=False)).status == 303


async def test_edit_save_draft_approve_and_text_is_escaped(client, project):
    await login(client)
    csrf = await token(client, "/topics/moving_in/vi")
    evil = "<script>alert('x')</script> Nộp thông báo trong 14 ngày."
    response = await client.post("/topics/moving_in/vi", data={
        "csrf_token": csrf, "title": "Chuyển đến Minato", "text": evil, "mode": "draft"})
    html = await response.text()
    assert "Draft saved" in " ".join(flashes(html))
    assert "<script>alert" not in html and "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert load_content(project.data).answer("moving_in", "vi").text != evil      # not served yet
    response = await client.post("/topics/moving_in/vi/approve", data={"csrf_token": csrf})
    assert "Approved" in " ".join(flashes(await response.text()))
    assert load_content(project.data).answer("moving_in", "vi").text == evil
    response = await client.post("/topics/moving_in/vi", data={
        "csrf_token": csrf, "title": "Chuyển đến Minato", "text": "Gọi 03-3578-2111", "mode": "approved"})
    messages = " ".join(flashes(await response.text()))
    assert "Not saved" in messages and "phone number" in messages
    entry = audit_lines(project)[-1]
    assert entry["user"] == "sato" and entry["action"] == "approve"


async def test_directory_phone_and_hours(client, project):
    await login(client)
    csrf = await token(client, "/directory")
    response = await client.post("/directory/nhi_pension", data={
        "csrf_token": csrf, "phone": "03-1111-2222", "hours": "Mon-Fri 08:30-17:00", "holidays": "closed"})
    assert "not in data/reference/minato_facts.yaml" in " ".join(flashes(await response.text()))
    response = await client.post("/directory/nhi_pension", data={
        "csrf_token": csrf, "phone": "03-3578-2111", "hours": "Mon-Fri 08:30-17:00; Wed 08:30-19:00",
        "holidays": "closed"})
    assert "Saved" in " ".join(flashes(await response.text()))
    dept = load_content(project.data).departments["nhi_pension"]
    assert dept["phone"] == "03-3578-2111" and dept["schedule"]["wed"] == "08:30-19:00"


async def test_draft_translations_button_online_and_offline(client, project, settings):
    await login(client)
    csrf = await token(client, "/topics/garbage_days")
    response = await client.post("/topics/garbage_days/translate", data={"csrf_token": csrf, "src": "en"})
    assert "Machine-translated drafts written" in " ".join(flashes(await response.text()))
    assert rules.raw_answers(project.root)["vi"]["garbage_days"]["draft"]["text"].startswith("[vi]")
    settings.translator_factory = lambda: FakeTranslator(online=False)
    digest = tree_digest(project.root)
    response = await client.post("/topics/moving_in/translate", data={"csrf_token": csrf, "src": "en"})
    assert "No internet connection" in " ".join(flashes(await response.text()))
    assert tree_digest(project.root) == digest


def upload(csrf: str, body: bytes) -> FormData:
    form = FormData()
    form.add_field("csrf_token", csrf)
    form.add_field("file", body, filename="minato-faq.xlsx",
                   content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    return form


async def test_import_preview_then_apply(client, project):
    await login(client)
    exported = await client.get("/export.xlsx")
    assert exported.status == 200 and "attachment" in exported.headers["Content-Disposition"]
    wb = load_workbook(io.BytesIO(await exported.read()))
    ws = wb["answers"]
    for row in ws.iter_rows(min_row=2):
        if (row[0].value, row[1].value) == ("moving_in", "es"):
            row[4].value = "Si te mudas a Minato, presenta el aviso de mudanza (tennyu-todoke) en 14 días."
    buffer = io.BytesIO()
    wb.save(buffer)
    csrf = await token(client, "/import")
    digest = tree_digest(project.root)
    response = await client.post("/import", data=upload(csrf, buffer.getvalue()))
    html = await response.text()
    assert "moving_in/es" in html and "Apply these 1 changes" in html
    assert tree_digest(project.root) == digest
    apply_token = re.search(r'name="token" value="([0-9a-f]{32})"', html).group(1)
    response = await client.post("/import/apply", data={"csrf_token": csrf, "token": apply_token})
    assert "1 change(s) applied" in " ".join(flashes(await response.text()))
    assert load_content(project.data).answer("moving_in", "es").text.startswith("Si te mudas a Minato")
    # A rejected workbook shows the rows and writes nothing.
    ws["D2"] = "This title is much longer than twenty characters"
    buffer = io.BytesIO()
    wb.save(buffer)
    digest = tree_digest(project.root)
    response = await client.post("/import", data=upload(csrf, buffer.getvalue()))
    html = await response.text()
    assert "rejected" in html and "title over 20 characters" in html and "Apply these" not in html
    assert tree_digest(project.root) == digest


async def test_unanswered_page_groups_masks_and_promotes(client, project, tracker_db):
    await login(client)
    html = await (await client.get("/unanswered?days=30")).text()
    assert "Where can I park my car at the ward office?" in html and "区役所に車を停める駐車場はありますか" in html
    assert "090-1234-5678" not in html and "[phone]" in html
    assert '<option value="city_hall_hours" selected>' in html     # the suggested topic
    csrf = csrf_of(html)
    response = await client.post("/promote", data={"csrf_token": csrf, "lang": "en", "topic": "city_hall_hours",
                                                   "question": "is there parking for cars at city hall"})
    assert "Added as an example" in " ".join(flashes(await response.text()))
    assert "is there parking for cars at city hall" in rules.nlu_examples(project.root)["faq_city_hall_hours"]["en"]
    question = "区役所に車を停める駐車場はありますか"
    response = await client.post("/promote", data={"csrf_token": csrf, "lang": "ja", "new_topic": "parking",
                                                   "contact": "city_hall", "question": question})
    assert response.url.path == "/topics/parking"
    assert rules.nlu_examples(project.root)["faq_parking"]["ja"] == ["区役所に車を停める駐車場はありますか"]


async def test_stats_page(client, tracker_db):
    await login(client)
    html = await (await client.get("/stats?days=30")).text()
    assert '<div class="big">8</div>' in html and "50.0%" in html and "👍 1 · 👎 1" in html
    assert "nhi_enrollment" in html and "<meter" in html


async def test_audit_page_shows_who_changed_what(client, project):
    await login(client)
    csrf = await token(client, "/topics/moving_in/en")
    await client.post("/topics/moving_in/en/approve", data={"csrf_token": csrf})   # refused: nothing to approve
    await client.post("/topics/moving_in/ko", data={"csrf_token": csrf, "title": "전입신고", "mode": "approved",
                                                    "text": "미나토구로 이사 오면 14일 이내에 전입신고를 하세요."})
    html = await (await client.get("/audit")).text()
    assert "sato" in html and "edit-answer" in html and "moving_in/ko" in html and "14일 이내에" in html


async def test_publish_runs_in_the_background_and_shows_progress(client, project, monkeypatch):
    monkeypatch.setattr(publish_mod, "validate", lambda project, say: say("content rules: OK"))
    model = project.root / "models" / "minato-0123456789abcdef.tar.gz"
    monkeypatch.setattr(publish_mod, "train_model", lambda project, say: model)
    monkeypatch.setattr(publish_mod, "swap_model", lambda project, path, say: say(f"now using {path.name}") or True)
    await login(client)
    csrf = await token(client, "/publish")
    response = await client.post("/publish", data={"csrf_token": csrf})
    assert response.url.path == "/publish"
    await client.app["jobs"]["publish"]
    html = await (await client.get("/publish")).text()
    assert "Published" in html and "minato-0123456789abcdef.tar.gz" in html and 'http-equiv="refresh"' not in html
    assert audit_lines(project)[-1]["action"] == "publish" and audit_lines(project)[-1]["result"] == "done"


async def test_publish_failure_is_shown(client, project, monkeypatch):
    def fail(project, say):
        raise publish_mod.StaffError("Not published: 1 content problem(s) to fix first")

    monkeypatch.setattr(publish_mod, "validate", fail)
    await login(client)
    csrf = await token(client, "/publish")
    await client.post("/publish", data={"csrf_token": csrf})
    await client.app["jobs"]["publish"]
    html = await (await client.get("/publish")).text()
    assert "Failed" in html and "content problem(s) to fix first" in html


# ---------------------------------------------------------------------------------------------
# The model swap against a fake Rasa HTTP API that requires the auth token

@pytest.fixture
async def fake_rasa():
    state: Dict[str, Any] = {"model_file": "/models/minato-old.tar.gz", "puts": []}

    async def status(request: web.Request) -> web.Response:
        if request.query.get("token") != "s3cret":
            return web.json_response({"message": "unauthorized"}, status=401)
        return web.json_response({"model_file": state["model_file"], "fingerprint": {}})

    async def put_model(request: web.Request) -> web.Response:
        if request.query.get("token") != "s3cret":
            return web.json_response({"message": "unauthorized"}, status=401)
        body = await request.json()
        state["puts"].append(body)
        state["model_file"] = body["model_file"]
        return web.Response(status=204)

    app = web.Application()
    app.add_routes([web.get("/status", status), web.put("/model", put_model)])
    async with TestServer(app) as server:
        yield server, state


async def test_swap_model_honours_the_auth_token(project, fake_rasa, tmp_path):
    import asyncio
    import dataclasses

    server, state = fake_rasa
    url = str(server.make_url("")).rstrip("/")
    model = tmp_path / "minato-new.tar.gz"
    model.write_bytes(b"")
    without = dataclasses.replace(project, rasa_url=url, rasa_token="")
    with pytest.raises(publish_mod.StaffError, match="RASA_AUTH_TOKEN"):
        await asyncio.to_thread(publish_mod.swap_model, without, model, lambda s: None)
    with_token = dataclasses.replace(project, rasa_url=url, rasa_token="s3cret")
    assert await asyncio.to_thread(publish_mod.swap_model, with_token, model, lambda s: None)
    assert state["puts"] == [{"model_file": str(model.resolve())}]
    nobody = dataclasses.replace(project, rasa_url="http://127.0.0.1:9")
    said: List[str] = []
    assert not await asyncio.to_thread(publish_mod.swap_model, nobody, model, said.append)
    assert "not running" in said[0]


def test_run_py_integration_helpers():
    from bot.staff.web import command, health_url

    assert command({})[1:] == ["-m", "bot.staff.web"]
    assert health_url({"ADMIN_PORT": "6001"}) == "http://127.0.0.1:6001/health"
    assert health_url({"ADMIN_HOST": "0.0.0.0"}) == "http://127.0.0.1:5056/health"
    assert Path(__file__).exists()
