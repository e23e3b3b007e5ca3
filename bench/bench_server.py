"""Benchmarks of the assistant as a resident and an operator meet it. Prints numbers; asserts nothing.

    python -m bench.bench_server [--fresh-clone] [--retrain] [--questions N]

- training time (with --retrain: a fresh model in a temporary models dir; the embedding cache and
  Rasa's training cache are used unless E5_CACHE_DIR and RASA_CACHE_DIRECTORY point somewhere empty:
  `E5_CACHE_DIR=$(mktemp -d) RASA_CACHE_DIRECTORY=$(mktemp -d) python -m bench.bench_server --retrain`
  times a training from scratch),
- start-up time of the Rasa server and the action server until both answer,
- resident memory (RSS) of each process after start-up and after the questions,
- p50/p95/max latency of POST /webhooks/rest/webhook over N sequential questions (default 200),
  and of POST /model/parse,
- with --fresh-clone: time from `git clone` of this repository to "ready" via `make run` in the
  clone (installs a new .venv: minutes, dominated by downloads).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Dict, List

import yaml

from bot.run import environment, start, stop, wait_ready
from bot.train import REPO, train
from tests.conftest import free_port


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children, in MB (from /proc)."""
    total = 0
    pids = [pid]
    try:
        children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
        pids += [int(c) for c in children]
    except OSError:
        pass
    for p in pids:
        try:
            status = Path(f"/proc/{p}/status").read_text()
            total += int(re.search(r"VmRSS:\s+(\d+)", status).group(1))
        except (OSError, AttributeError):
            continue
    return total / 1024


def post(url: str, body: Dict) -> float:
    """Seconds taken by one POST (the response is read fully)."""
    data = json.dumps(body).encode()
    started = time.perf_counter()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        response.read()
    return time.perf_counter() - started


def summary(name: str, seconds: List[float]) -> str:
    ms = sorted(s * 1000 for s in seconds)
    p95 = ms[min(len(ms) - 1, int(0.95 * len(ms)))]
    return f"{name}: n={len(ms)} p50={statistics.median(ms):.0f} ms p95={p95:.0f} ms max={ms[-1]:.0f} ms"


def questions(n: int) -> List[str]:
    items = yaml.safe_load((REPO / "tests" / "data" / "dev_questions.yaml").read_text(encoding="utf-8"))
    texts = [str(i["text"]) for i in items]
    return [texts[i % len(texts)] for i in range(n)]


def fresh_clone() -> None:
    """git clone → make run → ready, timed."""
    with tempfile.TemporaryDirectory() as tmp:
        clone = Path(tmp) / "clone"
        started = time.time()
        subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
        env = dict(os.environ, PORT=str(free_port()), ACTION_PORT=str(free_port()), ADMIN_PORT=str(free_port()))
        env.pop("VIRTUAL_ENV", None)
        proc = subprocess.Popen(["make", "run"], cwd=clone, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, start_new_session=True)
        ready = None
        for line in proc.stdout:
            if "ready:" in line:
                ready = time.time() - started
                break
        # Print first: stopping must not lose the number.
        print(f"fresh clone → ready: {ready:.0f} s" if ready else "fresh clone: never became ready", flush=True)
        # SIGTERM, not SIGINT: a shell started in the background ignores SIGINT, and so do its children.
        # make exits at once; bot.run then stops the servers it started in their own sessions. Wait
        # for every process running from the clone before the directory is removed under them.
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(60)
        deadline = time.time() + 60
        while _processes_under(clone) and time.time() < deadline:
            time.sleep(1)
        for pid in _processes_under(clone):
            os.kill(pid, signal.SIGKILL)


def _processes_under(directory: Path) -> List[int]:
    """Pids of processes whose command line names ``directory`` (the clone's servers)."""
    found = subprocess.run(["pgrep", "-f", str(directory)], capture_output=True, text=True).stdout.split()
    return [int(pid) for pid in found if int(pid) != os.getpid()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--retrain", action="store_true", help="time a training from scratch")
    parser.add_argument("--fresh-clone", action="store_true", help="time git clone → make run → ready")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores; python {sys.version.split()[0]}")
    if args.fresh_clone:
        fresh_clone()
    if args.retrain:
        with tempfile.TemporaryDirectory() as tmp:
            started = time.time()
            model = train(out=Path(tmp), quiet=True)
            print(f"training: {time.time() - started:.0f} s")
            kept = REPO / "models" / model.name
            kept.parent.mkdir(exist_ok=True)
            shutil.copy(model, kept)
    model = train(quiet=True)
    env = environment()
    state = Path(tempfile.mkdtemp())
    env.update({"PORT": str(free_port()), "ACTION_PORT": str(free_port()), "ADMIN_PORT": str(free_port()),
                "TRACKER_DB": str(state / "t.db")})
    started = time.time()
    procs = start(model, env, log_dir=state)
    try:
        dead = wait_ready(procs, env)
        if dead:
            print(f"{dead} died; see {state}")
            return 1
        print(f"start-up until both servers answer: {time.time() - started:.1f} s")
        for name, proc in procs.items():
            print(f"RSS after start-up, {name}: {rss_mb(proc.pid):.0f} MB")
        base = f"http://127.0.0.1:{env['PORT']}"
        texts = questions(args.questions)
        post(f"{base}/webhooks/rest/webhook", {"sender": "warmup", "message": "hello"})
        rest = [post(f"{base}/webhooks/rest/webhook", {"sender": f"bench-{i % 20}", "message": t})
                for i, t in enumerate(texts)]
        print(summary("REST webhook (full turn: NLU + rules + action server)", rest))
        # texts the server has not seen (the run-time embedding cache would otherwise answer)
        parse = [post(f"{base}/model/parse", {"text": f"{t} #{i}"}) for i, t in enumerate(texts)]
        print(summary("/model/parse (texts not seen before, no cache hit)", parse))
        for name, proc in procs.items():
            print(f"RSS after {len(texts)} questions, {name}: {rss_mb(proc.pid):.0f} MB")
    finally:
        stop(procs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
