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
