"""The spreadsheet round trip through the command line: export → edit in openpyxl → import preview
(nothing written) → import --apply → the content changed as expected and still passes the rules."""
from __future__ import annotations

from pathlib import Path
from typing import Dict

import pytest
from openpyxl import load_workbook

from actions.content import ANSWER_LANGUAGES, load_content
from bot.staff import rules
from bot.staff.cli import main
from tests.staff.conftest import audit_lines, tree_digest

NEW_VI = "Hãy nộp thông báo chuyển đến (tennyu-todoke) trong vòng 14 ngày.\n• Mang theo thẻ cư trú và hộ chiếu."
NEW_EXAMPLE = "just arrived from manila, where do i register my address in minato"


def rows_by(ws, *keys: int) -> Dict[tuple, int]:
    """(values of the key columns) -> row number."""
    out = {}
    for row in ws.iter_rows(min_row=2):
        out[tuple(row[k].value for k in keys)] = row[0].row
    return out


def run_cli(capsys, *args: str) -> tuple:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.fixture
def exported(project, capsys, tmp_path) -> Path:
    out = tmp_path / "content.xlsx"
    code, text = run_cli(capsys, "export", "--format", "xlsx", str(out))
    assert code == 0 and out.exists(), text
    return out


def test_export_has_the_four_sheets_with_every_answer(exported, project):
    wb = load_workbook(exported)
    assert {"README", "topics", "answers", "examples", "departments"} <= set(wb.sheetnames)
    content = load_content(project.data)
    answers = rows_by(wb["answers"], 0, 1)
    assert len(answers) == len(content.active_topics) * len(ANSWER_LANGUAGES)
    row = wb["answers"][answers[("moving_in", "vi")]]
    assert row[2].value == "approved" and row[4].value == content.answer("moving_in", "vi").text
    deps = rows_by(wb["departments"], 0)
    assert wb["departments"][deps[("nhi_pension",)]][3].value == "03-3578-2574"
    assert wb["departments"][deps[("nhi_pension",)]][4].value == "Mon-Fri 08:30-17:00"


def test_round_trip_preview_then_apply(exported, project, capsys, tmp_path):
    # A draft waiting for approval, as draft-translations would leave it.
    from bot.staff.store import Store

    Store(project).edit_answer("garbage_days", "ne", "फोहोर फाल्ने दिन तपाईंको ठेगाना अनुसार फरक हुन्छ।",
                               title="फोहोर फाल्ने दिन", mode="draft")
    # Export again (with the draft) and edit the sheet as staff would in Excel.
    code, _ = run_cli(capsys, "export", "--format", "xlsx", str(exported))
    wb = load_workbook(exported)
    answers = wb["answers"]
    r = rows_by(answers, 0, 1)
    answers.cell(row=r[("moving_in", "vi")], column=5, value=NEW_VI)
    answers.cell(row=r[("moving_out", "en")], column=4, value="Leaving Minato")
    assert answers.cell(row=r[("garbage_days", "ne")], column=3).value == "approved"
    examples = wb["examples"]
    examples.append(["moving_in", "en", NEW_EXAMPLE])
    ex = rows_by(examples, 0, 1, 2)
    removed = next(text for (topic, lang, text) in ex if topic == "moving_in" and lang == "en")
    examples.delete_rows(ex[("moving_in", "en", removed)])
    deps = wb["departments"]
    d = rows_by(deps, 0)
    deps.cell(row=d[("nhi_pension",)], column=4, value="03-3578-2111")
    deps.cell(row=d[("nhi_pension",)], column=5, value="Mon-Fri 08:30-17:00; Wed 08:30-19:00")
    wb.save(exported)

    before = tree_digest(project.root)
    code, text = run_cli(capsys, "import", str(exported))
    assert code == 0, text
    assert tree_digest(project.root) == before, "the preview must not write anything"
    assert "Nothing was written" in text
    assert "~ moving_in/vi text:" in text and "~ moving_out/en title: 'Moving out of Minato' → 'Leaving Minato'" in text
    assert f"+ moving_in/en: {NEW_EXAMPLE!r}" in text and f"- moving_in/en: {removed!r}" in text
    assert "~ nhi_pension phone: '03-3578-2574' → '03-3578-2111'" in text
    assert "~ nhi_pension hours:" in text
    assert "answers: 2 changed" in text and "examples: 1 added, 1 removed" in text

    code, text = run_cli(capsys, "import", str(exported), "--apply")
    assert code == 0 and "6 change(s) applied." in text, text
    content = load_content(project.data)
    assert content.answer("moving_in", "vi").text == NEW_VI
    assert content.answer("moving_out", "en").title == "Leaving Minato"
    assert content.departments["nhi_pension"]["phone"] == "03-3578-2111"
    assert content.departments["nhi_pension"]["schedule"]["wed"] == "08:30-19:00"
    examples_now = rules.nlu_examples(project.root)["faq_moving_in"]["en"]
    assert NEW_EXAMPLE in examples_now and removed not in examples_now
    # The ne draft stays a draft beside the approved answer (the row said approved, unchanged).
    assert rules.raw_answers(project.root)["ne"]["garbage_days"]["draft"]["title"] == "फोहोर फाल्ने दिन"
    # The rules of tests/test_content.py still hold on the result.
    assert [p.message for p in rules.blocking(rules.check(project.root))] == []
    assert audit_lines(project)[-1]["action"] == "import"
    # Importing the same sheet again changes nothing.
    code, text = run_cli(capsys, "import", str(exported))
    assert "No changes" in text


