"""The admin page in headless Chromium against the real assistant, on a copy of the content:

log in → edit the Vietnamese answer of a topic → approve a Nepali draft → Publish (validate, train,
swap the model into the running Rasa server) → the running assistant serves the new answers, and
a resident conversation started before the swap goes on after it.

Slow (two trainings, the second one quick thanks to the e5 embedding cache). Screenshots go to
tests/artifacts/staff_*.png.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import pytest

from tests.conftest import free_port
from tests.staff.conftest import REPO, copy_project

pytestmark = pytest.mark.slow

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]
PASSWORD = "ward-staff-password-1"
TOKEN = "e2e-rasa-token"
NEW_VI = ("Khi chuyển đến Minato, hãy nộp thông báo chuyển đến (tennyu-todoke) trong vòng 14 ngày.\n"
          "• Mang theo thẻ cư trú và hộ chiếu.\n• Có thể nộp ở bất kỳ văn phòng khu vực nào.")
NE_TITLE = "फोहोर फाल्ने दिन"
NE_DRAFT = "फोहोर फाल्ने दिन तपाईं बस्ने ठाउँ अनुसार फरक हुन्छ।\n• आफ्नो क्षेत्रको तालिका हेर्नुहोस्।"
NEW_EXAMPLE = "newly arrived in minato from sao paulo, which counter registers my address"


def http(method: str, url: str, body: Optional[dict] = None, timeout: float = 120) -> tuple:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode("utf-8", "replace")


def wait_http(url: str, timeout: float, proc: Optional[subprocess.Popen] = None) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{url}: the process exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except Exception:
            time.sleep(0.5)
    raise TimeoutError(url)


class Live:
    """The assistant (Rasa + actions) and the admin page, on a copied project."""

    def __init__(self, root: Path, env: Dict[str, str], admin_url: str) -> None:
        self.root = root
        self.env = env
        self.rasa = f"http://127.0.0.1:{env['PORT']}"
        self.admin = admin_url

    def ask(self, message: str, sender: str, language: str) -> List[Dict[str, Any]]:
        status, reply = http("POST", f"{self.rasa}/webhooks/rest/webhook",
                             {"sender": sender, "message": message, "metadata": {"language": language}})
        assert status == 200, reply
        return reply

    def model_file(self) -> str:
        status, body = http("GET", f"{self.rasa}/status?token={TOKEN}")
        assert status == 200, body
        return Path(body["model_file"]).name

    def parse(self, text: str) -> Dict[str, Any]:
        status, body = http("POST", f"{self.rasa}/model/parse?token={TOKEN}", {"text": text})
        assert status == 200, body
        return body


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    from bot.run import environment, start, stop, wait_ready
    from bot.train import inputs_hash, train

    base = tmp_path_factory.mktemp("live")
    root = copy_project(base / "project", link_code=True)
    models = base / "models"
    models.mkdir()
    # Same inputs as the repository: reuse its model when `make train` or another test made it.
    cached = REPO / "models" / f"minato-{inputs_hash(root)}.tar.gz"
    if cached.exists():
        shutil.copy2(cached, models / cached.name)
    saved = os.environ.get("E5_CACHE_DIR")
    os.environ["E5_CACHE_DIR"] = str(REPO / ".cache" / "e5")   # embeddings of unchanged examples are reused
    try:
        model = train(root=root, out=models, quiet=True)
    finally:
        if saved is None:
            os.environ.pop("E5_CACHE_DIR", None)
        else:
            os.environ["E5_CACHE_DIR"] = saved

    env = environment()
    env.update({
        "PORT": str(free_port()), "ACTION_PORT": str(free_port()), "HOST": "127.0.0.1",
        "TRACKER_DB": str(base / "tracker.db"), "WEB_SESSION_SECRET": "e2e-secret-not-for-production",
        "MINATO_DATA_DIR": str(root / "data"), "MINATO_PROJECT_DIR": str(root),
        "STAFF_STATE_DIR": str(root / ".state"), "RASA_AUTH_TOKEN": TOKEN, "MODELS_DIR": str(models),
        "E5_CACHE_DIR": str(REPO / ".cache" / "e5"), "ADMIN_PORT": str(free_port()),
    })
    env["RASA_URL"] = f"http://127.0.0.1:{env['PORT']}"
    for key in ("LINE_CHANNEL_SECRET", "LINE_CHANNEL_ACCESS_TOKEN"):
        env.pop(key, None)
    logs = base / "logs"
    procs = start(model, env, log_dir=logs)  # Rasa server, action server and the admin page
    try:
        dead = wait_ready(procs, env, timeout=300)
        if dead:
            pytest.fail(f"{dead} died:\n" + "\n".join(p.read_text()[-3000:] for p in logs.glob("*.log")))
        subprocess.run([sys.executable, "-m", "bot.staff", "add-user", "staff1", "--password-stdin"], cwd=REPO,
                       env=env, input=PASSWORD + "\n", text=True, check=True, capture_output=True)
        yield Live(root, env, f"http://127.0.0.1:{env['ADMIN_PORT']}")
    finally:
        stop(procs)


@pytest.fixture(scope="module")
def page(live: Live, artifacts: Path) -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing (make browser)")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ja-JP")
        page = context.new_page()
        page.errors = []
        page.on("pageerror", lambda err: page.errors.append(str(err)))
        page.on("console", lambda msg: page.errors.append(msg.text) if msg.type == "error" else None)
        yield page
        context.close()
        browser.close()


def wait_for_publish(page: Any, timeout: float = 900) -> str:
    """The page refreshes itself (meta refresh) while publishing; read it until it says how it ended.
    (The page's Content-Security-Policy forbids eval, so Playwright's wait_for_function cannot run.)"""
    deadline = time.time() + timeout
    body = ""
    while time.time() < deadline:
        try:
            page.wait_for_load_state()
            body = page.inner_text("main")
        except Exception:   # the page was navigating (refresh)
            body = ""
        if "公開しました / Published" in body or "失敗しました / Failed" in body:
            return body
        time.sleep(2)
    raise TimeoutError(f"publishing did not finish in {timeout:.0f} s:\n{body}")


def shot(page: Any, artifacts: Path, name: str, full: bool = True) -> None:
    page.screenshot(path=str(artifacts / f"staff_{name}.png"), full_page=full)


def test_edit_approve_publish_and_the_assistant_serves_it(live: Live, page: Any, artifacts: Path):
    from actions.content import load_content
    from bot.staff.project import Project
    from bot.staff.store import Store

    project = Project.from_env(live.env)
    old_vi = load_content(project.data).answer("moving_in", "vi").text
    # A Nepali draft waiting for approval, and a new example (so that publishing trains a new model).
    staff = Store(project, user="translator (cli)")
    staff.edit_answer("garbage_days", "ne", NE_DRAFT, title=NE_TITLE, mode="draft")
    staff.add_example("moving_in", "en", NEW_EXAMPLE)

    # A resident starts a conversation before anything is published.
    resident = "resident-before-swap"
    reply = live.ask("/faq_moving_in", resident, "vi")
    assert reply[0]["text"] == old_vi
    model_before = live.model_file()

    # Another resident finds an answer unhelpful (👎): thanked, offered a person, listed for staff.
    live.ask("How do I join the national health insurance? my phone is 090-1234-5678", "resident-2", "en")
    reply = live.ask("/feedback_not_helpful", "resident-2", "en")
    assert reply[0]["text"].startswith("Thank you for letting us know.")
    assert reply[-1]["custom"]["department"] == "international"

    # Staff sign in.
    page.goto(f"{live.admin}/")
    assert "/login" in page.url
    shot(page, artifacts, "01_login", full=False)
    page.fill("input[name=name]", "staff1")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_selector("table.topics")
    shot(page, artifacts, "02_topics", full=False)

    # Edit the Vietnamese answer and show it at once.
    page.goto(f"{live.admin}/topics/moving_in/vi")
    page.fill("textarea[name=text]", NEW_VI)
    shot(page, artifacts, "03_edit_vi")
    page.click("button[name=mode][value=approved]")
    page.wait_for_selector(".flash.ok")
    assert "Saved: residents see it now." in page.inner_text(".flash.ok")
    shot(page, artifacts, "04_saved_vi")

    # Approve the Nepali draft.
    page.goto(f"{live.admin}/topics/garbage_days/ne")
    assert NE_TITLE in page.inner_text("pre.answer.draft") or NE_DRAFT.split("\n")[0] in page.inner_text("main")
    shot(page, artifacts, "05_ne_draft")
    page.click("#approve")
    page.wait_for_selector(".flash.ok")
    shot(page, artifacts, "06_ne_approved")

    # Publish: validate → train → swap, with progress.
    page.goto(f"{live.admin}/publish")
    page.click("#publish")
    page.wait_for_selector("ol.progress")
    shot(page, artifacts, "07_publish_running")
    body = wait_for_publish(page)
    shot(page, artifacts, "08_published")
    assert "公開しました / Published" in body, body
    new_model = page.inner_text("#model")

    # The running assistant now uses the new model and serves the new answers...
    assert live.model_file() == new_model != model_before
    assert live.parse(NEW_EXAMPLE)["intent"]["name"] == "faq_moving_in"
    # ...in the conversation that started before the swap, which goes on.
    reply = live.ask("/faq_moving_in", resident, "vi")
    assert reply[0]["text"] == NEW_VI
    assert any(m.get("custom", {}).get("type") == "contact_card" for m in reply)
    reply = live.ask("/faq_garbage_days", resident, "ne")
    assert reply[0]["text"] == NE_DRAFT
    status, tracker = http("GET", f"{live.rasa}/conversations/{resident}/tracker?token={TOKEN}")
    assert status == 200
    asked = [e["text"] for e in tracker["events"] if e["event"] == "user"]
    assert asked[:3] == ["/faq_moving_in", "/faq_moving_in", "/faq_garbage_days"]

    # The other pages, for the screenshots and the audit trail.
    page.goto(f"{live.admin}/audit")
    body = page.inner_text("main")
    assert "staff1" in body and "approve" in body and "publish" in body
    shot(page, artifacts, "09_audit", full=False)
    page.goto(f"{live.admin}/unanswered?days=7")
    body = page.inner_text("main")
    assert "How do I join the national health insurance? my phone is [phone]" in body and "090-1234" not in body
    shot(page, artifacts, "10a_unanswered", full=False)
    page.goto(f"{live.admin}/stats?days=7")
    shot(page, artifacts, "10_stats", full=False)
    page.goto(f"{live.admin}/directory")
    shot(page, artifacts, "11_directory", full=False)
    assert not page.errors, page.errors
