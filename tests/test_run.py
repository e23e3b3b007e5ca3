"""bot.run: stopping the assistant stops every server it started, even when its own output is gone."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# A stand-in for bot.run's servers: start() and the SIGTERM path of main(), with sleeping children.
SCRIPT = r"""
import subprocess, sys, time
import bot.run as run

procs = {"a": subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], start_new_session=True),
         "b": subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], start_new_session=True)}
print(" ".join(str(p.pid) for p in procs.values()), flush=True)
run.start = lambda model, env, **kw: procs
run.wait_ready = lambda procs, env: None
run.train = lambda: "model"
sys.exit(run.main(["--model", "m.tar.gz"]))
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is not running
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def test_sigterm_stops_the_servers_even_when_nobody_reads_its_output_any_more():
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    children = [int(p) for p in proc.stdout.readline().split()]
    for _ in range(100):  # the ready line
        if "ready" in proc.stdout.readline():
            break
    proc.stdout.close()  # the supervisor that read its output has gone
    proc.send_signal(signal.SIGTERM)
    proc.wait(30)
    deadline = time.time() + 20
    while any(_alive(c) for c in children) and time.time() < deadline:
        time.sleep(0.2)
    leftover = [c for c in children if _alive(c)]
    for c in leftover:
        os.kill(c, signal.SIGKILL)
    assert not leftover, "servers left running after bot.run was stopped"


def test_the_servers_get_a_short_openmp_spin_unless_the_operator_chose_a_policy(monkeypatch):
    """libgomp's default spin made each question take ~0.5 s once another process held a core
    (docs/nlu.md, Speed); the servers must start with the bounded spin, and an operator's choice wins."""
    import bot.run as run

    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    monkeypatch.delenv("GOMP_SPINCOUNT", raising=False)
    assert run.environment()["GOMP_SPINCOUNT"] == run.OPENMP_SPINCOUNT
    monkeypatch.setenv("OMP_WAIT_POLICY", "PASSIVE")
    env = run.environment()
    assert env["OMP_WAIT_POLICY"] == "PASSIVE" and "GOMP_SPINCOUNT" not in env


def test_the_servers_blas_libraries_start_no_spinning_helper_threads(monkeypatch):
    """numpy's and scipy's OpenBLAS helper threads spun on the core the e5 encoder needs (docs/nlu.md,
    Speed): a server process must see one BLAS thread in every BLAS library it loads."""
    import bot.run as run

    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    probe = ("import json, numpy, scipy.linalg, sklearn.linear_model; from threadpoolctl import threadpool_info;"
             "print(json.dumps([p for p in threadpool_info() if p['user_api'] == 'blas']))")
    out = subprocess.run([sys.executable, "-c", probe], env=run.environment(), capture_output=True, text=True,
                         check=True).stdout
    blas = json.loads(out)
    assert len(blas) >= 2 and {p["num_threads"] for p in blas} == {1}, blas