def test_csv_round_trip(project, capsys, tmp_path):
    import csv

    folder = tmp_path / "csv"
    assert run_cli(capsys, "export", "--format", "csv", str(folder))[0] == 0
    path = folder / "answers.csv"
    with path.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    for row in rows:
        if row[:2] == ["moving_in", "ko"]:
            row[4] = "미나토구로 이사 오면 14일 이내에 전입신고(転入届)를 하세요."
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        csv.writer(f).writerows(rows)
    code, text = run_cli(capsys, "import", str(folder), "--apply")
    assert code == 0 and "1 change(s) applied" in text, text
    assert load_content(project.data).answer("moving_in", "ko").text.startswith("미나토구로 이사 오면")


def test_bad_rows_are_rejected_with_sheet_row_and_reason_and_nothing_is_written(exported, project, capsys):
    wb = load_workbook(exported)
    topics = wb["topics"]
    topics.append(["parking_permit", "parking_office", "no", "", "Parking"])          # unknown department
    bad_topic_row = topics.max_row
    answers = wb["answers"]
    r = rows_by(answers, 0, 1)
    answers.cell(row=r[("moving_in", "en")], column=4, value="Moving into Minato City Ward")   # 28 characters
    answers.delete_rows(r[("nhi_premium", "tl")])                                      # answer missing
    r = rows_by(answers, 0, 1)
    answers.cell(row=r[("moving_out", "es")], column=5, value="")                       # empty text
    answers.cell(row=r[("moving_out", "pt")], column=5, value="Ligue para 03-3578-2111.")
    examples = wb["examples"]
    examples.append(["moving_out", "en", "hello"])                                       # = greet example
    examples.append(["moving_in", "en", "how to register when moving to Minato from Kyoto"])
    examples.append(["moving_out", "en", "how to register when moving to Minato from Kyoto"])
    deps = wb["departments"]
    d = rows_by(deps, 0)
    deps.cell(row=d[("nhi_pension",)], column=4, value="03-9999-0000")                   # not in the facts
    deps.append(["parking_office", "", "", "03-3578-2111", ""])
    wb.save(exported)

    digest = tree_digest(project.root)
    code, text = run_cli(capsys, "import", str(exported), "--apply")
    assert code == 1
    assert tree_digest(project.root) == digest
    assert audit_lines(project) == []
    n = examples.max_row
    expected = [
        f"topics row {bad_topic_row}: unknown department 'parking_office'",
        f"answers row {r[('moving_in', 'en')]}: title over 20 characters (28)",
        f"topics row {rows_by(topics, 0)[('nhi_premium',)]}: answer missing in tl for topic nhi_premium",
        f"answers row {r[('moving_out', 'es')]}: answer missing in es for moving_out",
        f"answers row {r[('moving_out', 'pt')]}: phone number 03-3578-2111 in the text",
        f"examples row {n - 2}: duplicate example across topics: 'hello' is an example of greet",
        f"examples row {n}: duplicate example across topics: 'how to register when moving to Minato from Kyoto' "
        f"is also under moving_in (row {n - 1})",
        f"departments row {d[('nhi_pension',)]}: phone 03-9999-0000 is not in the directory/facts file",
        f"departments row {deps.max_row}: unknown department 'parking_office'",
    ]
    for line in expected:
        assert line in text, f"{line!r} not in:\n{text}"
    assert "Nothing was written" in text
