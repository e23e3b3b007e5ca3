"""The content as a spreadsheet: export it, edit it in Excel, import it back.

Four sheets (or four CSV files in a folder): ``topics``, ``answers``, ``examples``, ``departments``.
Each is the complete list of what it covers: a row added is added, a row changed is changed, an
example row deleted is removed. Columns marked "(read-only)" are for reading and are ignored.

Importing checks every row first and reports each bad one with its sheet, row number (as Excel
shows it) and the reason; when any row is bad nothing is written. Then the whole change is
checked with the content rules on a staged copy (bot/staff/store.py) before anything is written.
"""
from __future__ import annotations

import csv
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Set, Tuple

from actions.content import ANSWER_LANGUAGES, Content
from bot.staff import rules
from bot.staff.project import StaffError
from bot.staff.store import (
    Change,
    Store,
    Transaction,
    ValidationFailed,
    answer_state,
    clean_line,
    clean_text,
    op_add_example,
    op_add_topic,
    op_approve,
    op_edit_answer,
    op_remove_example,
    op_retire_topic,
    op_set_hours,
    op_set_phone,
    op_update_topic,
)

READ_ONLY = "(read-only)"
COLUMNS: Dict[str, List[str]] = {
    "topics": ["id", "contact", "retired", "related", "scope"],
    "answers": ["topic", "language", "status", "title", "text", f"pending draft {READ_ONLY}"],
    "examples": ["topic", "language", "example"],
    "departments": ["department", f"name_ja {READ_ONLY}", f"name_en {READ_ONLY}", "phone", "hours"],
}
WIDTHS = {"topics": [26, 20, 9, 48, 80], "answers": [26, 10, 11, 22, 100, 60], "examples": [26, 10, 90],
          "departments": [22, 30, 40, 16, 60]}
README = [
    ("Minato FAQ content / 港区FAQの内容", ""),
    ("", ""),
    ("topics", "One row per topic. contact = a department key (see the departments sheet). "
               "retired = yes to stop answering a topic (ids are never deleted). related = up to 3 topic ids."),
    ("answers", "One row per topic and language. status: approved (shown to residents) or draft (not shown). "
                "title: at most 20 characters. No phone numbers, addresses or URLs in the text."),
    ("examples", "Example questions residents ask, one per row. Add rows to add examples, delete rows to remove "
                 "them. An example belongs to exactly one topic."),
    ("departments", "phone: only numbers from the facts file (data/reference/minato_facts.yaml). "
                    "hours: e.g. 'Mon-Fri 08:30-17:00; Wed 08:30-19:00'."),
    ("", ""),
    ("トピック", "1行に1トピック。contact は担当部署(departments シートのキー)。"
                 "retired を yes にすると回答を止めます。"),
    ("回答", "トピックと言語ごとに1行。status: approved(公開)/ draft(下書き・非公開)。タイトルは20文字以内。"
             "本文に電話番号・住所・URLを書かないでください。"),
    ("例文", "住民が実際に書く質問を1行に1つ。行を追加すると追加、削除すると削除されます。"),
    ("部署", "電話番号は事実ファイルにある番号だけ使えます。受付時間の例: Mon-Fri 08:30-17:00; Wed 08:30-19:00"),
    ("", ""),
    ("Import / 取り込み", "python -m bot.staff import FILE (preview) → python -m bot.staff import FILE --apply, "
                          "or the admin page's Import tab / 管理画面の「取り込み」"),
]
YES = {"yes", "y", "true", "1", "はい", "○", "x"}
NO = {"no", "n", "false", "0", "いいえ", ""}


@dataclass
class Rejection:
    """A bad row: where and why."""

    sheet: str
    row: Optional[int]
    reason: str

    def __str__(self) -> str:
        where = f"row {self.row}" if self.row else "(no row)"
        return f"{self.sheet} {where}: {self.reason}"


