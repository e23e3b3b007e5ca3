"""Choose the classifier settings by cross-validation on our own training data (not the dev set).

    python -m bench.nlu_experiments

Leave-one-language-out: train on every language but L, test on L's examples. This measures what
matters here, recognising a question in a language with few or no examples, without touching any
evaluation set. Prints top-1 accuracy, how often in-scope examples fall below the fallback
threshold, and how many out_of_scope examples are rejected, for each setting.
"""
from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path
from typing import Dict, List, Tuple

import numpy as np
from sklearn.linear_model import LogisticRegression

from bot.nlu.e5_featurizer import E5Featurizer

REPO = Path(__file__).resolve().parent.parent
REJECT = {"out_of_scope"}


def load() -> Tuple[List[str], List[str], List[str]]:
    """(texts, intents, languages) of all training examples."""
    from rasa.shared.nlu.training_data.loading import load_data

    texts, intents, langs = [], [], []
    for lang_dir in sorted((REPO / "data" / "nlu").iterdir()):
        data = load_data(str(lang_dir))
        for ex in data.training_examples:
            texts.append(ex.get("text"))
            intents.append(ex.get("intent"))
            langs.append(lang_dir.name)
    return texts, intents, langs


def main() -> int:
    texts, intents, langs = load()
    feat = E5Featurizer({}, "e5")
    disk = feat._load_disk_cache()
    from bot.nlu.e5_featurizer import normalise
    for t in texts:
        key = normalise(t, 1000)
        vec = disk.get(feat._digest(key))
        if vec is not None:
            feat._cache.put(key, vec)
    X = feat.embed(texts)
    y = np.array(intents)
    langs_arr = np.array(langs)
    print(f"{len(texts)} examples, {len(set(intents))} intents, languages: {sorted(set(langs))}")
    for C in [float(c) for c in (sys.argv[1:] or ["16", "50", "100", "200"])]:
        for threshold in (0.2, 0.3):
            per_lang: Dict[str, List[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
            for lang in sorted(set(langs)):
                train, test = langs_arr != lang, langs_arr == lang
                clf = LogisticRegression(C=C, max_iter=2000, class_weight="balanced", random_state=42)
                clf.fit(X[train], y[train])
                proba = clf.predict_proba(X[test])
                pred = clf.classes_[proba.argmax(1)]
                conf = proba.max(1)
                row = per_lang[lang]
                for truth, p, c in zip(y[test], pred, conf):
                    if truth.startswith("faq_"):
                        row[0] += 1
                        row[1] += (p == truth) and c >= threshold
                        row[2] += c < threshold or p in REJECT
                    elif truth == "out_of_scope":
                        row[3] += 1
                        row[4] += c < threshold or p in REJECT
            tot = np.sum([v for v in per_lang.values()], axis=0)
            worst = sorted(((v[1] / v[0], k) for k, v in per_lang.items() if v[0]), key=lambda x: x[0])[:4]
            print(f"C={C:<6} thr={threshold}: FAQ top-1 {100 * tot[1] / tot[0]:.1f}%  "
                  f"in-scope rejected {100 * tot[2] / tot[0]:.1f}%  OOS rejected {100 * tot[4] / max(tot[3], 1):.1f}%  "
                  f"weakest: " + ", ".join(f"{k} {100 * a:.0f}%" for a, k in worst))
    return 0


if __name__ == "__main__":
    sys.exit(main())
