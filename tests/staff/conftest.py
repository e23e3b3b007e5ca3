"""Fixtures for the staff tools' tests.

Every test works on a COPY of the content (``project``: data/ and the Rasa files copied into
tmp_path, MINATO_PROJECT_DIR / MINATO_DATA_DIR / STAFF_STATE_DIR / TRACKER_DB pointing at it): the
repository's own data is never touched. googletrans is never called: ``FakeTranslator`` stands in,
and any attempt to build the real one fails the test.
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
import time
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence

import pytest

from bot.staff.project import Project

REPO = Path(__file__).resolve().parents[2]
RASA_FILES = ("domain.yml", "config.yml", "credentials.yml", "endpoints.yml")
ARTIFACTS = REPO / "tests" / "artifacts"


def copy_project(dest: Path, link_code: bool = False) -> Path:
    """data/ and the Rasa files, copied; with ``link_code`` also bot/ (symlinked) so that the
    training inputs' hash equals the repository's."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copytree(REPO / "data", dest / "data")
    for name in RASA_FILES:
        shutil.copy2(REPO / name, dest / name)
    if link_code:
        (dest / "bot").symlink_to(REPO / "bot", target_is_directory=True)
    return dest


def tree_digest(root: Path) -> str:
    """A hash of every content file (to prove that nothing was written)."""
    h = hashlib.sha256()
    for path in sorted([*(root / "data").rglob("*"), root / "domain.yml"]):
        if path.is_file():
            h.update(str(path.relative_to(root)).encode())
            h.update(path.read_bytes())
    return h.hexdigest()


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    root = copy_project(tmp_path / "project")
    monkeypatch.setenv("MINATO_PROJECT_DIR", str(root))
    monkeypatch.setenv("MINATO_DATA_DIR", str(root / "data"))
    monkeypatch.setenv("STAFF_STATE_DIR", str(root / ".state"))
    monkeypatch.setenv("TRACKER_DB", str(tmp_path / "tracker.db"))
    monkeypatch.setenv("STAFF_USER", "test-staff")
    monkeypatch.setenv("RASA_URL", "http://127.0.0.1:9")   # nothing listens there
    return Project.from_env()


@pytest.fixture
def store(project: Project):
    from bot.staff.store import Store

    return Store(project, user="test-staff")


