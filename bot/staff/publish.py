"""Publish: validate → train → swap the new model into the running Rasa server.

    python -m bot.staff retrain

1. Validate: the content rules (bot/staff/rules.py: the rules of tests/test_content.py, with every
   active topic complete), ``bot.content check`` (domain.yml and rules in step with the catalog),
   then ``rasa data validate --data data/nlu data/rules --domain domain.yml --config config.yml``.
2. Train with ``bot.train.train`` (cached by a hash of the inputs; the e5 embedding cache makes a
   retraining after a small edit quick).
3. Swap: ``PUT /model`` with ``{"model_file": path}`` on Rasa's HTTP API (``?token=`` when
   RASA_AUTH_TOKEN is set). Rasa loads the new model beside the old one and then switches; the
   tracker store is persistent, so conversations go on.

Answers, titles and the directory need no publishing: the action server re-reads the content
files when they change. Publishing is for the training examples and new or retired topics.
"""
from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional

from actions.content import REPO_DIR
from bot.staff import rules
from bot.staff.project import Project, StaffError

JST = dt.timezone(dt.timedelta(hours=9))
STEPS = ("validate", "train", "swap")
Progress = Callable[["PublishStatus"], None]


@dataclass
class PublishStatus:
    """Where a publish run is; saved to .state/publish.json for the admin page."""

    user: str = ""
    started: str = ""
    finished: str = ""
    state: str = "idle"                      # idle | running | done | failed
    step: str = ""
    steps: Dict[str, str] = field(default_factory=lambda: {s: "pending" for s in STEPS})
    log: List[str] = field(default_factory=list)
    model: str = ""
    error: str = ""

    def say(self, line: str) -> None:
        stamp = dt.datetime.now(JST).strftime("%H:%M:%S")
        self.log.append(f"{stamp} {line}")


def status_path(project: Project) -> Path:
    return project.state / "publish.json"


def load_status(project: Project) -> PublishStatus:
    try:
        data = json.loads(status_path(project).read_text(encoding="utf-8"))
        status = PublishStatus(**data)
        if status.state == "running" and not _publish_locked(project):
            status.state, status.error = "failed", "interrupted (the admin page was restarted)"
        return status
    except (OSError, ValueError, TypeError):
        return PublishStatus()


def _save(project: Project, status: PublishStatus) -> None:
    project.ensure_state()
    tmp = status_path(project).with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(status), ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, status_path(project))


def _publish_locked(project: Project) -> bool:
    path = project.state / "publish.lock"
    if not path.exists():
        return False
    with open(path, "a") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return True
        fcntl.flock(f, fcntl.LOCK_UN)
    return False


def _subprocess_env(project: Project) -> Dict[str, str]:
    env = dict(os.environ)
    paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    if str(REPO_DIR) not in paths:   # the project's custom components (bot.nlu) for a copied project
        env["PYTHONPATH"] = os.pathsep.join([str(REPO_DIR), *paths])
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return env


def validate(project: Project, say: Callable[[str], None] = print) -> None:
    """Raises StaffError listing what must be fixed before publishing."""
    from bot.content import render

    problems = rules.blocking(rules.check(project.root))
    if problems:
        lines = "\n".join(f"  - {p.message}" for p in problems[:30])
        more = f"\n  ... and {len(problems) - 30} more" if len(problems) > 30 else ""
        raise StaffError(f"Not published: {len(problems)} content problem(s) to fix first:\n{lines}{more}")
    say("content rules: OK")
    domain, faq_rules = render(project.root)
    if (project.root / "domain.yml").read_text(encoding="utf-8") != domain or \
            (project.root / "data" / "rules" / "faq.yml").read_text(encoding="utf-8") != faq_rules:
        raise StaffError("domain.yml or data/rules/faq.yml is out of step with the catalog: "
                         "run `python -m bot.content sync`")
    say("bot.content check: in step with the catalog")
    cmd = [sys.executable, "-m", "rasa", "data", "validate", "--data", "data/nlu", "data/rules",
           "--domain", "domain.yml", "--config", "config.yml"]
    result = subprocess.run(cmd, cwd=project.root, env=_subprocess_env(project), capture_output=True,
                            text=True, timeout=900)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        raise StaffError(f"Not published: `rasa data validate` failed:\n{tail}")
    say("rasa data validate: OK")


