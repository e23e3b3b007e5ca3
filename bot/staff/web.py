"""The admin web page for ward staff: ``python -m bot.staff.web`` (ADMIN_PORT, default 5056, loopback).

Plain server-rendered HTML (Jinja2, autoescaped; no JavaScript), Japanese/English labels. Pages:
topics, an answer in any language (draft/approved, approve), directory phone/hours, spreadsheet
import (preview, then apply), draft translations, unanswered questions (grouped; add as an example
or a new topic), statistics, the audit log, and Publish (validate → train in the background → swap
the model into the running assistant, with progress).

Security: staff users from .state/staff_users.json (``python -m bot.staff add-user NAME``, Argon2id);
server-side sessions that end after 8 hours or 30 idle minutes; a CSRF token on every POST (the
login form too) and same-origin checks; cookies HttpOnly + SameSite=Strict (+ Secure over HTTPS:
ADMIN_SECURE_COOKIES=1 behind a TLS proxy); login attempts limited per address and per user name;
a strict Content-Security-Policy. Every edit goes through bot/staff/store.py (checked and logged).

bot/run.py starts it as a third supervised process: ``command(env)`` is the command line and
``health_url(env)`` the readiness URL.
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import hmac
import logging
import os
import re
import secrets
import sys
import tempfile
import time
import urllib.parse
from collections import defaultdict, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Awaitable, Callable, Deque, Dict, List, Optional, Tuple

import jinja2
from aiohttp import web

from actions.content import ANSWER_LANGUAGES
from bot.staff import rules
from bot.staff.project import Project, StaffError
from bot.staff.store import Store, ValidationFailed, answer_state

logger = logging.getLogger(__name__)

TEMPLATES = Path(__file__).with_name("templates")
COOKIE = "minato_admin"
JST = dt.timezone(dt.timedelta(hours=9))
LANG_NAMES = {"en": "English", "ja": "日本語", "ja-easy": "やさしい日本語", "zh": "中文", "ko": "한국어",
              "vi": "Tiếng Việt", "ne": "नेपाली", "tl": "Tagalog", "pt": "Português", "es": "Español"}
TOPIC_RE = r"[a-z][a-z0-9_]{0,39}"
LANG_RE = r"[a-z]{2}(?:-[A-Za-z]+)?"  # ja-easy, zh-Hant
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Settings:
    """How the admin app runs (tests shorten the timeouts and inject fakes)."""

    project: Project
    idle_timeout: float = 30 * 60
    absolute_timeout: float = 8 * 3600
    secure_cookies: Optional[bool] = None          # None: Secure when the request came over HTTPS
    login_limit_per_ip: Tuple[int, float] = (5, 15 * 60)
    login_limit_per_user: Tuple[int, float] = (10, 3600)
    clock: Callable[[], float] = time.time
    translator_factory: Optional[Callable[[], Any]] = None   # default: googletrans
    embedder: Optional[Callable[[List[str]], Any]] = None    # default: e5
    publisher: Optional[Callable[..., Any]] = None           # default: bot.staff.publish.publish

    @classmethod
    def from_env(cls) -> Settings:
        secure = os.environ.get("ADMIN_SECURE_COOKIES", "").strip().lower()
        return cls(project=Project.from_env(),
                   secure_cookies=True if secure in ("1", "true", "yes") else False if secure in ("0", "false", "no")
                   else None)


@dataclass
class Session:
    sid: str
    csrf: str
    created: float
    seen: float
    user: Optional[str] = None
    flash: List[Tuple[str, str]] = field(default_factory=list)


class Sessions:
    """Server-side sessions: an opaque random id in the cookie, nothing else."""

    MAX_ANONYMOUS = 5000

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._by_id: Dict[str, Session] = {}

    def new(self, user: Optional[str] = None) -> Session:
        now = self.settings.clock()
        self.purge(now)
        anonymous = [s for s in self._by_id.values() if s.user is None]
        if len(anonymous) >= self.MAX_ANONYMOUS:
            oldest = min(anonymous, key=lambda s: s.seen)
            self._by_id.pop(oldest.sid, None)
        session = Session(secrets.token_urlsafe(32), secrets.token_urlsafe(32), now, now, user)
        self._by_id[session.sid] = session
        return session

    def expired(self, session: Session, now: float) -> bool:
        return (now - session.seen > self.settings.idle_timeout
                or now - session.created > self.settings.absolute_timeout)

    def get(self, sid: Optional[str]) -> Tuple[Optional[Session], bool]:
        """(session, expired): an expired session is deleted and reported once."""
        if not sid:
            return None, False
        session = self._by_id.get(sid)
        if session is None:
            return None, False
        now = self.settings.clock()
        if self.expired(session, now):
            self._by_id.pop(sid, None)
            return None, session.user is not None
        session.seen = now
        return session, False

    def drop(self, session: Session) -> None:
        self._by_id.pop(session.sid, None)

    def purge(self, now: float) -> None:
        for sid in [sid for sid, s in self._by_id.items() if self.expired(s, now)]:
            self._by_id.pop(sid, None)


class RateLimiter:
    """Failed logins per key in a sliding window."""

    def __init__(self, limit: int, window: float, clock: Callable[[], float]) -> None:
        self.limit, self.window, self.clock = limit, window, clock
        self._hits: Dict[str, Deque[float]] = defaultdict(deque)

    def _trim(self, key: str) -> Deque[float]:
        hits = self._hits[key]
        now = self.clock()
        while hits and now - hits[0] > self.window:
            hits.popleft()
        return hits

    def blocked_for(self, key: str) -> float:
        """Seconds until another attempt is allowed (0: allowed now)."""
        hits = self._trim(key)
        if len(hits) < self.limit:
            return 0.0
        return max(1.0, self.window - (self.clock() - hits[0]))

    def fail(self, key: str) -> None:
        self._trim(key).append(self.clock())

    def reset(self, key: str) -> None:
        self._hits.pop(key, None)


# ---------------------------------------------------------------------------------------------
# Helpers

def _env() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)),
                             autoescape=jinja2.select_autoescape(["html"], default=True),
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.globals.update(LANG_NAMES=LANG_NAMES, LANGUAGES=ANSWER_LANGUAGES)
    env.filters["jst"] = lambda s: str(s)[:16].replace("T", " ") if s else ""
    env.filters["day"] = lambda ts: dt.datetime.fromtimestamp(ts, JST).strftime("%Y-%m-%d %H:%M") if ts else ""
    return env


def render(request: web.Request, template: str, http_status: int = 200, **context: Any) -> web.Response:
    session: Optional[Session] = request.get("session")
    flash = list(session.flash) if session else []
    if session:
        session.flash.clear()
    html = request.app["jinja"].get_template(template).render(
        user=session.user if session else None, csrf=session.csrf if session else "",
        flash=flash, path=request.path, **context)
    return web.Response(text=html, content_type="text/html", charset="utf-8", status=http_status)


def flash(request: web.Request, kind: str, message: str) -> None:
    session: Optional[Session] = request.get("session")
    if session is not None:
        session.flash.append((kind, message))


def redirect(location: str) -> web.HTTPSeeOther:
    return web.HTTPSeeOther(location)


def settings_of(request: web.Request) -> Settings:
    return request.app["settings"]


def store_of(request: web.Request) -> Store:
    return Store(settings_of(request).project, user=request["session"].user)


async def blocking(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Runs file or CPU work off the event loop."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, lambda: fn(*args, **kwargs))


async def form(request: web.Request) -> Dict[str, Any]:
    if "form" not in request:
        request["form"] = await request.post() if request.method == "POST" else {}
    return request["form"]


def _safe_next(value: str) -> str:
    return value if value.startswith("/") and not value.startswith("//") and "\\" not in value else "/"


# ---------------------------------------------------------------------------------------------
# Middlewares

PUBLIC = ("/login", "/health", "/static/admin.css", "/favicon.ico")


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        response = exc
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Cache-Control", "no-store")
    if isinstance(response, web.HTTPException):
        raise response
    return response


@web.middleware
async def sessions(request: web.Request, handler: Handler) -> web.StreamResponse:
    app_sessions: Sessions = request.app["sessions"]
    session, expired = app_sessions.get(request.cookies.get(COOKIE))
    request["session"] = session
    request["expired"] = expired
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        response = exc
    new: Optional[Session] = request.get("new_session")
    if new is not None:
        settings = settings_of(request)
        secure = settings.secure_cookies if settings.secure_cookies is not None else request.secure
        response.set_cookie(COOKIE, new.sid, httponly=True, samesite="Strict", secure=secure, path="/")
    elif request.get("logout"):
        response.del_cookie(COOKIE, path="/")
    if isinstance(response, web.HTTPException):
        raise response
    return response


@web.middleware
async def auth_and_csrf(request: web.Request, handler: Handler) -> web.StreamResponse:
    session: Optional[Session] = request["session"]
    if request.method not in ("GET", "HEAD", "POST"):
        raise web.HTTPMethodNotAllowed(request.method, ["GET", "POST"])
    if request.method == "POST":
        origin = request.headers.get("Origin")
        # Host only: behind a TLS proxy the scheme the browser used differs from ours.
        if origin and origin != "null" and urllib.parse.urlsplit(origin).netloc != request.host:
            raise web.HTTPForbidden(text="Cross-site request refused.")
    if request.path not in PUBLIC and (session is None or session.user is None):
        target = "/login?" + urllib.parse.urlencode({"next": request.path_qs if request.method == "GET" else "/",
                                                     **({"expired": "1"} if request["expired"] else {})})
        raise redirect(target)
    if request.method == "POST":
        data = await form(request)
        token = str(data.get("csrf_token", "")) or request.headers.get("X-CSRF-Token", "")
        if session is None or not token or not hmac.compare_digest(token, session.csrf):
            return render(request, "message.html", http_status=403, title="403",
                          message="このページの有効期限が切れました。ページを再読み込みしてください。 / "
                                  "This form has expired (CSRF check failed). Reload the page and try again.")
    return await handler(request)


@web.middleware
async def staff_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A StaffError from a POST becomes a message on the page it came from."""
    try:
        return await handler(request)
    except StaffError as exc:
        if request.method != "POST":
            return render(request, "message.html", http_status=400, title="Error", message=str(exc))
        problems = exc.problems if isinstance(exc, ValidationFailed) else []
        flash(request, "error", str(exc).split("\n")[0] if problems else str(exc))
        for p in problems:
            flash(request, "error", p.message)
        back = request.get("back") or "/"
        raise redirect(back) from None


