"""Where the staff tools read and write: the project (domain.yml, config.yml, data/), the state
directory (audit log, staff users), the tracker store and the running Rasa server.

Everything comes from the environment, with the same defaults as ``bot/run.py``:

- ``MINATO_PROJECT_DIR``: the project root (default: the parent of ``MINATO_DATA_DIR`` when that
  holds a domain.yml, else this repository). Content is always ``<root>/data``.
- ``STAFF_STATE_DIR``: audit log, staff users, uploads, publish status (default ``<root>/.state``).
- ``TRACKER_DB``: the SQLite tracker store (default ``.state/tracker.db``, relative to this
  repository, where ``bot/run.py`` starts Rasa).
- ``RASA_URL`` (default ``http://127.0.0.1:$PORT``, PORT 5005) and ``RASA_AUTH_TOKEN``.
- ``MODELS_DIR``: where models are trained (``bot/train.py``; default ``<root>/models``).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Optional

from actions.content import REPO_DIR


class StaffError(Exception):
    """An error to show to staff as it is (a sentence that says what to do)."""


@dataclass(frozen=True)
class Project:
    """The files and services the staff tools work on."""

    root: Path
    state: Path
    tracker_db: Path
    rasa_url: str
    rasa_token: str = ""
    models_dir: Optional[Path] = None

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def audit_log(self) -> Path:
        return self.state / "audit.log"

    @property
    def users_file(self) -> Path:
        return self.state / "staff_users.json"

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None) -> Project:
        """The project as configured by environment variables (see the module docstring)."""
        env = os.environ if env is None else env
        root = env.get("MINATO_PROJECT_DIR")
        if root:
            root_path = Path(root)
        elif env.get("MINATO_DATA_DIR") and (Path(env["MINATO_DATA_DIR"]).parent / "domain.yml").exists():
            root_path = Path(env["MINATO_DATA_DIR"]).parent
        else:
            root_path = REPO_DIR
        root_path = root_path.resolve()
        data_env = env.get("MINATO_DATA_DIR")
        if data_env and Path(data_env).resolve() != root_path / "data":
            raise StaffError(f"MINATO_DATA_DIR ({data_env}) must be the data/ folder of the project "
                             f"({root_path}); set MINATO_PROJECT_DIR to the folder that holds domain.yml.")
        state = Path(env.get("STAFF_STATE_DIR") or root_path / ".state")
        tracker = Path(env.get("TRACKER_DB") or ".state/tracker.db")
        if not tracker.is_absolute():
            tracker = REPO_DIR / tracker
        port = env.get("PORT") or "5005"
        url = (env.get("RASA_URL") or f"http://127.0.0.1:{port}").rstrip("/")
        models = env.get("MODELS_DIR")
        return cls(root=root_path, state=state, tracker_db=tracker, rasa_url=url,
                   rasa_token=env.get("RASA_AUTH_TOKEN") or "", models_dir=Path(models) if models else None)

    def ensure_state(self) -> Path:
        """Creates the state directory (private to this user) and returns it."""
        self.state.mkdir(parents=True, exist_ok=True)
        try:
            os.chmod(self.state, 0o700)
        except OSError:
            pass
        return self.state
