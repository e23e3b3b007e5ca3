"""The one way staff edits reach the content files.

Every edit (command line, spreadsheet import, admin page) is a transaction:

1. take the staff lock (one writer at a time: a web edit and a command-line edit never interleave);
2. load the files it touches: data/catalog.yml, data/answers/<lang>.yml and data/directory/*.yml
   with ruamel.yaml (comments, order and quoting kept), data/nlu/<lang>/*.yml with Rasa's own
   ``load_data`` and ``RasaYAMLWriter`` (docs: /work/shared/STYLE.md point 2);
3. change them in memory and write the result into a staged copy of data/, together with
   domain.yml and data/rules/faq.yml re-derived from the catalog (``bot.content.render``);
4. check the staged copy with the rules of tests/test_content.py (bot/staff/rules.py): an edit
   that adds an error, or makes a finished topic incomplete, is refused and nothing is written;
5. replace the real files (each atomically) and append one line to the audit log
   (.state/audit.log: who, when, what, before and after).
"""
from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import getpass
import io
import json
import os
import re
import shutil
import tempfile
import unicodedata
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Set, Tuple

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import CommentMark
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, LiteralScalarString
from ruamel.yaml.tokens import CommentToken

from actions.content import ANSWER_LANGUAGES, Content, load_content
from bot.staff import rules
from bot.staff.project import Project, StaffError

JST = dt.timezone(dt.timedelta(hours=9))
TOPIC_ID = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
MAX_EXAMPLE = 300


