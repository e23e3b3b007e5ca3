"""bench/fallback_thresholds.py replays Rasa's FallbackClassifier: the two must agree on every ranking."""
import itertools

import pytest
from rasa.nlu.classifiers.fallback_classifier import FallbackClassifier
from rasa.shared.nlu.training_data.message import Message

from bench.fallback_thresholds import ranking_of, replay, tally

CONFIDENCES = (0.9, 0.5, 0.26, 0.25, 0.24, 0.1)


def rasa_label(ranking, threshold, ambiguity):
    message = Message(data={
        "text": "x",
        "intent": {"name": ranking[0][0], "confidence": ranking[0][1]},
        "intent_ranking": [{"name": n, "confidence": c} for n, c in ranking],
    })
    FallbackClassifier({"threshold": threshold, "ambiguity_threshold": ambiguity}).process([message])
    name = message.get("intent")["name"]
    return "faq/" + name[4:] if name.startswith("faq_") else name


@pytest.mark.parametrize("threshold,ambiguity", [(0.25, 0.03), (0.3, 0.0), (0.2, 0.1)])
def test_the_replay_decides_as_rasa_does(threshold, ambiguity):
    for first, second in itertools.product(CONFIDENCES, repeat=2):
        if second > first:
            continue
        ranking = [("faq_garbage_days", first), ("faq_garbage_sorting", second)]
        assert replay(ranking, threshold, ambiguity) == rasa_label(ranking, threshold, ambiguity), ranking


def test_the_fallback_entry_of_a_parse_is_ignored_and_the_counts_add_up():
    parse = {"intent_ranking": [{"name": "nlu_fallback", "confidence": 0.25},
                                {"name": "faq_moving_out", "confidence": 0.40},
                                {"name": "faq_moving_in", "confidence": 0.39}]}
    ranking = ranking_of(parse)
    assert ranking[0] == ("faq_moving_out", 0.40)
    items = [{"expect": "faq/moving_out"}, {"expect": "faq/moving_in"}, {"expect": "out_of_scope"}]
    # at ambiguity 0.03 the near tie is rejected; with no ambiguity test it is answered
    assert tally(items, [ranking] * 3, 0.25, 0.03) == {
        "faq": 2, "right": 0, "wrong": 0, "rejected": 2, "oos": 1, "oos_answered": 0}
    assert tally(items, [ranking] * 3, 0.25, 0.0) == {
        "faq": 2, "right": 1, "wrong": 1, "rejected": 0, "oos": 1, "oos_answered": 1}
