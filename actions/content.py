"""The assistant's content, loaded from data/: catalog, answers, UI strings and the directory.

One loader for the action server and the staff tools. Content is read lazily, on first use, and
re-read when a file under data/ changes (staff edits are served without restarting anything).
"""
from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import yaml

logger = logging.getLogger(__name__)

REPO_DIR = Path(__file__).resolve().parent.parent
# Answer languages, in the order the language picker lists them.
ANSWER_LANGUAGES: Tuple[str, ...] = ("en", "ja", "ja-easy", "zh", "ko", "vi", "ne", "tl", "pt", "es")
DEFAULT_LANGUAGE = "en"


def data_dir() -> Path:
    """Where the content lives (MINATO_DATA_DIR, default: the repository's data/)."""
    return Path(os.environ.get("MINATO_DATA_DIR") or REPO_DIR / "data")


@dataclass(frozen=True)
class Topic:
    """One FAQ topic of the catalog."""

    id: str
    contact: str
    scope: str = ""
    external: bool = False
    related: Tuple[str, ...] = ()
    retired: bool = False


@dataclass(frozen=True)
class Answer:
    """One topic's answer in one language."""

    topic: str
    lang: str
    title: str
    text: str
    status: str = "approved"

    @property
    def approved(self) -> bool:
        return self.status == "approved"


@dataclass
class Content:
    """Everything residents see, as loaded from data/."""

    topics: Dict[str, Topic]
    answers: Dict[str, Dict[str, Answer]]          # lang -> topic id -> answer
    i18n: Dict[str, Dict[str, Any]]                # lang -> strings
    departments: Dict[str, Dict[str, Any]]
    offices: Dict[str, Dict[str, Any]]
    regional_offices: List[str]
    places: Dict[str, Dict[str, Any]]
    aliases: Dict[str, List[str]] = field(default_factory=dict)

    @property
    def active_topics(self) -> List[Topic]:
        """Topics residents can be answered about (not retired)."""
        return [t for t in self.topics.values() if not t.retired]

    def answer(self, topic_id: str, lang: str) -> Optional[Answer]:
        """The approved answer in ``lang``, or None (drafts are never served)."""
        ans = self.answers.get(lang, {}).get(topic_id)
        return ans if ans is not None and ans.approved else None

    def text(self, lang: str, key: str, **values: Any) -> str:
        """A UI string ("ui.greet", "card.phone"...) in ``lang``, falling back to English."""
        for candidate in (lang, DEFAULT_LANGUAGE):
            node: Any = self.i18n.get(candidate, {})
            for part in key.split("."):
                node = node.get(part) if isinstance(node, dict) else None
            if isinstance(node, str):
                try:
                    return node.format(**values) if values else node
                except (KeyError, IndexError, ValueError):
                    logger.warning("bad placeholders in %s:%s", candidate, key)
                    return node
        return key

    def language_name(self, lang: str) -> str:
        """The language's name in its own script ("Tiếng Việt")."""
        return str(self.i18n.get(lang, {}).get("language_name") or lang)

    def title(self, topic_id: str, lang: str) -> str:
        """The topic's short title in ``lang`` (English if missing)."""
        for candidate in (lang, DEFAULT_LANGUAGE):
            ans = self.answers.get(candidate, {}).get(topic_id)
            if ans is not None and ans.title:
                return ans.title
        return topic_id.replace("_", " ")


_Loader_ = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available: ~10x faster


def _read_yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as f:
        return yaml.load(f, Loader=_Loader_) or {}


def load_content(root: Optional[Path] = None) -> Content:
    """Reads all content files under ``root`` (default: data_dir())."""
    root = root or data_dir()
    catalog = _read_yaml(root / "catalog.yml")
    topics = {}
    for entry in catalog.get("topics", []):
        topics[entry["id"]] = Topic(
            id=entry["id"],
            contact=entry["contact"],
            scope=entry.get("scope", ""),
            external=bool(entry.get("external", False)),
            related=tuple(entry.get("related") or ()),
            retired=bool(entry.get("retired", False)),
        )
    answers: Dict[str, Dict[str, Answer]] = {}
    for path in sorted((root / "answers").glob("*.yml")):
        doc = _read_yaml(path)
        lang = doc.get("language") or path.stem
        answers[lang] = {
            tid: Answer(tid, lang, str(a.get("title", "")), str(a.get("text", "")).strip(),
                        str(a.get("status", "approved")))
            for tid, a in (doc.get("answers") or {}).items()
        }
    i18n = {}
    for path in sorted((root / "i18n").glob("*.yml")):
        doc = _read_yaml(path)
        i18n[doc.get("language") or path.stem] = doc
    directory = _read_yaml(root / "directory" / "departments.yml")
    offices = _read_yaml(root / "directory" / "offices.yml")
    aliases_path = root / "directory" / "aliases.yml"
    aliases = _read_yaml(aliases_path).get("aliases", {}) if aliases_path.exists() else {}
    return Content(
        topics=topics,
        answers=answers,
        i18n=i18n,
        departments=directory.get("departments", {}),
        offices=offices.get("offices", {}),
        regional_offices=list(offices.get("regional_offices", [])),
        places=directory.get("places", {}),
        aliases=aliases,
    )


class _Loader:
    """Caches the content and re-reads it when any file under data/ changes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._content: Optional[Content] = None
        self._stamp: Optional[Tuple[str, float, int]] = None

    @staticmethod
    def _fingerprint(root: Path) -> Tuple[str, float, int]:
        latest, count = 0.0, 0
        for sub in ("catalog.yml", "answers", "i18n", "directory"):
            p = root / sub
            paths = [p] if p.is_file() else list(p.glob("*.yml")) if p.is_dir() else []
            for f in paths:
                latest = max(latest, f.stat().st_mtime)
                count += 1
        return str(root), latest, count

    def get(self) -> Content:
        root = data_dir()
        stamp = self._fingerprint(root)
        with self._lock:
            if self._content is None or stamp != self._stamp:
                self._content = load_content(root)
                self._stamp = stamp
                logger.info("content loaded from %s", root)
            return self._content


_LOADER = _Loader()


def get_content() -> Content:
    """The current content (cached; reloaded after edits)."""
    return _LOADER.get()