def train_model(project: Project, say: Callable[[str], None] = print) -> Path:
    from bot.train import train

    env = _subprocess_env(project)
    saved = {k: os.environ.get(k) for k in ("PYTHONPATH", "TF_CPP_MIN_LOG_LEVEL")}
    os.environ.update({k: env[k] for k in saved})   # `rasa train` runs as a child of this process
    try:
        return train(root=project.root, out=project.models_dir, quiet=True)
    except SystemExit as exc:   # bot.train reports failures with SystemExit
        raise StaffError(f"Training failed: {exc}") from None
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _request(project: Project, method: str, path: str, body: Optional[dict] = None,
             timeout: float = 600) -> tuple:
    url = project.rasa_url + path
    if project.rasa_token:
        url += ("&" if "?" in url else "?") + urllib.parse.urlencode({"token": project.rasa_token})
    data = json.dumps(body).encode("utf-8") if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as err:
        raw = err.read()
        try:
            return err.code, json.loads(raw)
        except ValueError:
            return err.code, raw.decode("utf-8", "replace")


def running_model(project: Project) -> Optional[str]:
    """The model file the running Rasa server uses (None when it is not reachable)."""
    try:
        status, body = _request(project, "GET", "/status", timeout=5)
    except (OSError, ValueError):
        return None
    if status == 401 or status == 403:
        raise StaffError("the Rasa server refused the request: set RASA_AUTH_TOKEN to its --auth-token")
    return (body or {}).get("model_file") if status == 200 and isinstance(body, dict) else None


def swap_model(project: Project, model: Path, say: Callable[[str], None] = print) -> bool:
    """Loads ``model`` into the running Rasa server. False when no server is running."""
    try:
        current = running_model(project)
    except StaffError:
        raise
    if current is None:
        say(f"the assistant is not running at {project.rasa_url}: the new model will be used at its next start")
        return False
    if Path(current).name == model.name:
        say(f"the running assistant already uses {model.name}")
        return True
    status, body = _request(project, "PUT", "/model", {"model_file": str(model.resolve())})
    if status not in (200, 204):
        raise StaffError(f"the Rasa server did not load the model (HTTP {status}): {body}")
    now = running_model(project)
    if not now or Path(now).name != model.name:
        raise StaffError(f"the Rasa server reports {now!r} after loading {model.name}")
    say(f"the running assistant now uses {model.name} (was {Path(current).name})")
    return True


def publish(project: Project, user: str, progress: Optional[Progress] = None,
            say: Optional[Callable[[str], None]] = None) -> PublishStatus:
    """Runs the three steps; one publish at a time. Returns the final status (failed or done)."""
    from bot.staff.store import Store

    project.ensure_state()
    lock = open(project.state / "publish.lock", "a")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        lock.close()
        raise StaffError("a publish is already running: wait for it to finish") from None
    status = PublishStatus(user=user, started=dt.datetime.now(JST).isoformat(timespec="seconds"), state="running")

    def note(line: str) -> None:
        status.say(line)
        if say:
            say(line)
        _save(project, status)
        if progress:
            progress(status)

    try:
        for step, run in (("validate", lambda: validate(project, note)),
                          ("train", lambda: train_model(project, note)),
                          ("swap", None)):
            status.step = step
            status.steps[step] = "running"
            note(f"{step}...")
            started = time.time()
            if step == "swap":
                swap_model(project, Path(status.model), note)
            else:
                value = run()
                if step == "train":
                    status.model = str(value)
                    note(f"model {Path(value).name} ready")
            status.steps[step] = "done"
            note(f"{step}: done in {time.time() - started:.0f} s")
        status.state = "done"
    except StaffError as exc:
        status.state, status.error = "failed", str(exc)
        status.steps[status.step] = "failed"
    except Exception as exc:   # reported on the page, never swallowed silently
        status.state, status.error = "failed", f"{type(exc).__name__}: {exc}"
        status.steps[status.step] = "failed"
    finally:
        status.finished = dt.datetime.now(JST).isoformat(timespec="seconds")
        note("published" if status.state == "done" else f"failed: {status.error.splitlines()[0]}")
        Store(project, user).audit("publish", Path(status.model).name if status.model else "-", [],
                                   result=status.state, error=status.error)
        fcntl.flock(lock, fcntl.LOCK_UN)
        lock.close()
    return status
