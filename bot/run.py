"""Run the assistant in the foreground: the action server, the Rasa server and the staff admin page, supervised.

    python -m bot.run [--model PATH]

Prints one line with the URL when both are ready. Ctrl-C (or SIGTERM) stops both cleanly. If one
process dies, that is reported with its exit code and the other is stopped: nothing is hidden.
Configuration comes from the environment (.env.example lists every variable and its default);
a .env file in the repository is read for values the environment does not already set.
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Dict, List, Optional

from bot.train import REPO, train

# How long the e5 encoder's idle OpenMP threads spin before sleeping (GOMP_SPINCOUNT). libgomp's
# default (300,000 spins) collapses when anything else holds a core (p95 945 ms an encoding with one
# core busy); never spinning (OMP_WAIT_POLICY=PASSIVE) made every /model/parse 9 ms slower on a quiet
# machine. 5,000 spins: /model/parse p50 23 / p95 34 ms quiet, encoding p95 66 ms with a core busy
# (docs/nlu.md, Speed). libgomp reads it once, when it loads (scikit-learn loads it first), so it
# must be in a server's environment from the start. An explicit setting wins.
OPENMP_SPINCOUNT = "5000"
# numpy's and scipy's OpenBLAS each start a helper thread per extra core, and after any BLAS call it
# spins (sched_yield) for a while on the core the e5 encoder's second thread needs: /model/parse came
# in bursts of 50 ms questions (p95 48-50 ms in three of five runs). A server's BLAS products are one
# message wide, so one thread does them as fast. Training (bot.train, a separate process) keeps both.
OPENBLAS_THREADS = "1"

DEFAULTS = {
    "PORT": "5005",
    "ACTION_PORT": "5055",
    "ADMIN_PORT": "5056",
    "HOST": "127.0.0.1",
    "TRACKER_DB": ".state/tracker.db",
    "CORS_ORIGINS": "*",
    "LINE_API_BASE_URL": "https://api.line.me",
}


def environment() -> Dict[str, str]:
    """The process environment, completed from .env (never overriding) and the defaults."""
    env = dict(os.environ)
    dotenv = REPO / ".env"
    if dotenv.exists():
        for line in dotenv.read_text(encoding="utf-8").splitlines():
            line = line.split("#", 1)[0].strip()
            if "=" in line:
                key, value = line.split("=", 1)
                if key.strip() and value.strip():
                    env.setdefault(key.strip(), value.strip())
    for key, value in DEFAULTS.items():
        if not env.get(key):
            env[key] = value
    (REPO / ".state").mkdir(exist_ok=True)
    env.setdefault("PYTHONUNBUFFERED", "1")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if "OMP_WAIT_POLICY" not in env:  # see OPENMP_SPINCOUNT above
        env.setdefault("GOMP_SPINCOUNT", OPENMP_SPINCOUNT)
    env.setdefault("OPENBLAS_NUM_THREADS", OPENBLAS_THREADS)  # see OPENBLAS_THREADS above
    return env


def commands(model: Path, env: Dict[str, str]) -> Dict[str, List[str]]:
    """The two server command lines."""
    rasa = [sys.executable, "-m", "rasa", "run", "--model", str(model), "--enable-api",
            "--interface", env["HOST"], "--port", env["PORT"], "--cors", env["CORS_ORIGINS"],
            "--credentials", "credentials.yml", "--endpoints", "endpoints.yml"]
    if env.get("RASA_AUTH_TOKEN"):
        rasa += ["--auth-token", env["RASA_AUTH_TOKEN"]]
    actions = [sys.executable, "-m", "rasa_sdk", "--actions", "actions", "--port", env["ACTION_PORT"]]
    from bot.staff.web import command as admin_command

    return {"action server": actions, "Rasa server": rasa, "admin page": admin_command(env)}


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except Exception:
        return False


def start(model: Path, env: Dict[str, str], log_dir: Optional[Path] = None) -> Dict[str, subprocess.Popen]:
    """Starts both servers (output to log_dir if given, else inherited)."""
    procs: Dict[str, subprocess.Popen] = {}
    for name, cmd in commands(model, env).items():
        out = None
        if log_dir is not None:
            log_dir.mkdir(parents=True, exist_ok=True)
            out = open(log_dir / f"{name.split()[0].lower()}.log", "w")
        procs[name] = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT if out else None,
                                       start_new_session=True)
    return procs


def wait_ready(procs: Dict[str, subprocess.Popen], env: Dict[str, str], timeout: float = 300) -> Optional[str]:
    """Waits until both servers answer; returns the name of a process that died instead, or None."""
    host = "127.0.0.1" if env["HOST"] in ("0.0.0.0", "::") else env["HOST"]
    from bot.staff.web import health_url

    checks = {"action server": f"http://{host}:{env['ACTION_PORT']}/health",
              "Rasa server": f"http://{host}:{env['PORT']}/",
              "admin page": health_url(env)}
    deadline = time.time() + timeout
    pending = dict(checks)
    while pending and time.time() < deadline:
        for name in list(pending):
            if procs[name].poll() is not None:
                return name
            if _ready(pending[name]):
                del pending[name]
        time.sleep(0.5)
    if pending:
        raise TimeoutError(f"not ready after {timeout:.0f} s: {', '.join(pending)}")
    return None


def _say(message: str) -> None:
    """A status line on stderr that cannot stop a shutdown (a supervisor may have closed the pipe)."""
    try:
        print(message, file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass


def stop(procs: Dict[str, subprocess.Popen], timeout: float = 15) -> None:
    """Stops every process (SIGTERM to its group, then SIGKILL after ``timeout``)."""
    for proc in procs.values():
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    deadline = time.time() + timeout
    for proc in procs.values():
        try:
            proc.wait(max(0.1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def main(argv: Optional[List[str]] = None) -> int:
    """CLI entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="model archive (default: train if needed)")
    args = parser.parse_args(argv)
    env = environment()
    model = args.model or train()
    procs = start(model, env)
    stopping = False

    def _terminate(signum, frame):  # noqa: ARG001
        nonlocal stopping
        stopping = True
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _terminate)
    try:
        dead = wait_ready(procs, env)
        if dead:
            print(f"\n✗ The {dead} exited with code {procs[dead].returncode} while starting.", file=sys.stderr)
            stop(procs)
            return 1
        base = f"http://localhost:{env['PORT']}"
        print(f"\n✓ Minato assistant ready: {base}/webhooks/web/  "
              f"(REST API: {base}/webhooks/rest/webhook, staff admin page: http://localhost:{env['ADMIN_PORT']}/, "
              f"actions on port {env['ACTION_PORT']}; Ctrl-C stops)",
              flush=True)
        while True:
            for name, proc in procs.items():
                if proc.poll() is not None:
                    print(f"\n✗ The {name} stopped unexpectedly (exit code {proc.returncode}); "
                          "stopping the other one.", file=sys.stderr)
                    stop(procs)
                    return proc.returncode or 1
            time.sleep(0.5)
    except KeyboardInterrupt:
        _say("\nStopping...")
        stop(procs)
        _say("Stopped.")
        return 0
    except TimeoutError as exc:
        print(f"\n✗ {exc}", file=sys.stderr)
        stop(procs)
        return 1


if __name__ == "__main__":
    sys.exit(main())
