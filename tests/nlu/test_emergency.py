"""The medical-emergency list: someone in danger now gets the 119 answer; near misses (a collapsed
building, a past illness, "not bad enough for an ambulance") do not (bot/nlu/emergency.yml, read by
CrisisGuard as configured in config.yml)."""
from __future__ import annotations

from pathlib import Path
from uuid import uuid4

import pytest
import yaml
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.crisis import PHRASES_FILE, CrisisGuard, CrisisPhrases, load_phrases
from bot.staff.rules import nlu_examples

REPO = Path(__file__).resolve().parents[2]
EMERGENCY_FILE = PHRASES_FILE.with_name("emergency.yml")
PHRASES = load_phrases(EMERGENCY_FILE)
REAL = CrisisPhrases([p for per_language in PHRASES.values() for p in per_language])
SAMPLES = yaml.safe_load((Path(__file__).with_name("emergency_samples.yaml")).read_text(encoding="utf-8"))


def _ids(items):
    return [f"{i['lang']}:{i['text'][:30]}" for i in items]


@pytest.mark.parametrize("item", SAMPLES["emergency"], ids=_ids(SAMPLES["emergency"]))
def test_an_emergency_now_is_found(item):
    assert REAL.find(item["text"]), item


@pytest.mark.parametrize("item", SAMPLES["harmless"], ids=_ids(SAMPLES["harmless"]))
def test_near_misses_are_not(item):
    assert REAL.find(item["text"]) is None, (item, REAL.find(item["text"]))


def test_the_samples_cover_the_languages_residents_write_in():
    for key, least in (("emergency", 2), ("harmless", 2)):
        per_language = {}
        for item in SAMPLES[key]:
            per_language[item["lang"]] = per_language.get(item["lang"], 0) + 1
        languages = ("en", "ja", "zh", "ko", "vi", "pt", "es", "fr", "th", "id")
        assert all(per_language.get(lang, 0) >= least for lang in languages), (key, per_language)


def test_every_listed_phrase_is_found_as_itself_and_the_list_covers_the_languages():
    missed = [p for per_language in PHRASES.values() for p in per_language if not REAL.find(f"... {p} ...")]
    assert not missed, missed
    assert {"en", "ja", "zh", "ko", "vi", "ne", "tl", "pt", "es", "fr", "th", "id"} <= set(PHRASES)
    assert all(len(phrases) >= 5 for phrases in PHRASES.values())


def test_no_training_example_of_another_topic_is_taken_for_an_emergency():
    """18,000 real-looking questions about everything else: a phrase that fires on one of them
    would overrule the classifier on that kind of question too."""
    wrong = [(intent, text, REAL.find(text)) for intent, per_lang in nlu_examples(REPO).items()
             for texts in per_lang.values() for text in texts
             if intent != "faq_emergency_numbers" and REAL.find(text)]
    assert not wrong, wrong[:10]


def _guard(tmp_path, config):
    storage = LocalModelStorage.create(tmp_path)
    context = ExecutionContext(GraphSchema({}), uuid4().hex)
    return CrisisGuard.create({**CrisisGuard.get_default_config(), **config}, storage, Resource(uuid4().hex), context)


def _classified(text, ranking):
    message = Message(data={TEXT: text})
    message.set(INTENT, dict(ranking[0]))
    message.set(INTENT_RANKING_KEY, [dict(r) for r in ranking])
    return message


def _pipeline_guards():
    config = yaml.safe_load((REPO / "config.yml").read_text(encoding="utf-8"))
    return [c for c in config["pipeline"] if c["name"] == "bot.nlu.crisis.CrisisGuard"]


def test_config_runs_the_emergency_list_then_the_suicide_list_last():
    guards = _pipeline_guards()
    assert [g.get("intent", "faq_mental_health") for g in guards] == ["faq_emergency_numbers", "faq_mental_health"]
    assert (PHRASES_FILE.parent / guards[0]["phrases_file"]) == EMERGENCY_FILE
    config = yaml.safe_load((REPO / "config.yml").read_text(encoding="utf-8"))
    assert config["pipeline"][-1] == guards[-1]


def test_the_configured_guards_answer_an_emergency_with_119_and_a_crisis_with_the_lifeline(tmp_path):
    emergency, crisis = (_guard(tmp_path, {k: v for k, v in g.items() if k != "name"}) for g in _pipeline_guards())

    def run(text, ranking):
        return crisis.process(emergency.process([_classified(text, ranking)]))[0]

    out = run("my husband is not breathing, what do I do", [{"name": "faq_find_hospital", "confidence": 0.34},
                                                             {"name": "out_of_scope", "confidence": 0.23}])
    assert out.get(INTENT) == {"name": "faq_emergency_numbers", "confidence": 1.0}
    # the classifier's own reading stays one tap away
    assert [r["name"] for r in out.get(INTENT_RANKING_KEY)] == [
        "faq_emergency_numbers", "faq_find_hospital", "out_of_scope"]

    out = run("He took all his pills and wants to die, he is not breathing properly",
              [{"name": "faq_find_hospital", "confidence": 0.5}])
    assert out.get(INTENT)["name"] == "faq_mental_health"     # both lists: the lifeline (it gives 119 too)

    ranking = [{"name": "faq_earthquake_what_to_do", "confidence": 0.7}]
    out = run("the bookshelf collapsed in the earthquake, what should I do", ranking)
    assert out.get(INTENT) == ranking[0]
