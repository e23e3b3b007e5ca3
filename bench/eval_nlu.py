"""NLU evaluation on a questions file (the format of tests/data/dev_questions.yaml).

    python -m bench.eval_nlu QUESTIONS.yml [--model PATH] [--config CONFIG ...] [--errors]

For each model (the current one, trained if needed, and one per extra --config, e.g.
bench/configs_rasa_default.yml for Rasa's default pipeline) it prints, per language and overall:
top-1 accuracy on FAQ questions, the rate of out-of-scope questions rejected, the rate of in-scope
questions wrongly rejected, accuracy on department and conversational items, training time and
parse latency; then the list of errors. An item's `expect` is `faq/<topic>`, `out_of_scope`,
`dept:<department key>` or `intent:<name>`.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Dict, List, Optional

import yaml

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
REJECTED = {"nlu_fallback", "out_of_scope"}


def load_questions(path: Path) -> List[Dict[str, Any]]:
    """The items of a questions file."""
    items = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    if isinstance(items, dict):
        items = items.get("questions") or items.get("items") or []
    return [i for i in items if isinstance(i, dict) and i.get("text") is not None and i.get("expect")]


def predicted_label(parse: Dict[str, Any]) -> str:
    """faq/<topic>, or the intent name, from a /model/parse result (flat or retrieval intents)."""
    intent = (parse.get("intent") or {}).get("name") or ""
    if intent.startswith("faq_"):
        return "faq/" + intent[4:]
    if intent == "faq":
        key = (parse.get("response_selector", {}).get("faq", {}).get("response", {})
               .get("intent_response_key"))
        return key or "faq"
    return intent


def department_of(parse: Dict[str, Any]) -> Optional[str]:
    """The department the assistant would give a card for: the action's own resolution."""
    from actions.contacts import resolve_department
    from actions.content import get_content

    return resolve_department(parse.get("text") or "", parse.get("intent_ranking") or [], get_content())


def score(items: List[Dict[str, Any]], parses: List[Dict[str, Any]]) -> Dict[str, Any]:
    """Per-language and overall counts, and the errors."""
    by_lang: Dict[str, Dict[str, int]] = defaultdict(lambda: defaultdict(int))
    errors = []
    for item, parse in zip(items, parses):
        expect, label = str(item["expect"]), predicted_label(parse)
        conf = (parse.get("intent") or {}).get("confidence") or 0.0
        for key in (item.get("lang", "?"), "ALL"):
            row = by_lang[key]
            if expect.startswith("faq/"):
                row["faq"] += 1
                row["faq_ok"] += label == expect
                row["faq_rejected"] += label in REJECTED
            elif expect == "out_of_scope":
                row["oos"] += 1
                row["oos_rejected"] += label in REJECTED
            elif expect.startswith("dept:"):
                row["dept"] += 1
                ok = label == "ask_department_contact" and department_of(parse) == expect[5:]
                row["dept_ok"] += ok
            elif expect.startswith("intent:"):
                row["conv"] += 1
                row["conv_ok"] += label == expect[7:]
        wrong = (
            (expect.startswith("faq/") and label != expect)
            or (expect == "out_of_scope" and label not in REJECTED)
            or (expect.startswith("intent:") and label != expect[7:])
            or (expect.startswith("dept:") and (label != "ask_department_contact"
                                                or department_of(parse) != expect[5:]))
        )
        if wrong:
            extra = f" dept={department_of(parse)}" if expect.startswith("dept:") else ""
            errors.append(f"[{item.get('lang')}] expected {expect}, got {label} ({conf:.2f}){extra}: {item['text']}")
    return {"rows": by_lang, "errors": errors}


def pct(a: int, b: int) -> str:
    return f"{100 * a / b:5.1f}%" if b else "    —"


def print_table(name: str, result: Dict[str, Any], train_s: Optional[float], latencies: List[float]) -> None:
    """The summary table of one model."""
    rows = result["rows"]
    print(f"\n== {name}")
    if train_s is not None:
        print(f"training: {train_s:.0f} s")
    if latencies:
        lat = sorted(latencies)
        p95 = lat[min(len(lat) - 1, int(0.95 * len(lat)))]
        print(f"parse latency: p50 {statistics.median(lat) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms "
              f"(in-process, {len(lat)} messages)")
    print(f"{'lang':8} {'FAQ top-1':>10} {'n':>4} {'OOS rejected':>13} {'n':>3} {'in-scope rejected':>18} "
          f"{'dept':>7} {'conv':>7}")
    for lang in sorted(rows, key=lambda k: (k == "ALL", k)):
        r = rows[lang]
        print(f"{lang:8} {pct(r['faq_ok'], r['faq']):>10} {r['faq']:>4} {pct(r['oos_rejected'], r['oos']):>13} "
              f"{r['oos']:>3} {pct(r['faq_rejected'], r['faq']):>18} {pct(r['dept_ok'], r['dept']):>7} "
              f"{pct(r['conv_ok'], r['conv']):>7}")


async def parse_all(model: Path, texts: List[str]) -> tuple:
    """Parses every text with the model (warm-up first), timing each parse."""
    from rasa.core.agent import Agent
    from rasa.utils.log_utils import configure_structlog

    # Rasa's structlog prints a debug line per parse to stdout unless configured (and it costs time)
    configure_structlog(logging.WARNING)
    agent = Agent.load(str(model))
    await agent.parse_message("warm up")
    parses, latencies = [], []
    for text in texts:
        start = time.perf_counter()
        parses.append(await agent.parse_message(text))
        latencies.append(time.perf_counter() - start)
    return parses, latencies


def main(argv: Optional[List[str]] = None) -> int:
    """CLI entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("questions", type=Path)
    parser.add_argument("--model", type=Path, help="evaluate this model archive (default: current, trained if needed)")
    parser.add_argument("--config", action="append", default=[],
                        help="also train and evaluate this config (e.g. bench/configs_rasa_default.yml)")
    parser.add_argument("--no-errors", action="store_true", help="do not list the errors")
    args = parser.parse_args(argv)
    if args.model and not args.model.is_file():
        # Rasa's Agent.load would quietly load the newest model in that folder instead
        parser.error(f"no model archive at {args.model}")
    logging.basicConfig(level=logging.WARNING)
    from bot.train import train

    items = load_questions(args.questions)
    texts = [str(i["text"]) for i in items]
    runs = []
    if args.model:
        runs.append((f"model {args.model.name}", args.model, None))
    else:
        started = time.time()
        model = train(quiet=True)
        runs.append(("current pipeline (config.yml)", model, None))
    for config in args.config:
        started = time.time()
        model = train(config=config, prefix=Path(config).stem, quiet=True)
        fresh = time.time() - started
        runs.append((f"{config}", model, fresh if fresh > 5 else None))
    print(f"{len(items)} questions from {args.questions}")
    for name, model, train_s in runs:
        parses, latencies = asyncio.run(parse_all(model, texts))
        result = score(items, parses)
        print_table(name, result, train_s, latencies)
        if not args.no_errors and result["errors"]:
            print(f"errors ({len(result['errors'])}):")
            for line in result["errors"]:
                print("  " + line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
