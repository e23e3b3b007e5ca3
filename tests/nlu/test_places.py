"""Place names marked for the n-gram features (bot/nlu/places.py, CharTfidfFeaturizer `places`)."""
from __future__ import annotations

from uuid import uuid4

import numpy as np
import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu import places
from bot.nlu.char_tfidf_featurizer import CharTfidfFeaturizer, normalise
from bot.nlu.places import ELSEWHERE as E
from bot.nlu.places import MINATO as M


@pytest.fixture(scope="module")
def gazetteer():
    return places.gazetteer()


@pytest.mark.parametrize("text,marked", [
    # the direction of a move survives, whichever city
    ("i moved from osaka to minato last week", f"i moved from{E}to{M}last week"),
    ("moving to kawasaki next month", f"moving to{E}next month"),
    ("mình chuyển sang nagoya rồi", f"mình chuyển sang{E}rồi"),
    ("大阪から港区に引っ越しました", f"{E}から{M}に引っ越しました"),
    ("오사카로 이사 가는데 오사카 구청에", f"{E}로 이사 가는데{E}구청에"),
    ("อยู่คาวาซากิค่ะ", f"อยู่{E}ค่ะ"),
    # another city's office
    ("川崎市役所はどこ", f"{E}役所はどこ"),
    ("kantor kota nagoya", f"kantor kota{E}"),
    # the longest name wins; Tokyo is neither; Ōsaka is Osaka
    ("東京都港区芝浦", f"東京都{M}{M}"),
    ("京都に行きます", f"{E}に行きます"),
    ("near hamamatsucho station", f"near{M}station"),
    ("ōsaka or oosaka", f"{E}or{E}"),
    ("azabu-juban, azabu juban", f"{M},{M}"),
    ("shinjuku-ku", E),
])
def test_places_are_marked(gazetteer, text, marked):
    assert gazetteer.mark(text) == marked


@pytest.mark.parametrize("text", [
    "いちばん ちかい びょういん",          # ちば (Chiba) inside a word
    "osakas and chibana",                   # not whole words
    "kita po tayo bukas",                   # Tagalog "kita"
    "¿salgo del edificio o me quedo?",      # "o me" is not Ōme: a name's words are not split
    "くえいじゅうたく に すみたい",           # すみた is not すみだ (Sumida) without its dakuten
    "ถ้าจะเรียกคิวคิวชะ",                    # ambulance, not Kyushu without its vowel sign
    "tokyo",
    "",
])
def test_words_that_merely_contain_a_name_are_left_alone(gazetteer, text):
    assert gazetteer.mark(text) == text


def test_every_name_in_the_file_is_found_as_itself(gazetteer):
    names = places.load_names()
    assert len(names["elsewhere"]) > 200 and len(names["minato"]) > 50
    assert not set(map(str.lower, names["minato"])) & set(map(str.lower, names["elsewhere"]))
    for mark, key in ((M, "minato"), (E, "elsewhere")):
        for name in names[key]:
            text = f" {normalise(name, 100)} "
            assert gazetteer.mark(text).strip() == mark, name


@pytest.fixture
def storage(tmp_path):
    return LocalModelStorage.create(tmp_path)


def _cosine(a, b):
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_featurizer_treats_unseen_cities_like_trained_ones_and_keeps_its_names(storage, tmp_path, monkeypatch):
    """A city the training data never named gets the n-grams of the direction it was named with."""
    context = ExecutionContext(GraphSchema({}), uuid4().hex)
    config = {**CharTfidfFeaturizer.get_default_config(), "places": True, "min_df": 1}
    featurizer = CharTfidfFeaturizer.create(config, storage, Resource("places"), context)
    texts = ["moving to osaka", "moving from osaka", "moving to kyoto", "moving from kyoto"]
    featurizer.train(TrainingData([Message(data={TEXT: t, INTENT: "x"}) for t in texts]))

    def row(f, text):
        [m] = f.process([Message(data={TEXT: text})])
        return m.get_sparse_features(TEXT)[1].features.toarray().ravel()

    def margin(f):
        """How much nearer "to <unseen city>" is to "to osaka" than to "from osaka"."""
        unseen = row(f, "moving to sapporo")
        return _cosine(unseen, row(f, "moving to osaka")) - _cosine(unseen, row(f, "moving from osaka"))

    plain = CharTfidfFeaturizer.create({**config, "places": False}, storage, Resource("plain"), context)
    plain.train(TrainingData([Message(data={TEXT: t, INTENT: "x"}) for t in texts]))
    assert margin(featurizer) > margin(plain) + 0.1
    unseen = row(featurizer, "moving to sapporo")
    assert np.allclose(unseen, row(featurizer, "moving to osaka"))
    # an edited places.yml does not change what a trained model sees
    empty = tmp_path / "places.yml"
    empty.write_text("minato: []\nelsewhere: []\n", encoding="utf-8")
    monkeypatch.setattr(places, "PLACES_FILE", empty)
    monkeypatch.setattr(places.load_names, "__defaults__", (empty,))
    loaded = CharTfidfFeaturizer.load(config, storage, Resource("places"), context)
    assert np.allclose(row(loaded, "moving to sapporo"), unseen)


def test_place_list_is_part_of_the_featurizers_fingerprint(tmp_path, monkeypatch):
    config = {**CharTfidfFeaturizer.get_default_config(), "places": True}
    before = CharTfidfFeaturizer.fingerprint_addon(config)
    assert CharTfidfFeaturizer.fingerprint_addon({**config, "places": False}) is None
    edited = tmp_path / "places.yml"
    edited.write_text(places.PLACES_FILE.read_text(encoding="utf-8") + "  - Nowhere-mura\n", encoding="utf-8")
    monkeypatch.setattr(places.digest, "__defaults__", (edited,))
    assert CharTfidfFeaturizer.fingerprint_addon(config) != before