@pytest.fixture(autouse=True)
def never_googletrans(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests must never reach Google Translate."""
    import bot.staff.translate as translate

    class Forbidden:
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            raise AssertionError("a test tried to use googletrans: inject a FakeTranslator")

    monkeypatch.setattr(translate, "GoogleTranslator", Forbidden)


class FakeTranslator:
    """Behaves like googletrans as this project uses it:

    - language codes must be googletrans codes (``ja-easy`` or ``zh`` are mapped by the caller to
      ``ja`` / ``zh-cn``; an unknown code raises ValueError("invalid destination language"));
    - offline, every call raises httpx.ConnectError("[Errno -2] Name or service not known"), as
      googletrans does when DNS fails; ``fail_after`` drops the connection after N calls;
    - ``refuse``: the service answers non-200 and googletrans (without raise_exception) hands back
      the source text unchanged.
    """

    VALID = {"en", "ja", "zh-cn", "zh-tw", "ko", "vi", "ne", "tl", "pt", "es", "fr", "th", "id"}

    def __init__(self, online: bool = True, fail_after: Optional[int] = None, refuse: bool = False) -> None:
        self.online = online
        self.fail_after = fail_after
        self.refuse = refuse
        self.calls: List[tuple] = []

    def translate(self, texts: Sequence[str], src: str, dest: str) -> List[str]:
        import httpx

        if dest not in self.VALID:
            raise ValueError("invalid destination language")
        if src not in self.VALID:
            raise ValueError("invalid source language")
        if not self.online or (self.fail_after is not None and len(self.calls) >= self.fail_after):
            raise httpx.ConnectError("[Errno -2] Name or service not known")
        self.calls.append((tuple(texts), src, dest))
        if self.refuse:
            return list(texts)
        return [f"[{dest}] {t}"[:18] if i == 0 else f"[{dest}] {t}" for i, t in enumerate(texts)]


@pytest.fixture
def fake_translator() -> FakeTranslator:
    return FakeTranslator()


# ---------------------------------------------------------------------------------------------
# A small tracker store, written with Rasa's own SQLTrackerStore

def user_event(text: str, intent: str, confidence: float = 0.9, lang: Optional[str] = None,
               ranking: Iterable[tuple] = (), ts: float = 0.0, source: str = "model") -> Any:
    from rasa.shared.core.events import UserUttered

    entities = [{"entity": "detected_language", "value": lang or "unknown", "start": 0, "end": 0,
                 "confidence": 0.9, "source": source if lang else "unknown"}]
    parse = {"text": text, "intent": {"name": intent, "confidence": confidence}, "entities": entities,
             "intent_ranking": [{"name": n, "confidence": c} for n, c in ranking] or
             [{"name": intent, "confidence": confidence}]}
    return UserUttered(text, intent=parse["intent"], entities=entities, parse_data=parse, timestamp=ts)


def write_tracker_db(path: Path, conversations: Dict[str, List[Any]]) -> Path:
    """Saves conversations (lists of Rasa events) with SQLTrackerStore (table ``events``)."""
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker

    domain = Domain.from_path(str(REPO / "domain.yml"))
    store = SQLTrackerStore(domain, dialect="sqlite", db=str(path))

    async def save() -> None:
        for sender, events in conversations.items():
            tracker = DialogueStateTracker.from_events(sender, events, domain.slots)
            await store.save(tracker)

    asyncio.run(save())
    return path


def slot(name: str, value: str, ts: float) -> Any:
    from rasa.shared.core.events import SlotSet

    return SlotSet(name, value, timestamp=ts)


def bot_action(name: str, ts: float) -> Any:
    from rasa.shared.core.events import ActionExecuted

    return ActionExecuted(name, timestamp=ts)


NOW = time.time()
DAY = 86400.0


@pytest.fixture
def tracker_db(project: Project) -> Path:
    """Conversations of the last days: questions not understood (paraphrases in two languages),
    out of scope, an answer marked not helpful, one marked helpful, buttons, personal data."""
    t = NOW - 2 * DAY
    ranking_parking = [("nlu_fallback", 0.3), ("faq_city_hall_hours", 0.2), ("faq_regional_offices", 0.1)]
    conversations = {
        "resident-a": [
            user_event("Where can I park my car at the ward office?", "nlu_fallback", 0.3, "en", ranking_parking, t),
            bot_action("action_fallback_candidates", t + 1), slot("language", "en", t + 1),
            user_event("is there parking for cars at city hall", "nlu_fallback", 0.28, "en", ranking_parking, t + 60),
            bot_action("action_fallback_candidates", t + 61),
        ],
        "resident-b": [
            user_event("区役所に車を停める駐車場はありますか", "nlu_fallback", 0.25, "ja", ranking_parking, t + 100),
            bot_action("action_fallback_candidates", t + 101), slot("language", "ja", t + 101),
            user_event("my phone is 090-1234-5678 and my zairyu card AB12345678CD, please call me about my visa",
                       "nlu_fallback", 0.2, "en", [("nlu_fallback", 0.2), ("faq_residence_status", 0.15)], t + 200),
            bot_action("action_fallback_candidates", t + 201), slot("language", "en", t + 201),
        ],
        "resident-c": [
            user_event("How do I join health insurance?", "faq_nhi_enrollment", 0.9, "en",
                       [("faq_nhi_enrollment", 0.9), ("faq_nhi_premium", 0.05)], t + 300),
            bot_action("action_answer_faq", t + 301), slot("language", "en", t + 301),
            slot("last_topic", "nhi_enrollment", t + 301),
            user_event("/feedback_not_helpful", "feedback_not_helpful", 1.0, None, (), t + 320),
            bot_action("action_feedback", t + 321),
            user_event("/faq_nhi_premium", "faq_nhi_premium", 1.0, None, (), t + 330),
            bot_action("action_answer_faq", t + 331),
        ],
        "resident-d": [
            user_event("Bạn có thể giúp tôi đăng ký địa chỉ không?", "faq_moving_in", 0.8, "vi",
                       [("faq_moving_in", 0.8)], NOW - DAY),
            bot_action("action_answer_faq", NOW - DAY + 1), slot("language", "vi", NOW - DAY + 1),
            user_event("/feedback_helpful", "feedback_helpful", 1.0, None, (), NOW - DAY + 20),
            bot_action("action_feedback", NOW - DAY + 21),
            user_event("what's the weather tomorrow", "out_of_scope", 0.9, "en", [("out_of_scope", 0.9)],
                       NOW - DAY + 40),
            bot_action("action_small_talk", NOW - DAY + 41),
        ],
        "resident-old": [   # outside --days 30
            user_event("an old question nobody understood", "nlu_fallback", 0.2, "en", [], NOW - 60 * DAY),
        ],
    }
    return write_tracker_db(project.tracker_db, conversations)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    gitignore = ARTIFACTS / ".gitignore"
    if not gitignore.exists():
        gitignore.write_text("# Screenshots from the browser tests: never commit.\n*\n")
    return ARTIFACTS


def audit_lines(project: Project) -> List[Dict[str, Any]]:
    if not project.audit_log.exists():
        return []
    return [json.loads(line) for line in project.audit_log.read_text(encoding="utf-8").splitlines()]
