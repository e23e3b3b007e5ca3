"""Keeps the Rasa files that list FAQ topics in step with the catalog (data/catalog.yml).

    python -m bot.content sync     # rewrite the FAQ intents in domain.yml and data/rules/faq.yml
    python -m bot.content check    # exit 1 if they are out of step (used by tests and CI)

The catalog is the one place a topic is declared; domain.yml's intent list and the one-rule-per-
topic file are derived from it (one intent per topic keeps the FAQ-level fallback honest).
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import List, Tuple

from actions.content import REPO_DIR, load_content

BEGIN = "  # BEGIN FAQ INTENTS\n"
END = "  # END FAQ INTENTS\n"


def faq_intents(root: Path = REPO_DIR) -> List[str]:
    """faq_<id> for every active topic, in catalog order."""
    content = load_content(root / "data")
    return [f"faq_{t.id}" for t in content.active_topics]


def render(root: Path = REPO_DIR) -> Tuple[str, str]:
    """The expected domain.yml and data/rules/faq.yml texts."""
    intents = faq_intents(root)
    domain = (root / "domain.yml").read_text(encoding="utf-8")
    head, rest = domain.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    domain = head + BEGIN + "".join(f"  - {name}\n" for name in intents) + END + tail
    rules = ['version: "3.1"',
             "# Generated from data/catalog.yml by `python -m bot.content sync`: do not edit by hand.",
             "rules:"]
    for name in intents:
        rules += [f"  - rule: answer {name}", "    steps:", f"      - intent: {name}",
                  "      - action: action_answer_faq"]
    return domain, "\n".join(rules) + "\n"


def main(argv: List[str]) -> int:
    """CLI entry point."""
    command = argv[0] if argv else "check"
    domain, rules = render()
    domain_path, rules_path = REPO_DIR / "domain.yml", REPO_DIR / "data" / "rules" / "faq.yml"
    current = (domain_path.read_text(encoding="utf-8"),
               rules_path.read_text(encoding="utf-8") if rules_path.exists() else "")
    if command == "sync":
        domain_path.write_text(domain, encoding="utf-8")
        rules_path.write_text(rules, encoding="utf-8")
        print(f"domain.yml and {rules_path.relative_to(REPO_DIR)} list {len(faq_intents())} FAQ topics")
        return 0
    if current != (domain, rules):
        print("domain.yml or data/rules/faq.yml is out of step with data/catalog.yml: run `python -m bot.content sync`")
        return 1
    print("in step with the catalog")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
