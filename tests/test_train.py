"""bot.train names a model by a hash of what its training reads, so a model is retrained exactly when needed."""
import shutil
from pathlib import Path

import pytest

from bot.train import inputs_hash

REPO = Path(__file__).resolve().parent.parent


def _copy_inputs(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    for rel in ["config.yml", "domain.yml", "bench/configs_rasa_default.yml"]:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / rel, root / rel)
    for rel in ["data/nlu/en", "data/rules", "bot/nlu"]:
        shutil.copytree(REPO / rel, root / rel)
    return root


@pytest.mark.parametrize("edited,default_retrained", [
    ("bot/nlu/e5_featurizer.py", False),   # Rasa's default pipeline never runs our components
    ("data/nlu/en/faq.yml", True),         # but it trains on the same data
])
def test_a_model_is_retrained_exactly_when_something_it_reads_changed(tmp_path, edited, default_retrained):
    root = _copy_inputs(tmp_path)
    ours, default = inputs_hash(root), inputs_hash(root, "bench/configs_rasa_default.yml")
    with open(root / edited, "a", encoding="utf-8") as f:
        f.write("\n# changed\n" if edited.endswith(".py") else "    - one more example\n")
    assert inputs_hash(root) != ours
    assert (inputs_hash(root, "bench/configs_rasa_default.yml") != default) is default_retrained


def test_rasas_command_line_checks_each_training_file_once_and_still_rejects_a_bad_one(monkeypatch):
    """bot.rasa_cli memoises RasaYAMLReader.validate: a text that passed is not checked again, a
    text that failed fails at every read, with Rasa's own error."""
    from rasa.shared.exceptions import YamlException
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader

    from bot.rasa_cli import validate_once

    calls = []
    original = RasaYAMLReader.validate

    def counted(self, string):
        calls.append(string)
        original(self, string)

    validate = validate_once(counted)
    good = 'version: "3.1"\nnlu:\n- intent: greet\n  examples: |\n    - hello\n'
    bad = 'version: "3.1"\nnlu:\n- intent: greet\n  examples: 42\n  unknown_key: x\n'
    reader = RasaYAMLReader()
    for _ in range(3):
        validate(reader, good)
    assert calls == [good]
    for _ in range(2):
        with pytest.raises(YamlException):
            validate(reader, bad)
    assert calls == [good, bad, bad]
    # and Rasa reads through it: the same training data as without it
    monkeypatch.setattr(RasaYAMLReader, "validate", validate)
    data = RasaYAMLReader().reads(good)
    assert [m.get("text") for m in data.training_examples] == ["hello"]
