"""Rasa's command line, with each training file's YAML schema checked once per content, not per read.

    python -m bot.rasa_cli train ...     # what bot/train.py runs; any `rasa` command works

In one `rasa train`, Rasa 3.6 reads the NLU training data three times (to fingerprint the graph, to
train, and for the domain) and checks every file against its schema at every read: about 6.5 s for
our 238 files each time, 19 s of a training. The same check still runs on every file, with the same
errors, once for each distinct text; a file that fails is checked again wherever it is read.
"""
from __future__ import annotations

import functools
import hashlib
from typing import Callable, Set

from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader

Validate = Callable[[RasaYAMLReader, str], None]


def validate_once(validate: Validate) -> Validate:
    """``validate``, skipped for a text it has already passed."""
    passed: Set[bytes] = set()

    @functools.wraps(validate)
    def wrapper(self: RasaYAMLReader, string: str) -> None:
        key = hashlib.sha256(string.encode("utf-8", "surrogatepass")).digest()
        if key in passed:
            return
        validate(self, string)
        passed.add(key)

    return wrapper


def main() -> None:
    """Runs Rasa's command line (arguments from sys.argv) with the schema check memoised."""
    if not getattr(RasaYAMLReader.validate, "__wrapped__", None):
        RasaYAMLReader.validate = validate_once(RasaYAMLReader.validate)
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
