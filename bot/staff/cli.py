"""The staff command line: ``python -m bot.staff COMMAND ...`` (``--help`` on any command).

Content (checked, logged in .state/audit.log):
  export --format xlsx|csv OUT        the content as a workbook (or a folder of CSV files)
  import IN [--apply]                 preview the changes of an edited workbook; --apply writes them
  edit-answer TOPIC LANG --text ...   change an answer (--title, --draft, --approve)
  approve TOPIC LANG                  serve a draft
  draft-translations TOPIC --from en  machine-translated drafts in the other languages
  add-example TOPIC LANG TEXT         a new example question (training data)
  remove-example TOPIC LANG TEXT
  add-topic ID --contact DEPT         a new topic (then answers and examples)
  retire-topic ID                     stop answering a topic (the id is kept)
  set-phone DEPT NUMBER               only numbers of data/reference/minato_facts.yaml
  set-hours DEPT "Mon-Fri 08:30-17:00; Wed 08:30-19:00"
  check                               list content problems (what blocks publishing)
Residents' questions (tracker store, TRACKER_DB):
  unanswered [--days N]               questions the assistant could not answer, grouped
  promote "QUESTION" --topic ID       add a question as an example (or --new-topic ID --contact DEPT)
  stats [--days N]                    questions per day/language/topic, fallback rate, feedback
Publishing:
  retrain                             validate, train, swap the model into the running assistant
Staff accounts for the admin page:
  add-user NAME, remove-user NAME, users
"""
from __future__ import annotations

import argparse
import getpass
import json
import sys
from pathlib import Path
from typing import List, Optional, Sequence

from bot.staff.project import Project, StaffError
from bot.staff.store import Result, Store

NEEDS_PUBLISH = ("Training data changed: publish (admin page → Publish, or `python -m bot.staff retrain`) "
                 "so that the assistant learns it.")


def _print_result(result: Result, served_now: bool = True) -> None:
    for change in result.changes:
        print(change.line())
    for warning in result.warnings:
        print(f"! {warning}")
    if result.changes and served_now:
        print("Saved. Residents see approved answers and directory changes right away.")
    elif result.changes:
        print(f"Saved. {NEEDS_PUBLISH}")


def _read_text(args: argparse.Namespace) -> str:
    if args.text_file:
        return Path(args.text_file).read_text(encoding="utf-8")
    if args.text == "-":
        return sys.stdin.read()
    return args.text


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot.staff", description="Staff tools for the Minato FAQ content.",
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("export", help="write the content as an Excel workbook or CSV files")
    p.add_argument("--format", choices=["xlsx", "csv"], default="xlsx")
    p.add_argument("out", type=Path, help="file (.xlsx) or folder (csv)")

    p = sub.add_parser("import", help="preview (or --apply) an edited workbook / CSV folder")
    p.add_argument("path", type=Path)
    p.add_argument("--apply", action="store_true", help="write the changes (default: only show them)")

    p = sub.add_parser("edit-answer", help="change an answer's text (and title)")
    p.add_argument("topic")
    p.add_argument("lang")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--text", help="the new text ('-' reads it from standard input)")
    g.add_argument("--text-file", help="read the new text from this UTF-8 file")
    p.add_argument("--title")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--draft", action="store_true", help="save as a draft (residents keep the approved answer)")
    mode.add_argument("--approve", action="store_true", help="save as approved (residents see it now)")

    p = sub.add_parser("approve", help="serve the draft of a topic in a language")
    p.add_argument("topic")
    p.add_argument("lang")

    p = sub.add_parser("draft-translations", help="machine-translated drafts in the other languages")
    p.add_argument("topic")
    p.add_argument("--from", dest="src", default="en")
    p.add_argument("--to", help="comma-separated languages (default: all others)")

    for name in ("add-example", "remove-example"):
        p = sub.add_parser(name, help=f"{name.split('-')[0]} an example question")
        p.add_argument("topic")
        p.add_argument("lang")
        p.add_argument("text")

    p = sub.add_parser("add-topic", help="a new topic in the catalog")
    p.add_argument("id")
    p.add_argument("--contact", required=True, help="department key (data/directory/departments.yml)")
    p.add_argument("--scope", default="", help="one sentence: what the topic covers")
    p.add_argument("--related", default="", help="up to 3 topic ids, comma-separated")

    p = sub.add_parser("retire-topic", help="stop answering a topic (retired: true; the id is kept)")
    p.add_argument("id")

    p = sub.add_parser("set-phone", help="a department's phone number (must be in the facts file)")
    p.add_argument("dept")
    p.add_argument("number")

    p = sub.add_parser("set-hours", help='opening hours, e.g. "Mon-Fri 08:30-17:00; Wed 08:30-19:00"')
    p.add_argument("dept")
    p.add_argument("hours", nargs="+")
    p.add_argument("--holidays", choices=["closed", "open", "unknown"])

    sub.add_parser("check", help="list the content problems that block publishing")

    p = sub.add_parser("unanswered", help="residents' questions that got no answer or were not helpful")
    p.add_argument("--days", type=float, default=30)
    p.add_argument("--json", action="store_true")
    p.add_argument("--threshold", type=float, default=None, help="grouping similarity (default 0.5)")

    p = sub.add_parser("promote", help="add a resident's question as an example")
    p.add_argument("question")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--topic")
    g.add_argument("--new-topic")
    p.add_argument("--contact", help="department of the new topic (with --new-topic)")
    p.add_argument("--lang", help="the question's language (default: as recorded, else detected)")

    p = sub.add_parser("stats", help="questions per day, language, topic; fallback rate; feedback")
    p.add_argument("--days", type=float, default=30)
    p.add_argument("--json", action="store_true")

    sub.add_parser("retrain", help="validate, train and swap the model into the running assistant")

    p = sub.add_parser("add-user", help="a staff account for the admin page (asks for the password)")
    p.add_argument("name")
    p.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    p.add_argument("--replace", action="store_true", help="set a new password for an existing user")
    p = sub.add_parser("remove-user", help="delete a staff account")
    p.add_argument("name")
    sub.add_parser("users", help="list the staff accounts")
    return parser