@dataclass
class ImportResult:
    """What an import would do (preview) or did (applied)."""

    rejections: List[Rejection] = field(default_factory=list)
    changes: List[Change] = field(default_factory=list)
    warnings: List[str] = field(default_factory=list)
    applied: bool = False
    sheets: List[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.rejections

    def report(self) -> str:
        """The preview as text (the CLI prints it; the admin page shows the same lines)."""
        lines: List[str] = []
        if self.rejections:
            lines.append(f"✗ {len(self.rejections)} row(s) rejected. Nothing was written.")
            lines += [f"  {r}" for r in self.rejections]
            return "\n".join(lines)
        if not self.changes:
            return "No changes: the sheet matches the current content."
        for area in ("topics", "answers", "examples", "departments"):
            items = [c for c in self.changes if c.area == area]
            if items:
                counts = {op: sum(1 for c in items if c.op == op) for op in ("added", "changed", "removed")}
                lines.append(f"{area}: " + ", ".join(f"{n} {op}" for op, n in counts.items() if n))
                lines += [f"  {c.line()}" for c in items]
        lines += [f"! {w}" for w in self.warnings]
        lines.append(f"{len(self.changes)} change(s) " + ("applied." if self.applied else
                     "would be made. Nothing was written (run with --apply to apply)."))
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Export

def current_rows(store: Store) -> Dict[str, List[List[str]]]:
    """The content as rows of the four sheets (without headers)."""
    root = store.project.root
    content = store.content()
    raw = rules.raw_answers(root)
    catalog_entries = _catalog_entries(root)
    topics = [[e["id"], e.get("contact", ""), "yes" if e.get("retired") else "no",
               ", ".join(e.get("related") or []), e.get("scope", "")] for e in catalog_entries]
    answers = []
    for topic in content.active_topics:
        for lang in ANSWER_LANGUAGES:
            entry = raw.get(lang, {}).get(topic.id)
            if entry is None:
                answers.append([topic.id, lang, "", "", "", ""])
                continue
            state = answer_state(entry)
            pending = entry.get("draft") if state == "approved+draft" else None
            answers.append([topic.id, lang, "approved" if state.startswith("approved") else "draft",
                            str(entry.get("title", "")), str(entry.get("text", "")).strip(),
                            (f"{pending.get('title', '')}\n{str(pending.get('text', '')).strip()}" if pending else "")])
    examples = []
    per = rules.nlu_examples(root)
    for topic in content.active_topics:
        for lang, texts in sorted(per.get(f"{rules.FAQ_PREFIX}{topic.id}", {}).items(), key=_lang_order):
            examples += [[topic.id, lang, t] for t in texts]
    departments = [[key, d.get("name_ja", ""), d.get("name_en", ""), d.get("phone") or "",
                    rules.format_hours(d.get("schedule"))] for key, d in content.departments.items()]
    return {"topics": topics, "answers": answers, "examples": examples, "departments": departments}


def _lang_order(item: Tuple[str, Any]) -> Tuple[int, str]:
    lang = item[0]
    return (ANSWER_LANGUAGES.index(lang) if lang in ANSWER_LANGUAGES else len(ANSWER_LANGUAGES), lang)


def _catalog_entries(root: Path) -> List[Dict[str, Any]]:
    return list(rules.read_yaml(root / "data" / "catalog.yml").get("topics", []))


def export(store: Store, out: Path, fmt: str) -> Path:
    """Writes the content to ``out``: an .xlsx workbook, or a folder of CSV files."""
    rows = current_rows(store)
    if fmt == "xlsx":
        return _export_xlsx(rows, out, list(store.content().departments))
    if fmt == "csv":
        out.mkdir(parents=True, exist_ok=True)
        for name, header in COLUMNS.items():
            # UTF-8 with a byte-order mark, so that Excel opens Japanese text correctly.
            with (out / f"{name}.csv").open("w", encoding="utf-8-sig", newline="") as f:
                writer = csv.writer(f)
                writer.writerow(header)
                writer.writerows(rows[name])
        return out
    raise StaffError(f"unknown format {fmt!r}: use xlsx or csv")


def _export_xlsx(rows: Dict[str, List[List[str]]], out: Path, departments: List[str]) -> Path:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    wb = Workbook()
    info = wb.active
    info.title = "README"
    for r in README:
        info.append(list(r))
    info["A1"].font = Font(bold=True, size=14)
    info.column_dimensions["A"].width = 18
    info.column_dimensions["B"].width = 120
    lists = wb.create_sheet("lists")
    for i, key in enumerate(departments, start=1):
        lists.cell(row=i, column=1, value=key)
    for i, lang in enumerate(ANSWER_LANGUAGES, start=1):
        lists.cell(row=i, column=2, value=lang)
    lists.sheet_state = "hidden"
    header_fill = PatternFill("solid", fgColor="DDEBF7")
    readonly_fill = PatternFill("solid", fgColor="EEEEEE")
    for name, header in COLUMNS.items():
        ws = wb.create_sheet(name)
        ws.append(header)
        for row in rows[name]:
            ws.append(row)
        ws.freeze_panes = "A2"
        for col, width in enumerate(WIDTHS[name], start=1):
            letter = get_column_letter(col)
            ws.column_dimensions[letter].width = width
            ws.cell(row=1, column=col).font = Font(bold=True)
            ws.cell(row=1, column=col).fill = readonly_fill if READ_ONLY in header[col - 1] else header_fill
        wrap = Alignment(wrap_text=True, vertical="top")
        for row in ws.iter_rows(min_row=2):
            for cell in row:
                cell.alignment = wrap
                cell.number_format = "@"   # text: phone numbers keep their leading 0
                if isinstance(cell.value, str) and cell.value.startswith("="):
                    cell.data_type = "s"   # text, never a formula
        n = max(len(rows[name]) + 200, 500)
        if name == "answers":
            dv = DataValidation(type="list", formula1='"approved,draft"', allow_blank=True)
            ws.add_data_validation(dv)
            dv.add(f"C2:C{n}")
        if name in ("answers", "examples"):
            dv = DataValidation(type="list", formula1=f"lists!$B$1:$B${len(ANSWER_LANGUAGES)}", allow_blank=False)
            dv.showErrorMessage = False   # examples may be in other languages too (fr, th, id)
            ws.add_data_validation(dv)
            dv.add(f"B2:B{n}")
        if name == "topics":
            dv = DataValidation(type="list", formula1=f"lists!$A$1:$A${len(departments)}", allow_blank=False)
            ws.add_data_validation(dv)
            dv.add(f"B2:B{n}")
            dv2 = DataValidation(type="list", formula1='"yes,no"', allow_blank=True)
            ws.add_data_validation(dv2)
            dv2.add(f"C2:C{n}")
    out.parent.mkdir(parents=True, exist_ok=True)
    wb.save(out)
    return out


# ---------------------------------------------------------------------------------------------
# Reading a sheet back

Row = Tuple[int, Dict[str, str]]


def _norm_header(h: Any) -> str:
    return re.sub(r"\s+", " ", str(h or "").replace(READ_ONLY, "")).strip().lower()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def read_sheets(path: Path) -> Dict[str, List[Row]]:
    """sheet name -> [(row number as in Excel, {column: value})] for the sheets present."""
    if path.is_dir():
        files = {p.stem.lower(): p for p in path.glob("*.csv")}
        if not files:
            raise StaffError(f"{path} has no .csv files")
        return {name: _read_csv(p) for name, p in files.items() if name in COLUMNS}
    if path.suffix.lower() == ".csv":
        return read_sheets(path.parent)
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return _read_xlsx(path)
    raise StaffError(f"{path.name}: import an .xlsx workbook or a folder of .csv files")


def _read_csv(path: Path) -> List[Row]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f)
        header = [_norm_header(h) for h in next(reader, [])]
        rows = []
        for i, values in enumerate(reader, start=2):
            row = {h: (values[j] if j < len(values) else "") for j, h in enumerate(header) if h}
            if any(v.strip() for v in row.values()):
                rows.append((i, row))
        return rows


