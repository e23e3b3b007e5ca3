"""CrisisGuard: a message about wanting to die gets the lifeline answer; words about death in
another sense do not (bot/nlu/crisis.py, bot/nlu/crisis.yml)."""
from __future__ import annotations

from uuid import uuid4

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.crisis import CrisisGuard, CrisisPhrases, load_phrases

PHRASES = load_phrases()
REAL = CrisisPhrases([p for per_language in PHRASES.values() for p in per_language])

# Written for this test (not from crisis.yml, not from any evaluation set).
CRISIS = [
    "I think I want to kill myself, I can't do this anymore",
    "もう死にたいです。誰に話せばいいですか",
    "もう しにたい です",
    "我真的不想活了",
    "더 이상 살고 싶지 않아요",
    "죽고싶어요 너무 힘들어",
    "Tôi muốn chết, không biết nói với ai",
    "toi muon chet",
    "ayoko nang mabuhay",
    "Às vezes penso em me matar",
    "Estoy pensando en suicidarme",
    "J'ai envie de mourir",
    "Saya ingin bunuh diri",
    "อยากตายมากเลย",
]
# Ordinary words about death, and idioms: never a crisis message.
HARMLESS = [
    "My mother died in hospital, how do I register her death?",
    "死亡届はどこに出しますか",
    "死ぬほど忙しいです。区役所は土曜日に開いていますか",
    "我父亲去世了，要办死亡登记",
    "Mẹ tôi đã mất, làm giấy chứng tử ở đâu?",
    "this heat is killing me, is there a cooling shelter?",
    "I'm dying to know the garbage days",
    "killing time before my appointment at the ward office",
    "estou morrendo de fome, tem restaurante perto do ku-yakusho?",
    "baterai hp saya mati, bisa charge di kantor?",
    "skills myself",
]


@pytest.mark.parametrize("text", CRISIS)
def test_crisis_messages_are_found(text):
    assert REAL.find(text), text


@pytest.mark.parametrize("text", HARMLESS)
def test_ordinary_words_about_death_are_not(text):
    assert REAL.find(text) is None, (text, REAL.find(text))


def test_every_listed_phrase_is_found_as_itself():
    missed = [p for per_language in PHRASES.values() for p in per_language if not REAL.find(f"... {p} ...")]
    assert not missed, missed


def test_the_list_covers_the_answer_languages_and_more():
    assert {"en", "ja", "zh", "ko", "vi", "ne", "tl", "pt", "es", "fr", "th", "id"} <= set(PHRASES)
    assert all(len(phrases) >= 5 for phrases in PHRASES.values())


def test_latin_phrases_match_whole_words_accents_optional():
    phrases = CrisisPhrases(["kill myself", "não quero mais viver"])
    assert phrases.find("I want to KILL   myself")
    assert phrases.find("Eu nao quero mais viver")      # typed without accents
    assert phrases.find("Eu não quero mais viver")
    assert phrases.find("skill myself") is None          # not a word of its own
    assert phrases.find("kill myselfie") is None


def test_vietnamese_phrases_need_their_tone_marks():
    # "tự tử" (suicide) without marks is "tu tu", and so is "từ từ" (slowly)
    phrases = CrisisPhrases(["tự tử", "toi muon chet"])
    assert phrases.find("bạn tôi nói muốn tự tử")
    assert phrases.find("Tôi muốn từ từ tìm hiểu thủ tục") is None
    assert phrases.find("em muon tu tu tim hieu") is None
    assert phrases.find("toi muon chet")
    assert REAL.find("Tôi muốn chết") and REAL.find("toi muon chet") and REAL.find("khong muon song nua")


def test_other_scripts_match_with_spaces_ignored():
    phrases = CrisisPhrases(["死にたい", "죽고 싶"])
    assert phrases.find("もう 死に たい")
    assert phrases.find("죽고싶어")
    assert phrases.find("죽고 싶어")
    assert phrases.find("死亡届") is None


@pytest.fixture
def guard(tmp_path):
    storage = LocalModelStorage.create(tmp_path)
    context = ExecutionContext(GraphSchema({}), uuid4().hex)
    return CrisisGuard.create(CrisisGuard.get_default_config(), storage, Resource("CrisisGuard"), context)


def classified(text, ranking):
    message = Message(data={TEXT: text})
    message.set(INTENT, dict(ranking[0]))
    message.set(INTENT_RANKING_KEY, [dict(r) for r in ranking])
    return message


def test_a_crisis_message_gets_the_lifeline_topic_and_keeps_the_classifiers_choice_second(guard):
    message = classified("死にたい", [{"name": "faq_death_registration", "confidence": 0.61},
                                     {"name": "faq_mental_health", "confidence": 0.2},
                                     {"name": "out_of_scope", "confidence": 0.1}])
    [out] = guard.process([message])
    assert out.get(INTENT) == {"name": "faq_mental_health", "confidence": 1.0}
    assert [r["name"] for r in out.get(INTENT_RANKING_KEY)] == [
        "faq_mental_health", "faq_death_registration", "out_of_scope"]


def test_an_uncertain_crisis_message_is_answered_not_given_candidates(guard):
    message = classified("ayoko nang mabuhay", [{"name": "nlu_fallback", "confidence": 0.75},
                                               {"name": "goodbye", "confidence": 0.24},
                                               {"name": "faq_mental_health", "confidence": 0.2}])
    [out] = guard.process([message])
    assert out.get(INTENT)["name"] == "faq_mental_health"
    assert [r["name"] for r in out.get(INTENT_RANKING_KEY)] == ["faq_mental_health", "goodbye"]


def test_other_messages_are_untouched(guard):
    ranking = [{"name": "faq_death_registration", "confidence": 0.8}, {"name": "faq_moving_out", "confidence": 0.1}]
    [out] = guard.process([classified("My father died, how do I report it?", ranking)])
    assert out.get(INTENT) == ranking[0]
    assert out.get(INTENT_RANKING_KEY) == ranking