def detect_language(text: str) -> Optional[str]:
    """The language a question is written in, by the assistant's own detector."""
    from bot.nlu.language_detector import LanguageDetector

    detector = LanguageDetector(LanguageDetector.get_default_config())
    code, _, source = detector.detect_text(text)
    return code if source in ("script", "model") and code != "unknown" else None


def run(args: argparse.Namespace, project: Project) -> int:
    store = Store(project)
    cmd = args.command
    if cmd == "export":
        from bot.staff.sheet import export

        out = export(store, args.out, args.format)
        print(f"Exported to {out}")
        return 0
    if cmd == "import":
        from bot.staff.sheet import import_sheet

        result = import_sheet(store, args.path, apply=args.apply)
        print(result.report())
        if result.applied and any(c.area in ("examples", "topics") for c in result.changes):
            print(NEEDS_PUBLISH)
        return 0 if result.ok else 1
    if cmd == "edit-answer":
        mode = "draft" if args.draft else "approved" if args.approve else "keep"
        _print_result(store.edit_answer(args.topic, args.lang, _read_text(args), args.title, mode))
        return 0
    if cmd == "approve":
        _print_result(store.approve(args.topic, args.lang))
        return 0
    if cmd == "draft-translations":
        from bot.staff.translate import draft_translations

        langs = [x.strip() for x in args.to.split(",")] if args.to else None
        _print_result(draft_translations(store, args.topic, args.src, langs), served_now=False)
        return 0
    if cmd == "add-example":
        _print_result(store.add_example(args.topic, args.lang, args.text), served_now=False)
        return 0
    if cmd == "remove-example":
        _print_result(store.remove_example(args.topic, args.lang, args.text), served_now=False)
        return 0
    if cmd == "add-topic":
        related = [x.strip() for x in args.related.split(",") if x.strip()]
        _print_result(store.add_topic(args.id, args.contact, args.scope, related), served_now=False)
        print(f"Next: write its answers (edit-answer {args.id} en --title ... --text ...), "
              "draft-translations, examples, then publish.")
        return 0
    if cmd == "retire-topic":
        _print_result(store.retire_topic(args.id), served_now=False)
        return 0
    if cmd == "set-phone":
        _print_result(store.set_phone(args.dept, args.number))
        return 0
    if cmd == "set-hours":
        _print_result(store.set_hours(args.dept, " ".join(args.hours), args.holidays))
        return 0
    if cmd == "check":
        from bot.staff.rules import check

        problems = [p for p in check(project.root)]
        for p in problems:
            print(f"{p.kind:10} {p.message}")
        blocking = [p for p in problems if p.kind != "warning"]
        print(f"{len(blocking)} problem(s) block publishing." if blocking else "Ready to publish.")
        return 1 if blocking else 0
    if cmd == "unanswered":
        return _unanswered(project, args)
    if cmd == "promote":
        return _promote(store, project, args)
    if cmd == "stats":
        return _stats(project, args)
    if cmd == "retrain":
        from bot.staff.publish import publish

        status = publish(project, store.user, say=print)
        if status.state != "done":
            print(f"✗ {status.error}", file=sys.stderr)
            return 1
        print(f"✓ Published {Path(status.model).name}")
        return 0
    if cmd in ("add-user", "remove-user", "users"):
        from bot.staff.users import Users

        users = Users(project.users_file)
        project.ensure_state()
        if cmd == "users":
            print("\n".join(users.names()) or "(no staff users yet: python -m bot.staff add-user NAME)")
            return 0
        if cmd == "remove-user":
            users.remove(args.name)
            print(f"Removed {args.name}")
            return 0
        if args.password_stdin:
            password = sys.stdin.readline().rstrip("\n")
        else:
            password = getpass.getpass(f"Password for {args.name}: ")
            if getpass.getpass("Again: ") != password:
                raise StaffError("the two passwords differ")
        users.add(args.name, password, replace=args.replace)
        print(f"User {args.name} can now sign in to the admin page.")
        return 0
    raise StaffError(f"unknown command {cmd}")


