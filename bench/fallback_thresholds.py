"""How the FallbackClassifier's two thresholds trade wrong answers against rejected questions.

    python -m bench.fallback_thresholds --model models/<name>.tar.gz [QUESTIONS.yaml ...]

Parses each question once and replays Rasa's FallbackClassifier on the classifier's own ranking:
a message becomes nlu_fallback when the top intent's confidence is below `threshold`, or when the
top two are within `ambiguity_threshold`. For each pair of values it prints, over the files given
(default: every tests/data/*_questions.yaml except the dev set, which is kept for the targets), the
FAQ questions answered with the right topic, answered with a wrong one, and rejected (the assistant
then offers three candidates), and the out-of-scope questions answered with a topic. The crisis
guard (a conf 1.0 override) is outside this replay; messages it decides are counted as parsed.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from bench.eval_nlu import REJECTED, load_questions, parse_all, predicted_label
from bot.nlu.message_guard import FALLBACK

REPO = Path(__file__).resolve().parent.parent
THRESHOLDS = (0.2, 0.25, 0.3)
AMBIGUITIES = (0.0, 0.01, 0.02, 0.03, 0.05, 0.08)


def ranking_of(parse: Dict) -> List[Tuple[str, float]]:
    """The classifier's ranking with the fallback's own entry removed."""
    return [(r["name"], float(r["confidence"])) for r in parse.get("intent_ranking") or []
            if r["name"] != FALLBACK]


def replay(ranking: List[Tuple[str, float]], threshold: float, ambiguity: float) -> str:
    """The label Rasa's FallbackClassifier would leave for this ranking."""
    if not ranking:
        return FALLBACK
    top = ranking[0][1]
    second = ranking[1][1] if len(ranking) > 1 else 0.0
    if top < threshold or top - second < ambiguity:
        return FALLBACK
    return predicted_label({"intent": {"name": ranking[0][0]}})


def tally(items: List[Dict], rankings: List[List[Tuple[str, float]]], threshold: float,
          ambiguity: float) -> Dict[str, int]:
    counts = {"faq": 0, "right": 0, "wrong": 0, "rejected": 0, "oos": 0, "oos_answered": 0}
    for item, ranking in zip(items, rankings):
        expect, label = str(item["expect"]), replay(ranking, threshold, ambiguity)
        if expect.startswith("faq/"):
            counts["faq"] += 1
            if label == expect:
                counts["right"] += 1
            elif label in REJECTED:
                counts["rejected"] += 1
            else:
                counts["wrong"] += 1
        elif expect == "out_of_scope":
            counts["oos"] += 1
            counts["oos_answered"] += label not in REJECTED
    return counts


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("questions", type=Path, nargs="*")
    parser.add_argument("--model", type=Path, required=True)
    args = parser.parse_args(argv)
    if not args.model.is_file():
        parser.error(f"no model archive at {args.model}")
    logging.basicConfig(level=logging.WARNING)
    files = args.questions or sorted(p for p in (REPO / "tests" / "data").glob("*_questions.yaml")
                                     if p.name != "dev_questions.yaml")
    items = [item for f in files for item in load_questions(f)]
    parses, _ = asyncio.run(parse_all(args.model, [str(i["text"]) for i in items]))
    rankings = [ranking_of(p) for p in parses]
    print(f"{len(items)} questions from {len(files)} files: {', '.join(f.name for f in files)}")
    print(f"{'threshold':>9} {'ambiguity':>9} {'FAQ right':>10} {'wrong':>6} {'rejected':>9} "
          f"{'OOS answered':>13}")
    for threshold in THRESHOLDS:
        for ambiguity in AMBIGUITIES:
            c = tally(items, rankings, threshold, ambiguity)
            print(f"{threshold:>9} {ambiguity:>9} {c['right']:>5}/{c['faq']:<4} {c['wrong']:>6} "
                  f"{c['rejected']:>9} {c['oos_answered']:>6}/{c['oos']:<6}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