class ValidationFailed(StaffError):
    """The edit would break a content rule: nothing was written."""

    def __init__(self, problems: Sequence[rules.Problem]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  - {p.message}" for p in self.problems[:20])
        super().__init__(f"Not saved: the change would break {len(self.problems)} content rule(s):\n{lines}")


@dataclass
class Change:
    """One change, as shown in previews and written to the audit log."""

    area: str                     # topics | answers | examples | departments
    target: str                   # "moving_in", "moving_in/vi", "nhi_pension"
    op: str                       # added | changed | removed
    what: str = ""                # field: text, title, status, phone, hours, contact ...
    before: Any = None
    after: Any = None

    def line(self) -> str:
        sign = {"added": "+", "removed": "-", "changed": "~"}.get(self.op, "~")
        if self.area == "examples":
            return f"{sign} {self.target}: {self.after if self.op == 'added' else self.before!r}"
        if self.op == "changed":
            return f"{sign} {self.target} {self.what}: {_short(self.before)} → {_short(self.after)}"
        return f"{sign} {self.target}" + (f" {self.what}" if self.what else "") + \
            (f": {_short(self.after)}" if self.op == "added" and self.after not in (None, "") else "")


def _short(value: Any, limit: int = 70) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = text.replace("\n", " ⏎ ")
    return repr(text[:limit] + "…") if len(text) > limit else repr(text)


def clean_text(text: str) -> str:
    """An answer as typed in a form or a cell: NFC, Unix newlines, no trailing spaces."""
    text = unicodedata.normalize("NFC", (text or "").replace("\r\n", "\n").replace("\r", "\n"))
    return "\n".join(line.rstrip() for line in text.strip().split("\n"))


def clean_line(text: str) -> str:
    """A title or an example question: one line, single spaces."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", text or "")).strip()


def current_user() -> str:
    """Who is editing from the command line (STAFF_USER, else the login name)."""
    try:
        name = os.environ.get("STAFF_USER") or getpass.getuser()
    except Exception:
        name = "unknown"
    return f"{name} (cli)"


# ---------------------------------------------------------------------------------------------
# YAML with comments kept.

def _yaml() -> YAML:
    y = YAML()
    y.preserve_quotes = True
    y.width = 4096
    y.indent(mapping=2, sequence=4, offset=2)
    y.representer.add_representer(
        type(None), lambda r, d: r.represent_scalar("tag:yaml.org,2002:null", "null"))
    return y


def _dumps(doc: Any) -> str:
    out = io.StringIO()
    _yaml().dump(doc, out)
    return out.getvalue()


def _deepest_last(m: Any) -> Tuple[Optional[CommentedMap], Any]:
    while isinstance(m, CommentedMap) and len(m):
        key = list(m.keys())[-1]
        value = m[key]
        if isinstance(value, CommentedMap) and len(value):
            m = value
            continue
        return m, key
    return None, None


def _take_blank(m: Any) -> bool:
    """Removes the blank line that follows a mapping (kept as a comment on its last key)."""
    parent, key = _deepest_last(m)
    if parent is None:
        return False
    item = parent.ca.items.get(key)
    if item and len(item) > 2 and item[2] is not None and not str(item[2].value).strip():
        item[2] = None
        return True
    return False


def _put_blank(m: Any) -> None:
    """Puts a blank line after a mapping (entries in the answer files are separated so)."""
    parent, key = _deepest_last(m)
    if parent is None:
        return
    value = "\n" if isinstance(parent[key], LiteralScalarString) else "\n\n"
    parent.ca.items.setdefault(key, [None, None, None, None])[2] = CommentToken(value, CommentMark(0), None)


def _flow_seq(items: Sequence[str]) -> CommentedSeq:
    seq = CommentedSeq(list(items))
    seq.fa.set_flow_style()
    return seq


def _flow_map(items: Dict[str, str]) -> CommentedMap:
    m = CommentedMap()
    for k, v in items.items():
        m[k] = DoubleQuotedScalarString(v)
    m.fa.set_flow_style()
    return m


# ---------------------------------------------------------------------------------------------

class Transaction:
    """The files of one edit, loaded lazily and written together on commit."""

    def __init__(self, store: Store, action: str, target: str) -> None:
        self.store = store
        self.root = store.project.root
        self.action = action
        self.target = target
        self.changes: List[Change] = []
        self.warnings: List[str] = []
        self._yaml_docs: Dict[Path, Any] = {}
        self._nlu: Dict[Path, Any] = {}
        self._content: Optional[Content] = None
        self._examples: Optional[Dict[str, Dict[str, List[str]]]] = None
        catalog = rules.read_yaml(self.root / "data" / "catalog.yml")
        self.baseline_topics = {t["id"] for t in catalog.get("topics") or []}

    # --- reading -------------------------------------------------------------------------------
    @property
    def content(self) -> Content:
        """The content as it was when the transaction started."""
        if self._content is None:
            self._content = load_content(self.root / "data")
        return self._content

    def doc(self, rel: str) -> Any:
        """A ruamel round-trip document (data/catalog.yml, data/answers/vi.yml ...)."""
        path = self.root / rel
        if path not in self._yaml_docs:
            if not path.exists():
                raise StaffError(f"{rel} does not exist")
            self._yaml_docs[path] = _yaml().load(path.read_text(encoding="utf-8"))
        return self._yaml_docs[path]

    @property
    def catalog(self) -> Any:
        return self.doc("data/catalog.yml")

    def catalog_entry(self, topic_id: str) -> Any:
        for entry in self.catalog["topics"]:
            if entry.get("id") == topic_id:
                return entry
        raise StaffError(f"unknown topic {topic_id!r}: see the topics list")

    def answers_doc(self, lang: str) -> Any:
        if lang not in ANSWER_LANGUAGES:
            raise StaffError(f"unknown language {lang!r}: use one of {', '.join(ANSWER_LANGUAGES)}")
        return self.doc(f"data/answers/{lang}.yml")

    @property
    def departments(self) -> Any:
        return self.doc("data/directory/departments.yml")["departments"]

    def nlu(self, lang: str, name: str = "faq") -> List[Any]:
        """The training examples (Rasa Message objects) of data/nlu/<lang>/<name>.yml, editable."""
        from rasa.shared.nlu.training_data.loading import load_data
        from rasa.shared.nlu.training_data.training_data import TrainingData

        if not re.fullmatch(r"[a-z]{2}(-[A-Za-z]+)?", lang or ""):  # ja-easy, zh-Hant
            raise StaffError(f"unknown language {lang!r}")
        path = self.root / "data" / "nlu" / lang / f"{name}.yml"
        if path not in self._nlu:
            data = load_data(str(path)) if path.exists() else TrainingData()
            self._nlu[path] = (data, list(data.training_examples))
        return self._nlu[path][1]

    def examples(self) -> Dict[str, Dict[str, List[str]]]:
        """intent -> lang -> examples, as on disk when the transaction started."""
        if self._examples is None:
            self._examples = rules.nlu_examples(self.root)
        return self._examples

    def record(self, area: str, target: str, op: str, what: str = "", before: Any = None,
               after: Any = None) -> None:
        self.changes.append(Change(area, target, op, what, before, after))

    # --- writing -------------------------------------------------------------------------------
    def _rendered(self) -> Dict[Path, str]:
        """Every changed file's new text."""
        from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader, RasaYAMLWriter
        from rasa.shared.nlu.training_data.training_data import TrainingData

        out: Dict[Path, str] = {}
        for path, doc in self._yaml_docs.items():
            text = _dumps(doc)
            if text != path.read_text(encoding="utf-8"):
                out[path] = text
        for path, (data, messages) in self._nlu.items():
            if list(messages) == list(data.training_examples):
                continue
            new = TrainingData(training_examples=list(messages), entity_synonyms=data.entity_synonyms,
                               regex_features=data.regex_features, lookup_tables=data.lookup_tables)
            text = RasaYAMLWriter().dumps(new)
            # Read it back: every example must come out exactly as written (no entity markup).
            reread = RasaYAMLReader().reads(text)
            want = [(m.get("intent"), m.get("text")) for m in messages]
            got = [(m.get("intent"), m.get("text")) for m in reread.training_examples]
            if sorted(want) != sorted(got):
                bad = sorted(set(want) - set(got))
                raise StaffError(f"an example cannot be stored as written (brackets or markup?): {bad[:3]}")
            out[path] = text
        return out

    def commit(self, dry_run: bool = False) -> List[rules.Problem]:
        """Checks the result on a staged copy, then writes it (unless dry_run). Returns warnings."""
        from bot.content import render

        files = self._rendered()
        with tempfile.TemporaryDirectory(prefix="minato-stage-") as tmp:
            stage = Path(tmp)
            shutil.copytree(self.root / "data", stage / "data", symlinks=True)
            shutil.copy2(self.root / "domain.yml", stage / "domain.yml")
            for path, text in files.items():
                dest = stage / path.relative_to(self.root)
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_text(text, encoding="utf-8")
            domain, faq_rules = render(stage)
            for rel, text in (("domain.yml", domain), ("data/rules/faq.yml", faq_rules)):
                current = (self.root / rel).read_text(encoding="utf-8") if (self.root / rel).exists() else ""
                if text != current:
                    files[self.root / rel] = text
                    (stage / rel).write_text(text, encoding="utf-8")
            before = rules.check_cached(self.root)
            staged = load_content(stage / "data")
            after = rules.check(stage, staged)
        new_topics = set(staged.topics) - self.baseline_topics
        introduced = rules.new_problems(before, after, new_topics)
        if introduced:
            raise ValidationFailed(introduced)
        warnings = [p for p in after if p.kind == "warning"]
        if dry_run or not files:
            return warnings
        # Data files first, the derived domain.yml and rules last.
        order = sorted(files, key=lambda p: (p.name == "domain.yml" or p.parent.name == "rules", str(p)))
        for path in order:
            _atomic_write(path, files[path])
        self.store.audit(self.action, self.target, self.changes)
        return warnings


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@dataclass
class Result:
    """What an edit did: its changes and any warnings about the content."""

    changes: List[Change] = field(default_factory=list)
    warnings: List[str] = field(default_factory=list)


class Store:
    """Edits to the content, each checked, written and logged (see the module docstring)."""

    def __init__(self, project: Optional[Project] = None, user: Optional[str] = None) -> None:
        self.project = project or Project.from_env()
        self.user = user or current_user()

    def content(self) -> Content:
        return load_content(self.project.data)

    @contextlib.contextmanager
    def transaction(self, action: str, target: str, dry_run: bool = False) -> Iterator[Transaction]:
        """``with store.transaction("edit-answer", "moving_in/vi") as tx: ...``: commits on success."""
        state = self.project.ensure_state()
        with open(state / "staff.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            tx = Transaction(self, action, target)
            yield tx
            problems = tx.commit(dry_run=dry_run)
            tx.warnings.extend(p.message for p in problems)

    def _run(self, action: str, target: str, op: Any, *args: Any, dry_run: bool = False, **kwargs: Any) -> Result:
        with self.transaction(action, target, dry_run=dry_run) as tx:
            op(tx, *args, **kwargs)
        if not tx.changes:
            tx.warnings.insert(0, "nothing changed")
        return Result(tx.changes, tx.warnings)

    # --- the audit log -------------------------------------------------------------------------
    def audit(self, action: str, target: str, changes: Sequence[Change], **extra: Any) -> None:
        """Appends one JSON line: who, when, what, before/after."""
        entry = {
            "time": dt.datetime.now(JST).isoformat(timespec="seconds"),
            "user": self.user,
            "action": action,
            "target": target,
            "changes": [asdict(c) for c in changes],
            **extra,
        }
        path = self.project.ensure_state() / "audit.log"
        line = json.dumps(entry, ensure_ascii=False) + "\n"
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line.encode("utf-8"))
        finally:
            os.close(fd)

    def audit_entries(self, limit: int = 200) -> List[Dict[str, Any]]:
        """The newest audit entries first."""
        path = self.project.audit_log
        if not path.exists():
            return []
        out = []
        for line in path.read_text(encoding="utf-8").splitlines()[-limit:]:
            with contextlib.suppress(ValueError):
                out.append(json.loads(line))
        return out[::-1]

    # --- edits (each its own transaction) ------------------------------------------------------
    def edit_answer(self, topic: str, lang: str, text: str, title: Optional[str] = None,
                    mode: str = "keep") -> Result:
        return self._run("edit-answer", f"{topic}/{lang}", op_edit_answer, topic, lang, text, title, mode)

    def approve(self, topic: str, lang: str) -> Result:
        return self._run("approve", f"{topic}/{lang}", op_approve, topic, lang)

    def write_drafts(self, topic: str, drafts: Dict[str, Tuple[str, str]], source: str) -> Result:
        def op(tx: Transaction) -> None:
            for lang, (title, text) in drafts.items():
                op_edit_answer(tx, topic, lang, text, title, "draft", source=source)
        return self._run("draft-translations", topic, op)

    def add_example(self, topic: str, lang: str, text: str) -> Result:
        return self._run("add-example", f"{topic}/{lang}", op_add_example, topic, lang, text)

    def remove_example(self, topic: str, lang: str, text: str) -> Result:
        return self._run("remove-example", f"{topic}/{lang}", op_remove_example, topic, lang, text)

    def add_topic(self, topic: str, contact: str, scope: str = "", related: Sequence[str] = ()) -> Result:
        return self._run("add-topic", topic, op_add_topic, topic, contact, scope, related)

    def retire_topic(self, topic: str) -> Result:
        return self._run("retire-topic", topic, op_retire_topic, topic)

    def set_phone(self, dept: str, number: str) -> Result:
        return self._run("set-phone", dept, op_set_phone, dept, number)

    def set_hours(self, dept: str, spec: str, holidays: Optional[str] = None) -> Result:
        return self._run("set-hours", dept, op_set_hours, dept, spec, holidays)


# ---------------------------------------------------------------------------------------------
# Operations on a transaction (the import applies many in one transaction).

def _check_topic(tx: Transaction, topic: str, active: bool = True) -> Any:
    entry = tx.catalog_entry(topic)
    if active and entry.get("retired"):
        raise StaffError(f"topic {topic!r} is retired")
    return entry


def answer_state(entry: Any) -> str:
    """approved | draft | approved+draft (a pending draft beside the served answer) | missing."""
    if not entry:
        return "missing"
    status = str(entry.get("status", "approved"))
    if status == "approved" and isinstance(entry.get("draft"), dict):
        return "approved+draft"
    return status


def op_edit_answer(tx: Transaction, topic: str, lang: str, text: str, title: Optional[str] = None,
                   mode: str = "keep", source: Optional[str] = None, draft_fate: str = "superseded") -> None:
    """Writes an answer. ``mode``: "approved" (served at once), "draft" (kept aside until approved:
    beside the served answer when there is one), "keep" (the entry's current status; new: draft)."""
    if mode not in ("keep", "approved", "draft"):
        raise StaffError(f"unknown mode {mode!r}")
    _check_topic(tx, topic)
    doc = tx.answers_doc(lang)
    answers = doc["answers"]
    entry = answers.get(topic)
    text = clean_text(text)
    if not text:
        raise StaffError("the answer text is empty")
    new_title = clean_line(title) if title is not None else None
    state = answer_state(entry)
    status = mode if mode != "keep" else ("approved" if state.startswith("approved") else "draft")
    target = f"{topic}/{lang}"
    if entry is None:
        if not new_title:
            raise StaffError(f"{target} is a new answer: give it a title (at most {rules.MAX_TITLE} characters)")
        last = list(answers.keys())[-1] if len(answers) else None
        if last is not None:
            _take_blank(answers[last])
            _put_blank(answers[last])
        entry = CommentedMap()
        entry["title"] = DoubleQuotedScalarString(new_title)
        entry["status"] = status
        if source:
            entry["source"] = source
        entry["text"] = LiteralScalarString(text)
        answers[topic] = entry
        tx.record("answers", target, "added", status, None, {"title": new_title, "text": text})
        return
    if status == "draft" and state.startswith("approved"):
        # Keep serving the approved answer; the draft waits beside it until someone approves it.
        old = entry.get("draft") if isinstance(entry.get("draft"), dict) else None
        had_blank = _take_blank(entry)
        draft = CommentedMap()
        draft["title"] = DoubleQuotedScalarString(new_title or str(entry.get("title", "")))
        draft["source"] = source or f"edited by {tx.store.user}"
        draft["date"] = dt.datetime.now(JST).date().isoformat()
        draft["text"] = LiteralScalarString(text)
        if old is not None:
            del entry["draft"]
        entry["draft"] = draft
        if had_blank:
            _put_blank(entry)
        tx.record("answers", target, "changed" if old else "added", "pending draft",
                  dict(old) if old else None, {"title": str(draft["title"]), "text": text})
        return
    before = {"title": str(entry.get("title", "")), "status": state, "text": str(entry.get("text", "")).strip()}
    if new_title is not None and new_title != before["title"]:
        entry["title"] = DoubleQuotedScalarString(new_title)
        tx.record("answers", target, "changed", "title", before["title"], new_title)
    if text != before["text"]:
        had_blank = _take_blank(entry) if list(entry.keys())[-1] == "text" else False
        entry["text"] = LiteralScalarString(text)
        if had_blank:
            _put_blank(entry)
        tx.record("answers", target, "changed", "text", before["text"], text)
    if status != str(entry.get("status", "approved")):
        entry["status"] = status
        tx.record("answers", target, "changed", "status", before["status"], status)
    if source and status == "draft":
        if "source" in entry:
            entry["source"] = source
        else:
            entry.insert(list(entry.keys()).index("text") if "text" in entry else len(entry), "source", source)
    if status == "approved" and "draft" in entry:
        # An approved edit supersedes a pending draft.
        had_blank = _take_blank(entry)
        old = entry["draft"]
        del entry["draft"]
        if had_blank:
            _put_blank(entry)
        tx.record("answers", target, "removed", f"pending draft ({draft_fate})", dict(old), None)
    if status == "approved" and "source" in entry:
        del entry["source"]


def op_approve(tx: Transaction, topic: str, lang: str) -> None:
    """Serves the draft of ``topic`` in ``lang`` (a pending draft replaces the approved answer)."""
    _check_topic(tx, topic)
    entry = tx.answers_doc(lang)["answers"].get(topic)
    state = answer_state(entry)
    target = f"{topic}/{lang}"
    if state == "missing":
        raise StaffError(f"{target}: there is no answer to approve")
    if state == "approved":
        raise StaffError(f"{target} is already approved (no draft waiting)")
    if state == "approved+draft":
        draft = entry["draft"]
        op_edit_answer(tx, topic, lang, str(draft.get("text", "")), str(draft.get("title", "")), "approved",
                       draft_fate="approved")
        return
    entry["status"] = "approved"
    if "source" in entry:
        del entry["source"]
    tx.record("answers", target, "changed", "status", "draft", "approved")


def op_add_example(tx: Transaction, topic: str, lang: str, text: str) -> None:
    from rasa.shared.nlu.training_data.message import Message

    _check_topic(tx, topic)
    text = clean_line(text)
    if not text:
        raise StaffError("the example is empty")
    if len(text) > MAX_EXAMPLE:
        raise StaffError(f"the example is too long ({len(text)} characters, at most {MAX_EXAMPLE})")
    if text.startswith("/"):
        raise StaffError("an example cannot start with '/' (that is how buttons send intents)")
    if text.startswith(("=", "@")):
        raise StaffError("an example cannot start with '=' or '@' (spreadsheets would read it as a formula)")
    intent = f"{rules.FAQ_PREFIX}{topic}"
    key = text.casefold()
    for other, per_lang in tx.examples().items():
        for examples in per_lang.values():
            if key in (e.casefold() for e in examples):
                if other == intent:
                    raise StaffError(f"{text!r} is already an example of {topic}")
                raise StaffError(f"{text!r} is already an example of {other.removeprefix('faq_')}: "
                                 "an example belongs to exactly one topic")
    messages = tx.nlu(lang)
    if any(m.get("intent") == intent and m.get("text", "").casefold() == key for m in messages):
        raise StaffError(f"{text!r} is already an example of {topic}")
    messages.append(Message.build(text=text, intent=intent))
    tx.record("examples", f"{topic}/{lang}", "added", "", None, text)


def op_remove_example(tx: Transaction, topic: str, lang: str, text: str) -> None:
    """Removes an example from whichever file of data/nlu/<lang>/ holds it."""
    intent = f"{rules.FAQ_PREFIX}{topic}"
    folder = tx.root / "data" / "nlu" / lang
    names = sorted(p.stem for p in folder.glob("*.yml")) if folder.is_dir() else []
    for name in ["faq", *[n for n in names if n != "faq"]]:
        if not (folder / f"{name}.yml").exists():
            continue
        messages = tx.nlu(lang, name)
        keep = [m for m in messages if not (m.get("intent") == intent and m.get("text") == text)]
        if len(keep) != len(messages):
            messages[:] = keep
            tx.record("examples", f"{topic}/{lang}", "removed", "", text, None)
            return
    raise StaffError(f"{text!r} is not an example of {topic} in {lang}")


def op_add_topic(tx: Transaction, topic: str, contact: str, scope: str = "", related: Sequence[str] = ()) -> None:
    if not TOPIC_ID.match(topic or ""):
        raise StaffError(f"{topic!r} is not a valid topic id: lower-case letters, digits and _, "
                         "starting with a letter (e.g. parking_permit)")
    if any(entry.get("id") == topic for entry in tx.catalog["topics"]):
        raise StaffError(f"topic {topic!r} already exists (ids are never reused, even when retired)")
    if contact not in tx.departments:
        raise StaffError(f"unknown department {contact!r}: use one of {', '.join(tx.departments)}")
    related = [r for r in related if r]
    unknown = [r for r in related if r not in tx.content.topics]
    if unknown:
        raise StaffError(f"unknown related topic(s): {', '.join(unknown)}")
    entry = CommentedMap()
    entry["id"] = topic
    entry["contact"] = contact
    if scope:
        entry["scope"] = clean_line(scope)
    entry["related"] = _flow_seq(related[:3])
    tx.catalog["topics"].append(entry)
    tx.record("topics", topic, "added", "contact", None, contact)


def op_update_topic(tx: Transaction, topic: str, contact: Optional[str] = None, scope: Optional[str] = None,
                    related: Optional[Sequence[str]] = None) -> None:
    entry = tx.catalog_entry(topic)
    if contact is not None and contact != entry.get("contact"):
        if contact not in tx.departments:
            raise StaffError(f"unknown department {contact!r}")
        tx.record("topics", topic, "changed", "contact", entry.get("contact"), contact)
        entry["contact"] = contact
    if scope is not None and clean_line(scope) != str(entry.get("scope", "")):
        tx.record("topics", topic, "changed", "scope", str(entry.get("scope", "")), clean_line(scope))
        entry["scope"] = clean_line(scope)
    if related is not None and list(related) != list(entry.get("related") or []):
        unknown = [r for r in related if r not in tx.content.topics]
        if unknown:
            raise StaffError(f"unknown related topic(s): {', '.join(unknown)}")
        tx.record("topics", topic, "changed", "related", list(entry.get("related") or []), list(related))
        entry["related"] = _flow_seq(list(related)[:3])


def op_retire_topic(tx: Transaction, topic: str) -> None:
    """retired: true in the catalog (the id stays); its examples leave the training data."""
    entry = tx.catalog_entry(topic)
    if entry.get("retired"):
        raise StaffError(f"topic {topic!r} is already retired")
    entry["retired"] = True
    tx.record("topics", topic, "changed", "retired", False, True)
    intent = f"{rules.FAQ_PREFIX}{topic}"
    for lang_dir in sorted((tx.root / "data" / "nlu").iterdir()):
        for path in sorted(lang_dir.glob("*.yml")):
            messages = tx.nlu(lang_dir.name, path.stem)
            gone = [m.get("text") for m in messages if m.get("intent") == intent]
            if gone:
                messages[:] = [m for m in messages if m.get("intent") != intent]
                for text in gone:
                    tx.record("examples", f"{topic}/{lang_dir.name}", "removed", "", text, None)


def op_set_phone(tx: Transaction, dept: str, number: str) -> None:
    if dept not in tx.departments:
        raise StaffError(f"unknown department {dept!r}: use one of {', '.join(tx.departments)}")
    entry = tx.departments[dept]
    if entry.get("offices"):
        raise StaffError(f"{dept} is served at the regional city offices: its card shows their numbers")
    known = rules.facts_numbers(tx.root)
    formatted = known.get(rules.digits(number))
    if not formatted or len(rules.digits(number)) < 9:
        raise StaffError(f"{number} is not in data/reference/minato_facts.yaml: a number must be in the "
                         "facts file (with its source) before it can be used")
    old = entry.get("phone")
    if old == formatted:
        return
    entry["phone"] = DoubleQuotedScalarString(formatted)
    tx.record("departments", dept, "changed", "phone", old, formatted)


def op_set_hours(tx: Transaction, dept: str, spec: str, holidays: Optional[str] = None) -> None:
    if dept not in tx.departments:
        raise StaffError(f"unknown department {dept!r}")
    try:
        schedule = rules.parse_hours(spec)
    except ValueError as exc:
        raise StaffError(f"opening hours: {exc}") from None
    missing = rules.hours_in_facts(schedule, tx.root)
    if missing:
        raise StaffError(f"{', '.join(missing)} does not appear in data/reference/minato_facts.yaml: hours "
                         "must come from the facts file (add them there with their source first)")
    entry = tx.departments[dept]
    old = dict(entry.get("schedule") or {})
    if schedule != old:
        if schedule:
            entry["schedule"] = _flow_map(schedule)
        elif "schedule" in entry:
            del entry["schedule"]
        tx.record("departments", dept, "changed", "hours", rules.format_hours(old), rules.format_hours(schedule))
    if holidays is not None and holidays != entry.get("holidays"):
        if holidays not in ("closed", "open", "unknown"):
            raise StaffError("holidays must be closed, open or unknown")
        tx.record("departments", dept, "changed", "holidays", entry.get("holidays"), holidays)
        entry["holidays"] = holidays


def missing_languages(content: Content, topic: str) -> List[str]:
    return [lang for lang in ANSWER_LANGUAGES if content.answer(topic, lang) is None]


def pending_drafts(root: Path) -> Dict[str, Set[str]]:
    """topic -> languages with a draft waiting for approval."""
    out: Dict[str, Set[str]] = {}
    for lang, entries in rules.raw_answers(root).items():
        for topic, entry in entries.items():
            if answer_state(entry) in ("draft", "approved+draft"):
                out.setdefault(topic, set()).add(lang)
    return out
