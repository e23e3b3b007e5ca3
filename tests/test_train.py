"""bot.train names a model by a hash of what its training reads, so a model is retrained exactly when needed."""
import shutil
from pathlib import Path

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


def test_a_change_in_the_custom_components_retrains_only_the_pipelines_that_use_them(tmp_path):
    root = _copy_inputs(tmp_path)
    ours, default = inputs_hash(root), inputs_hash(root, "bench/configs_rasa_default.yml")
    with open(root / "bot/nlu/e5_featurizer.py", "a", encoding="utf-8") as f:
        f.write("\n# changed\n")
    assert inputs_hash(root) != ours
    assert inputs_hash(root, "bench/configs_rasa_default.yml") == default


def test_a_change_in_the_training_data_retrains_both(tmp_path):
    root = _copy_inputs(tmp_path)
    ours, default = inputs_hash(root), inputs_hash(root, "bench/configs_rasa_default.yml")
    with open(root / "data/nlu/en/faq.yml", "a", encoding="utf-8") as f:
        f.write("    - one more example\n")
    assert inputs_hash(root) != ours
    assert inputs_hash(root, "bench/configs_rasa_default.yml") != default