def _read_xlsx(path: Path) -> Dict[str, List[Row]]:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:
        raise StaffError(f"{path.name} is not a readable Excel workbook: {exc}") from None
    out: Dict[str, List[Row]] = {}
    try:
        for ws in wb.worksheets:
            name = ws.title.strip().lower()
            if name not in COLUMNS:
                continue
            it = ws.iter_rows(values_only=True)
            header = [_norm_header(h) for h in next(it, ())]
            rows = []
            for i, values in enumerate(it, start=2):
                row = {h: _cell(values[j] if j < len(values) else None) for j, h in enumerate(header) if h}
                if any(v.strip() for v in row.values()):
                    rows.append((i, row))
            out[name] = rows
    finally:
        wb.close()
    return out


# ---------------------------------------------------------------------------------------------
# Import

Op = Tuple[str, Optional[int], Callable[[Transaction], None]]


class _Planner:
    """Compares the sheets with the current content; collects rejections and the operations."""

    def __init__(self, store: Store, sheets: Dict[str, List[Row]]) -> None:
        self.store = store
        self.root = store.project.root
        self.sheets = sheets
        self.content: Content = store.content()
        self.raw = rules.raw_answers(self.root)
        self.catalog = {e["id"]: e for e in _catalog_entries(self.root)}
        self.examples = rules.nlu_examples(self.root)
        self.departments = self.content.departments
        self.rejections: List[Rejection] = []
        self.warnings: List[str] = []
        self.ops: List[Op] = []
        self.new_topics: Dict[str, int] = {}
        self.retiring: Set[str] = set()
        self.rows: Dict[Tuple[str, ...], Tuple[str, int]] = {}   # problem place -> (sheet, row)
        self.example_rows: Dict[Tuple[str, str, str], int] = {}

    def reject(self, sheet: str, row: Optional[int], reason: str) -> None:
        self.rejections.append(Rejection(sheet, row, reason))

    def active(self, topic: str) -> bool:
        if topic in self.new_topics:
            return True
        entry = self.catalog.get(topic)
        return bool(entry) and not entry.get("retired") and topic not in self.retiring

    def plan(self) -> None:
        if "topics" in self.sheets:
            self.plan_topics(self.sheets["topics"])
        if "answers" in self.sheets:
            self.plan_answers(self.sheets["answers"])
        if "examples" in self.sheets:
            self.plan_examples(self.sheets["examples"])
        if "departments" in self.sheets:
            self.plan_departments(self.sheets["departments"])
        for topic in sorted(self.retiring):
            self.ops.append(("topics", self.rows.get((topic,), ("topics", 0))[1],
                             lambda tx, t=topic: op_retire_topic(tx, t)))

    # --- topics ------------------------------------------------------------------------------
    def plan_topics(self, rows: List[Row]) -> None:
        seen: Dict[str, int] = {}
        ids_in_sheet = {clean_line(r.get("id", "")) for _, r in rows}
        known_ids = set(self.catalog) | ids_in_sheet
        for n, row in rows:
            tid = clean_line(row.get("id", ""))
            if not tid:
                self.reject("topics", n, "the id is empty")
                continue
            if tid in seen:
                self.reject("topics", n, f"topic {tid} appears twice (also row {seen[tid]})")
                continue
            seen[tid] = n
            self.rows[(tid,)] = ("topics", n)
            contact = clean_line(row.get("contact", ""))
            retired_cell = clean_line(row.get("retired", "")).lower()
            if retired_cell not in YES | NO:
                self.reject("topics", n, f"retired must be yes or no, not {row.get('retired')!r}")
                continue
            retired = retired_cell in YES
            related = [r.strip() for r in re.split(r"[,、\s]+", row.get("related", "")) if r.strip()]
            bad_related = [r for r in related if r not in known_ids]
            if contact not in self.departments:
                self.reject("topics", n, f"unknown department {contact!r} (see the departments sheet)")
                continue
            if bad_related:
                self.reject("topics", n, f"unknown related topic(s): {', '.join(bad_related)}")
                continue
            if len(related) > 3:
                self.reject("topics", n, "at most 3 related topics")
                continue
            scope = clean_line(row.get("scope", ""))
            current = self.catalog.get(tid)
            if current is None:
                if retired:
                    self.reject("topics", n, f"new topic {tid} cannot be retired")
                    continue
                from bot.staff.store import TOPIC_ID
                if not TOPIC_ID.match(tid):
                    self.reject("topics", n, f"{tid!r} is not a valid id (lower-case letters, digits, _)")
                    continue
                self.new_topics[tid] = n
                known = [r for r in related if r in self.catalog]
                later = [r for r in related if r not in self.catalog]
                self.ops.append(("topics", n, lambda tx, t=tid, c=contact, s=scope, k=known:
                                 op_add_topic(tx, t, c, s, k)))
                if later:
                    self.ops.append(("topics", n, lambda tx, t=tid, r=related: op_update_topic(tx, t, related=r)))
                continue
            if current.get("retired"):
                if not retired:
                    self.reject("topics", n, f"{tid} is retired and cannot come back: add a new topic instead")
                continue
            scope_arg = scope if scope or current.get("scope") else None
            self.ops.append(("topics", n, lambda tx, t=tid, c=contact, s=scope_arg, r=related:
                             op_update_topic(tx, t, c, s, r)))
            if retired:
                self.retiring.add(tid)
        for tid, entry in self.catalog.items():
            if tid not in seen and not entry.get("retired"):
                self.reject("topics", None, f"topic {tid} is missing: topics are never deleted "
                                            "(set retired to yes to stop answering it)")

    # --- answers -----------------------------------------------------------------------------
    def plan_answers(self, rows: List[Row]) -> None:
        seen: Dict[Tuple[str, str], int] = {}
        for n, row in rows:
            topic, lang = clean_line(row.get("topic", "")), clean_line(row.get("language", ""))
            if topic in self.retiring:
                continue
            if not self.active(topic):
                self.reject("answers", n, f"unknown or retired topic {topic!r}")
                continue
            if lang not in ANSWER_LANGUAGES:
                self.reject("answers", n, f"unknown language {lang!r} (use {', '.join(ANSWER_LANGUAGES)})")
                continue
            if (topic, lang) in seen:
                self.reject("answers", n, f"{topic}/{lang} appears twice (also row {seen[(topic, lang)]})")
                continue
            seen[(topic, lang)] = n
            self.rows[(topic, lang)] = ("answers", n)
            title, text = clean_line(row.get("title", "")), clean_text(row.get("text", ""))
            status = clean_line(row.get("status", "")).lower()
            entry = self.raw.get(lang, {}).get(topic)
            state = answer_state(entry)
            if not text:
                self.reject("answers", n, f"answer missing in {lang} for {topic} (the text is empty)")
                continue
            if not title:
                self.reject("answers", n, "the title is empty")
                continue
            if len(title) > rules.MAX_TITLE:
                self.reject("answers", n, f"title over {rules.MAX_TITLE} characters ({len(title)}): {title!r}")
                continue
            if status not in ("approved", "draft", ""):
                self.reject("answers", n, f"status must be approved or draft, not {status!r}")
                continue
            status = status or ("approved" if state.startswith("approved") else "draft")
            if status == "draft" and state.startswith("approved"):
                self.reject("answers", n, f"{topic}/{lang} is approved and cannot go back to draft "
                                          "(edit the text; it stays approved)")
                continue
            problems = rules.answer_format_problems(title, text)
            if problems and status == "approved":
                self.reject("answers", n, "; ".join(msg for _, msg in problems))
                continue
            self.warnings += [f"answers row {n} ({topic}/{lang}, draft): {msg}" for _, msg in problems]
            if entry is None:
                self.ops.append(("answers", n, lambda tx, t=topic, la=lang, x=text, ti=title, s=status:
                                 op_edit_answer(tx, t, la, x, ti, s)))
                continue
            old_text, old_title = str(entry.get("text", "")).strip(), str(entry.get("title", ""))
            if text != old_text or title != old_title:
                mode = "approved" if status == "approved" else "draft"
                self.ops.append(("answers", n, lambda tx, t=topic, la=lang, x=text, ti=title, m=mode:
                                 op_edit_answer(tx, t, la, x, ti, m)))
            elif status == "approved" and state == "draft":
                self.ops.append(("answers", n, lambda tx, t=topic, la=lang: op_approve(tx, t, la)))
        topic_ids = [t.id for t in self.content.active_topics if t.id not in self.retiring] + list(self.new_topics)
        for topic in topic_ids:
            for lang in ANSWER_LANGUAGES:
                if (topic, lang) not in seen:
                    sheet, row = self.rows.get((topic,), ("answers", None))
                    self.reject(sheet, row, f"answer missing in {lang} for topic {topic}")

    # --- examples ----------------------------------------------------------------------------
    def plan_examples(self, rows: List[Row]) -> None:
        langs = set(ANSWER_LANGUAGES) | {p.name for p in (self.root / "data" / "nlu").iterdir() if p.is_dir()}
        others: Dict[str, str] = {}   # examples of non-FAQ intents (greet, thanks...)
        for intent, per_lang in self.examples.items():
            if not intent.startswith(rules.FAQ_PREFIX):
                for texts in per_lang.values():
                    for t in texts:
                        others[t.casefold()] = intent
        wanted: Dict[Tuple[str, str], List[str]] = defaultdict(list)
        owner: Dict[str, Tuple[str, int]] = {}
        same_lang: Dict[Tuple[str, str], int] = {}
        for n, row in rows:
            topic, lang, text = (clean_line(row.get(k, "")) for k in ("topic", "language", "example"))
            if topic in self.retiring:
                continue
            if not self.active(topic):
                self.reject("examples", n, f"unknown or retired topic {topic!r}")
                continue
            if lang not in langs:
                self.reject("examples", n, f"unknown language {lang!r}")
                continue
            if not text:
                self.reject("examples", n, "the example is empty")
                continue
            key = text.casefold()
            if key in owner and owner[key][0] != topic:
                first_topic, first_row = owner[key]
                self.reject("examples", n, f"duplicate example across topics: {text!r} is also under "
                                           f"{first_topic} (row {first_row})")
                continue
            if (key, lang) in same_lang:
                self.reject("examples", n, f"duplicate row: {text!r} (also row {same_lang[(key, lang)]})")
                continue
            if key in others:
                self.reject("examples", n, f"duplicate example across topics: {text!r} is an example of "
                                           f"{others[key]}")
                continue
            if text.startswith("/") or len(text) > 300:
                self.reject("examples", n, "an example cannot start with '/' or be over 300 characters")
                continue
            owner.setdefault(key, (topic, n))
            same_lang[(key, lang)] = n
            self.rows.setdefault((text,), ("examples", n))
            self.example_rows[(topic, lang, text)] = n
            wanted[(topic, lang)].append(text)
        current: Dict[Tuple[str, str], List[str]] = defaultdict(list)
        for t in list(self.content.active_topics):
            for lang, texts in self.examples.get(f"{rules.FAQ_PREFIX}{t.id}", {}).items():
                current[(t.id, lang)] = texts
        removals, additions = [], []
        for key in sorted(set(current) | set(wanted)):
            topic, lang = key
            if topic in self.retiring:
                continue
            have, want = current.get(key, []), wanted.get(key, [])
            for text in have:
                if text not in want:
                    removals.append(("examples", None,
                                     lambda tx, t=topic, la=lang, x=text: op_remove_example(tx, t, la, x)))
            for text in want:
                if text not in have:
                    additions.append(("examples", self.example_rows.get((topic, lang, text)),
                                      lambda tx, t=topic, la=lang, x=text: _add_example_after_removals(tx, t, la, x)))
        self.ops += removals + additions

    # --- departments -------------------------------------------------------------------------
    def plan_departments(self, rows: List[Row]) -> None:
        for n, row in rows:
            key = clean_line(row.get("department", ""))
            dept = self.departments.get(key)
            if dept is None:
                self.reject("departments", n, f"unknown department {key!r} (departments are added in "
                                              "data/directory/departments.yml, not in the sheet)")
                continue
            self.rows[(key,)] = ("departments", n)
            phone = clean_line(row.get("phone", ""))
            current_phone = dept.get("phone") or ""
            if phone != current_phone:
                if not phone:
                    self.reject("departments", n, f"{key}: the phone number cannot be removed here")
                    continue
                if dept.get("offices"):
                    self.reject("departments", n, f"{key} is served at the regional city offices; "
                                                  "leave its phone empty")
                    continue
                if not rules.in_facts(phone, self.root) or len(rules.digits(phone)) < 9:
                    hint = " (Excel turned it into a number: format the cell as text)" if \
                        re.fullmatch(r"\d{9}", phone) else ""
                    self.reject("departments", n, f"phone {phone} is not in the directory/facts file "
                                                  f"(data/reference/minato_facts.yaml){hint}")
                    continue
                if rules.digits(phone) != rules.digits(current_phone):
                    self.ops.append(("departments", n, lambda tx, k=key, p=phone: op_set_phone(tx, k, p)))
            hours = row.get("hours", "")
            try:
                schedule = rules.parse_hours(hours)
            except ValueError as exc:
                self.reject("departments", n, f"hours: {exc}")
                continue
            if schedule != dict(dept.get("schedule") or {}):
                missing = rules.hours_in_facts(schedule, self.root)
                if missing:
                    self.reject("departments", n, f"hours {', '.join(missing)} not in the facts file")
                    continue
                self.ops.append(("departments", n, lambda tx, k=key, h=hours: op_set_hours(tx, k, h)))