def _unanswered(project: Project, args: argparse.Namespace) -> int:
    from bot.staff import tracker

    kwargs = {"threshold": args.threshold} if args.threshold else {}
    groups = tracker.unanswered(project.tracker_db, args.days, **kwargs)
    if args.json:
        print(json.dumps([{"count": g.count, "questions": dict(g.texts), "languages": dict(g.languages),
                           "reasons": dict(g.reasons), "suggested_topic": g.suggested_topic,
                           "answered_topics": dict(g.answered_topics)} for g in groups],
                         ensure_ascii=False, indent=1))
        return 0
    total = sum(g.count for g in groups)
    if not groups:
        print(f"No unanswered questions in the last {args.days:g} days.")
        return 0
    print(f"{total} question(s) not answered or not helpful in the last {args.days:g} days, in {len(groups)} group(s):")
    for i, g in enumerate(groups, start=1):
        reasons = ", ".join(f"{r.replace('_', ' ')} ×{n}" for r, n in g.reasons.items())
        langs = " ".join(g.languages)
        hint = f"  suggested topic: {g.suggested_topic}" if g.suggested_topic else ""
        print(f"\n{i}. {g.count}× [{langs}] {reasons}{hint}")
        if g.answered_topics:
            print(f"   answered with: {', '.join(g.answered_topics)}")
        for text, n in g.texts.most_common():
            print(f"   - {text}" + (f"  ({n}×)" if n > 1 else ""))
    print('\nAdd one as an example: python -m bot.staff promote "QUESTION" --topic TOPIC')
    return 0


def _promote(store: Store, project: Project, args: argparse.Namespace) -> int:
    from bot.staff import tracker
    from bot.staff.pii import mask

    question = " ".join(mask(args.question).split())
    lang = args.lang or tracker.find_language(project.tracker_db, question) or detect_language(question)
    if not lang:
        raise StaffError("cannot tell the question's language: add --lang (en, ja, vi ...)")
    if args.new_topic:
        if not args.contact:
            raise StaffError("a new topic needs --contact DEPT")
        _print_result(store.add_topic(args.new_topic, args.contact), served_now=False)
        topic = args.new_topic
    else:
        topic = args.topic
    _print_result(store.add_example(topic, lang, question), served_now=False)
    return 0


def _stats(project: Project, args: argparse.Namespace) -> int:
    from bot.staff import tracker

    s = tracker.stats(project.tracker_db, args.days)
    if args.json:
        print(json.dumps(s.as_dict(), ensure_ascii=False, indent=1))
        return 0
    print(f"Last {args.days:g} days: {s.questions} questions in {s.conversations} conversations")
    print(f"Fallback (not understood): {s.fallbacks} ({s.fallback_rate:.1%}); out of scope: {s.out_of_scope}")
    print(f"Feedback: 👍 {s.helpful}  👎 {s.not_helpful}")
    for title, table in (("Per day", s.per_day), ("Per language", s.per_language), ("Per topic", s.per_topic),
                         ("Not helpful, per topic", s.not_helpful_topics)):
        if table:
            print(f"\n{title}:")
            for key, n in table.items():
                print(f"  {key:32} {n:5d}")
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(list(argv) if argv is not None else None)
    try:
        return run(args, Project.from_env())
    except StaffError as exc:
        print(f"✗ {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _main() -> None:
    sys.exit(main())


__all__: List[str] = ["main", "build_parser"]