# ---------------------------------------------------------------------------------------------
# Pages

async def health(request: web.Request) -> web.Response:
    return web.Response(text="ok")


async def css(request: web.Request) -> web.Response:
    return web.Response(body=(TEMPLATES / "admin.css").read_bytes(), content_type="text/css",
                        headers={"Cache-Control": "max-age=3600"})


async def login_page(request: web.Request) -> web.Response:
    session = request["session"]
    if session is not None and session.user:
        raise redirect(_safe_next(request.query.get("next", "/")))
    if session is None:
        session = request.app["sessions"].new()
        request["session"] = request["new_session"] = session
    if request.query.get("expired"):
        flash(request, "info", "セッションの有効期限が切れました。もう一度ログインしてください。 / "
                               "Your session expired. Please sign in again.")
    return render(request, "login.html", next=_safe_next(request.query.get("next", "/")))


async def login(request: web.Request) -> web.Response:
    settings = settings_of(request)
    data = await form(request)
    name = str(data.get("name", "")).strip()[:60]
    password = str(data.get("password", ""))
    ip = request.remote or "?"
    per_ip: RateLimiter = request.app["limit_ip"]
    per_user: RateLimiter = request.app["limit_user"]
    wait = max(per_ip.blocked_for(ip), per_user.blocked_for(name.lower()))
    if wait:
        minutes = int(wait // 60) + 1
        flash(request, "error", f"ログインの試行回数が多すぎます。{minutes}分後にもう一度お試しください。 / "
                                f"Too many sign-in attempts. Try again in {minutes} min.")
        return render(request, "login.html", http_status=429, next=_safe_next(str(data.get("next", "/"))))
    from bot.staff.users import Users

    ok = await blocking(Users(settings.project.users_file).verify, name, password)
    if not ok:
        per_ip.fail(ip)
        per_user.fail(name.lower())
        logger.warning("failed staff login for %r from %s", name, ip)
        flash(request, "error", "ユーザー名またはパスワードが違います。 / Wrong user name or password.")
        return render(request, "login.html", http_status=401, next=_safe_next(str(data.get("next", "/"))))
    per_user.reset(name.lower())
    old = request["session"]
    if old is not None:
        request.app["sessions"].drop(old)      # a new id after login: no session fixation
    session = request.app["sessions"].new(user=name)
    request["session"] = request["new_session"] = session
    logger.info("staff login: %s", name)
    raise redirect(_safe_next(str(data.get("next", "/"))))


async def logout(request: web.Request) -> web.Response:
    request.app["sessions"].drop(request["session"])
    request["logout"] = True
    request["session"] = None
    raise redirect("/login")


def _overview(project: Project) -> Dict[str, Any]:
    from bot.staff.store import pending_drafts

    store = Store(project)
    content = store.content()
    raw = rules.raw_answers(project.root)
    examples = rules.nlu_examples(project.root)
    problems = rules.check_cached(project.root)
    blocking_ = rules.blocking(problems)
    drafts = pending_drafts(project.root)
    topics = []
    for t in content.topics.values():
        states = {lang: answer_state(raw.get(lang, {}).get(t.id)) for lang in ANSWER_LANGUAGES}
        n_examples = sum(len(v) for v in examples.get(f"faq_{t.id}", {}).values())
        topics.append({"id": t.id, "title_en": content.title(t.id, "en"), "title_ja": content.title(t.id, "ja"),
                       "contact": t.contact, "retired": t.retired, "states": states, "examples": n_examples,
                       "problems": sum(1 for p in blocking_ if p.where and p.where[0] == t.id)})
    return {"topics": topics, "problems": blocking_, "drafts": sum(len(v) for v in drafts.values()),
            "departments": list(content.departments)}


async def topics_page(request: web.Request) -> web.Response:
    data = await blocking(_overview, settings_of(request).project)
    return render(request, "topics.html", **data)


async def topic_page(request: web.Request) -> web.Response:
    topic = request.match_info["topic"]
    project = settings_of(request).project

    def load() -> Dict[str, Any]:
        store = Store(project)
        content = store.content()
        if topic not in content.topics:
            raise web.HTTPNotFound(text=f"unknown topic {topic}")
        raw = rules.raw_answers(project.root)
        examples = rules.nlu_examples(project.root).get(f"faq_{topic}", {})
        problems = [p for p in rules.check_cached(project.root) if p.where and p.where[0] == topic]
        answers = []
        for lang in ANSWER_LANGUAGES:
            entry = raw.get(lang, {}).get(topic) or {}
            answers.append({"lang": lang, "state": answer_state(entry or None), "title": entry.get("title", ""),
                            "text": str(entry.get("text", "")).strip()})
        langs = sorted(examples, key=lambda la: (ANSWER_LANGUAGES.index(la) if la in ANSWER_LANGUAGES else 99, la))
        return {"topic": content.topics[topic], "answers": answers,
                "examples": [(la, examples[la]) for la in langs], "problems": problems,
                "departments": content.departments, "example_langs": sorted(
                    {p.name for p in (project.data / "nlu").iterdir() if p.is_dir()} | set(ANSWER_LANGUAGES))}

    return render(request, "topic.html", **await blocking(load))


async def answer_page(request: web.Request) -> web.Response:
    topic, lang = request.match_info["topic"], request.match_info["lang"]
    if lang not in ANSWER_LANGUAGES:
        raise web.HTTPNotFound(text=f"unknown language {lang}")
    project = settings_of(request).project

    def load() -> Dict[str, Any]:
        content = Store(project).content()
        if topic not in content.topics:
            raise web.HTTPNotFound(text=f"unknown topic {topic}")
        raw = rules.raw_answers(project.root)
        entry = raw.get(lang, {}).get(topic)
        state = answer_state(entry)
        pending = entry.get("draft") if state == "approved+draft" else None
        reference = raw.get("en", {}).get(topic) or {}
        if pending:
            form_title, form_text = pending.get("title", ""), str(pending.get("text", "")).strip()
        else:
            form_title = (entry or {}).get("title", "")
            form_text = str((entry or {}).get("text", "")).strip()
        problems = [p for p in rules.check_cached(project.root) if p.where[:2] == (topic, lang)]
        return {"topic": content.topics[topic], "lang": lang, "state": state, "entry": entry or {},
                "pending": pending, "reference": reference, "form_title": form_title, "form_text": form_text,
                "problems": problems, "max_title": rules.MAX_TITLE}

    return render(request, "answer.html", **await blocking(load))


async def answer_save(request: web.Request) -> web.Response:
    topic, lang = request.match_info["topic"], request.match_info["lang"]
    request["back"] = f"/topics/{topic}/{lang}"
    data = await form(request)
    mode = "approved" if data.get("mode") == "approved" else "draft"
    result = await blocking(store_of(request).edit_answer, topic, lang, str(data.get("text", "")),
                            str(data.get("title", "")), mode)
    if not result.changes:
        flash(request, "info", "変更はありません。 / Nothing changed.")
    elif mode == "approved":
        flash(request, "ok", "保存しました。住民にすぐ表示されます。 / Saved: residents see it now.")
    else:
        flash(request, "ok", "下書きを保存しました(住民には表示されません)。 / Draft saved (not shown to residents).")
    raise redirect(f"/topics/{topic}/{lang}")


async def answer_approve(request: web.Request) -> web.Response:
    topic, lang = request.match_info["topic"], request.match_info["lang"]
    request["back"] = f"/topics/{topic}/{lang}"
    await blocking(store_of(request).approve, topic, lang)
    flash(request, "ok", f"承認しました: {topic} ({LANG_NAMES.get(lang, lang)})。住民にすぐ表示されます。 / "
                         "Approved: residents see it now.")
    raise redirect(f"/topics/{topic}/{lang}")


async def translate(request: web.Request) -> web.Response:
    from bot.staff.translate import draft_translations

    topic = request.match_info["topic"]
    request["back"] = f"/topics/{topic}"
    data = await form(request)
    src = str(data.get("src", "en"))
    factory = settings_of(request).translator_factory
    translator = factory() if factory else None
    result = await blocking(draft_translations, store_of(request), topic, src, None, translator)
    flash(request, "ok", "機械翻訳の下書きを作りました。確認して承認してください。 / "
                         f"Machine-translated drafts written ({len(result.changes)} changes): review and approve each.")
    for w in result.warnings:
        flash(request, "info", w)
    raise redirect(f"/topics/{topic}")


async def add_example(request: web.Request) -> web.Response:
    topic = request.match_info["topic"]
    request["back"] = f"/topics/{topic}"
    data = await form(request)
    await blocking(store_of(request).add_example, topic, str(data.get("lang", "")), str(data.get("text", "")))
    flash(request, "ok", "例文を追加しました。「公開」で反映されます。 / "
                         "Example added: Publish to teach the assistant.")
    raise redirect(f"/topics/{topic}")


async def add_topic(request: web.Request) -> web.Response:
    request["back"] = "/"
    data = await form(request)
    topic = str(data.get("id", "")).strip()
    await blocking(store_of(request).add_topic, topic, str(data.get("contact", "")), str(data.get("scope", "")))
    flash(request, "ok", f"トピック {topic} を追加しました。回答と例文を書いてください。 / "
                         "Topic added: write its answers and examples, then publish.")
    raise redirect(f"/topics/{topic}")


async def retire_topic(request: web.Request) -> web.Response:
    topic = request.match_info["topic"]
    request["back"] = f"/topics/{topic}"
    data = await form(request)
    if data.get("confirm") != "yes":
        raise StaffError("チェックボックスで確認してください。 / Tick the box to confirm.")
    await blocking(store_of(request).retire_topic, topic)
    flash(request, "ok", f"{topic} の回答を停止しました。「公開」で反映されます。 / Topic retired: Publish to apply.")
    raise redirect("/")


def _directory(project: Project) -> Dict[str, Any]:
    content = Store(project).content()
    rows = []
    for key, d in content.departments.items():
        rows.append({"key": key, "name_ja": d.get("name_ja", ""), "name_en": d.get("name_en", ""),
                     "phone": d.get("phone") or "", "offices": bool(d.get("offices")),
                     "hours": rules.format_hours(d.get("schedule")), "holidays": d.get("holidays", "unknown")})
    return {"rows": rows, "facts_phones": sorted(set(rules.facts_numbers(project.root).values()))}


async def directory_page(request: web.Request) -> web.Response:
    return render(request, "directory.html", **await blocking(_directory, settings_of(request).project))


async def directory_save(request: web.Request) -> web.Response:
    dept = request.match_info["dept"]
    request["back"] = "/directory"
    data = await form(request)
    store = store_of(request)
    changes = []
    phone = str(data.get("phone", "")).strip()
    if phone:
        changes += (await blocking(store.set_phone, dept, phone)).changes
    holidays = str(data.get("holidays", "")) or None
    changes += (await blocking(store.set_hours, dept, str(data.get("hours", "")), holidays)).changes
    flash(request, "ok" if changes else "info",
          f"{dept}: 保存しました。 / Saved." if changes else f"{dept}: 変更はありません。 / Nothing changed.")
    raise redirect("/directory")


def _uploads(project: Project) -> Path:
    path = project.ensure_state() / "imports"
    path.mkdir(exist_ok=True)
    cutoff = time.time() - 86400
    for old in path.glob("*.xlsx"):
        if old.stat().st_mtime < cutoff:
            old.unlink(missing_ok=True)
    return path


async def import_page(request: web.Request) -> web.Response:
    return render(request, "import.html", result=None, token="")


async def import_upload(request: web.Request) -> web.Response:
    from bot.staff.sheet import import_sheet

    request["back"] = "/import"
    data = await form(request)
    upload = data.get("file")
    if not isinstance(upload, web.FileField) or not upload.filename:
        raise StaffError("ファイルを選んでください。 / Choose an .xlsx file exported from this page.")
    if not upload.filename.lower().endswith(".xlsx"):
        raise StaffError("Excel(.xlsx)ファイルだけ取り込めます。 / Only .xlsx workbooks can be imported here.")
    token = secrets.token_hex(16)
    path = _uploads(settings_of(request).project) / f"{token}.xlsx"
    path.write_bytes(upload.file.read())
    result = await blocking(import_sheet, store_of(request), path, False)
    return render(request, "import.html", result=result, token=token if result.ok and result.changes else "",
                  filename=upload.filename)


async def import_apply(request: web.Request) -> web.Response:
    from bot.staff.sheet import import_sheet

    request["back"] = "/import"
    data = await form(request)
    token = str(data.get("token", ""))
    if not re.fullmatch(r"[0-9a-f]{32}", token):
        raise StaffError("取り込みの確認が見つかりません。もう一度アップロードしてください。 / Upload the file again.")
    path = _uploads(settings_of(request).project) / f"{token}.xlsx"
    if not path.exists():
        raise StaffError("取り込みの確認が見つかりません。もう一度アップロードしてください。 / Upload the file again.")
    result = await blocking(import_sheet, store_of(request), path, True)
    path.unlink(missing_ok=True)
    if not result.ok:
        return render(request, "import.html", result=result, token="", filename="")
    flash(request, "ok", f"{len(result.changes)}件の変更を反映しました。 / {len(result.changes)} change(s) applied.")
    if any(c.area in ("examples", "topics") for c in result.changes):
        flash(request, "info", "例文・トピックの変更は「公開」で反映されます。 / "
                               "Publish to teach the assistant the new examples.")
    raise redirect("/import")


async def export_xlsx(request: web.Request) -> web.Response:
    from bot.staff.sheet import export

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "minato-faq.xlsx"
        await blocking(export, store_of(request), path, "xlsx")
        body = path.read_bytes()
    stamp = dt.datetime.now(JST).strftime("%Y%m%d-%H%M")
    return web.Response(body=body, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        headers={"Content-Disposition": f'attachment; filename="minato-faq-{stamp}.xlsx"'})


def _days(request: web.Request) -> float:
    try:
        return max(1.0, min(3650.0, float(request.query.get("days", "30"))))
    except ValueError:
        return 30.0


async def unanswered_page(request: web.Request) -> web.Response:
    from bot.staff import tracker

    settings = settings_of(request)
    days = _days(request)
    error = ""
    groups: List[Any] = []
    try:
        groups = await blocking(tracker.unanswered, settings.project.tracker_db, days, settings.embedder)
    except StaffError as exc:
        error = str(exc)
    content = await blocking(Store(settings.project).content)
    topics = [(t.id, content.title(t.id, "ja"), content.title(t.id, "en")) for t in content.active_topics]
    return render(request, "unanswered.html", groups=groups, days=int(days), error=error, topics=topics,
                  departments=list(content.departments))


async def promote(request: web.Request) -> web.Response:
    from bot.staff.pii import mask

    request["back"] = "/unanswered"
    data = await form(request)
    question = " ".join(mask(str(data.get("question", ""))).split())
    lang = str(data.get("lang", ""))
    if lang in ("", "unknown"):
        from bot.staff.cli import detect_language

        lang = await blocking(detect_language, question) or ""
    if not lang:
        raise StaffError("質問の言語がわかりません。 / Cannot tell the question's language.")
    store = store_of(request)
    new_topic = str(data.get("new_topic", "")).strip()
    if new_topic:
        await blocking(store.add_topic, new_topic, str(data.get("contact", "")))
        topic = new_topic
    else:
        topic = str(data.get("topic", ""))
    await blocking(store.add_example, topic, lang, question)
    flash(request, "ok", f"「{question}」を {topic} の例文に追加しました。「公開」で反映されます。 / "
                         f"Added as an example of {topic}: Publish to teach the assistant.")
    raise redirect(f"/topics/{topic}" if new_topic else "/unanswered")


async def stats_page(request: web.Request) -> web.Response:
    from bot.staff import tracker

    days = _days(request)
    try:
        s = await blocking(tracker.stats, settings_of(request).project.tracker_db, days)
        error = ""
    except StaffError as exc:
        s, error = None, str(exc)
    return render(request, "stats.html", s=s, days=int(days), error=error)


async def audit_page(request: web.Request) -> web.Response:
    entries = await blocking(Store(settings_of(request).project).audit_entries, 200)
    return render(request, "audit.html", entries=entries)


async def publish_page(request: web.Request) -> web.Response:
    from bot.staff.publish import STEPS, load_status

    status = await blocking(load_status, settings_of(request).project)
    task = request.app["jobs"].get("publish")
    running = status.state == "running" or (task is not None and not task.done())
    return render(request, "publish.html", status=status, running=running, steps=STEPS)


async def publish_start(request: web.Request) -> web.Response:
    from bot.staff.publish import publish

    request["back"] = "/publish"
    task = request.app["jobs"].get("publish")
    if task is not None and not task.done():
        raise StaffError("公開処理を実行中です。 / A publish is already running.")
    settings = settings_of(request)
    publisher = settings.publisher or publish
    user = request["session"].user
    loop = asyncio.get_running_loop()
    request.app["jobs"]["publish"] = loop.run_in_executor(None, lambda: publisher(settings.project, user))
    flash(request, "info", "公開を開始しました。このページは自動で更新されます。 / "
                           "Publishing started; this page refreshes by itself.")
    raise redirect("/publish")


# ---------------------------------------------------------------------------------------------

def create_app(settings: Optional[Settings] = None) -> web.Application:
    settings = settings or Settings.from_env()
    app = web.Application(middlewares=[security_headers, sessions, staff_errors, auth_and_csrf],
                          client_max_size=10 * 1024 * 1024)
    app["settings"] = settings
    app["sessions"] = Sessions(settings)
    app["limit_ip"] = RateLimiter(*settings.login_limit_per_ip, settings.clock)
    app["limit_user"] = RateLimiter(*settings.login_limit_per_user, settings.clock)
    app["jinja"] = _env()
    app["jobs"] = {}   # background work (the publish run), by name
    t, lang = "{topic:" + TOPIC_RE + "}", "{lang:" + LANG_RE + "}"
    app.add_routes([
        web.get("/health", health),
        web.get("/static/admin.css", css),
        web.get("/favicon.ico", lambda request: web.Response(status=204)),
        web.get("/login", login_page),
        web.post("/login", login),
        web.post("/logout", logout),
        web.get("/", topics_page),
        web.post("/topics/new", add_topic),
        web.get(f"/topics/{t}", topic_page),
        web.post(f"/topics/{t}/translate", translate),
        web.post(f"/topics/{t}/examples", add_example),
        web.post(f"/topics/{t}/retire", retire_topic),
        web.get(f"/topics/{t}/{lang}", answer_page),
        web.post(f"/topics/{t}/{lang}", answer_save),
        web.post(f"/topics/{t}/{lang}/approve", answer_approve),
        web.get("/directory", directory_page),
        web.post("/directory/{dept:[a-z][a-z0-9_]{0,39}}", directory_save),
        web.get("/import", import_page),
        web.post("/import", import_upload),
        web.post("/import/apply", import_apply),
        web.get("/export.xlsx", export_xlsx),
        web.get("/unanswered", unanswered_page),
        web.post("/promote", promote),
        web.get("/stats", stats_page),
        web.get("/audit", audit_page),
        web.get("/publish", publish_page),
        web.post("/publish", publish_start),
    ])
    return app


def command(env: Dict[str, str]) -> List[str]:
    """The admin page's command line for bot/run.py (port and paths come from ``env``)."""
    return [sys.executable, "-m", "bot.staff.web"]


def health_url(env: Dict[str, str]) -> str:
    """Where bot/run.py checks that the admin page is up."""
    host = env.get("ADMIN_HOST") or "127.0.0.1"
    host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    return f"http://{host}:{env.get('ADMIN_PORT') or '5056'}/health"


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="The Minato FAQ admin page for ward staff.")
    parser.add_argument("--host", default=os.environ.get("ADMIN_HOST") or "127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("ADMIN_PORT") or 5056))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings.from_env()
    if args.host not in ("127.0.0.1", "localhost", "::1") and settings.secure_cookies is not True:
        logger.warning("the admin page listens on %s: put it behind HTTPS and set ADMIN_SECURE_COOKIES=1", args.host)
    from bot.staff.users import Users

    if not Users(settings.project.users_file).names():
        logger.warning("no staff users yet: create one with `python -m bot.staff add-user NAME`")
    app = create_app(settings)
    print(f"✓ Admin page: http://{'localhost' if args.host in ('127.0.0.1', '::1') else args.host}:{args.port}/",
          flush=True)
    web.run_app(app, host=args.host, port=args.port, print=None, access_log=None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