def _add_example_after_removals(tx: Transaction, topic: str, lang: str, text: str) -> None:
    """Adds an example; an example moved between topics in the same sheet was removed just before."""
    removed = {c.before.casefold() for c in tx.changes if c.area == "examples" and c.op == "removed" and c.before}
    if text.casefold() in removed:
        tx._examples = None   # read again below, without the examples this import removes
        examples = tx.examples()
        for per_lang in examples.values():
            for la, texts in per_lang.items():
                per_lang[la] = [t for t in texts if t.casefold() not in removed]
    op_add_example(tx, topic, lang, text)


def import_sheet(store: Store, path: Path, apply: bool = False) -> ImportResult:
    """Checks a spreadsheet (or CSV folder) against the content; applies it when ``apply``."""
    sheets = read_sheets(path)
    result = ImportResult(sheets=sorted(sheets))
    if not sheets:
        result.rejections.append(Rejection("workbook", None, "no sheet named topics, answers, examples or departments"))
        return result
    planner = _Planner(store, sheets)
    planner.plan()
    result.rejections = planner.rejections
    result.warnings = planner.warnings
    if result.rejections:
        return result
    try:
        with store.transaction("import", path.name, dry_run=not apply) as tx:
            for sheet, row, op in planner.ops:
                try:
                    op(tx)
                except ValidationFailed:
                    raise
                except StaffError as exc:
                    result.rejections.append(Rejection(sheet, row, str(exc)))
            if result.rejections:
                raise _Abort()
    except _Abort:
        return result
    except ValidationFailed as exc:
        for p in exc.problems:
            sheet, row = planner.rows.get(p.where, planner.rows.get(p.where[:1], ("content", None)))
            result.rejections.append(Rejection(sheet, row, p.message))
        return result
    result.changes = tx.changes
    result.warnings += tx.warnings
    result.applied = apply
    return result


class _Abort(Exception):
    """Leaves the transaction without committing (rows were rejected)."""
