"""The directory as residents meet it: open-now in Japan time, hours text, tap-to-call links, and
names typed in any language."""
from __future__ import annotations

import datetime as dt

import pytest

from actions.content import load_content
from actions.directory import JST, contact_card, hours_text, match_department, match_office_area, open_now, tel_uri

CONTENT = load_content()
RCO = CONTENT.departments["counter_services"]          # weekdays 8:30-17:00, Wednesday until 19:00
CONSULT = CONTENT.departments["international"]         # 9-12, 13-17 on weekdays
MINATO_CALL = CONTENT.departments["minato_call"]       # 7-23 every day, all year
RECYCLING = CONTENT.departments["recycling"]           # no published hours


def at(y, m, d, hh, mm):
    return dt.datetime(y, m, d, hh, mm, tzinfo=JST)


@pytest.mark.parametrize("when,expected", [
    (at(2026, 12, 1, 10, 0), True),      # Tuesday morning
    (at(2026, 12, 1, 16, 59), True),     # one minute before closing
    (at(2026, 12, 1, 17, 0), False),     # closing time
    (at(2026, 12, 1, 17, 1), False),
    (at(2026, 12, 2, 18, 30), True),     # Wednesday late opening
    (at(2026, 12, 5, 10, 0), False),     # Saturday
    (at(2026, 12, 6, 10, 0), False),     # Sunday
    (at(2026, 11, 23, 10, 0), False),    # Labour Thanksgiving Day (a Monday in 2026)
    (at(2026, 12, 30, 10, 0), False),    # year-end closure, a Wednesday
    (at(2027, 1, 4, 10, 0), True),       # first working day of the year
])
def test_counter_open_now(when, expected):
    assert open_now(RCO, when) is expected


def test_time_zone_is_japan_time_whatever_the_server_clock():
    utc = dt.datetime(2026, 12, 1, 1, 0, tzinfo=dt.UTC)  # 10:00 in Tokyo
    assert open_now(RCO, utc) is True


def test_lunch_break_of_the_consultation_desk():
    assert open_now(CONSULT, at(2026, 12, 1, 12, 30)) is False
    assert open_now(CONSULT, at(2026, 12, 1, 13, 0)) is True


def test_minato_call_is_open_on_holidays_and_at_year_end_but_not_at_night():
    assert open_now(MINATO_CALL, at(2026, 12, 31, 22, 59)) is True
    assert open_now(MINATO_CALL, at(2026, 11, 23, 8, 0)) is True
    assert open_now(MINATO_CALL, at(2026, 12, 1, 23, 30)) is False


def test_unpublished_hours_are_unknown_not_closed():
    assert open_now(RECYCLING, at(2026, 12, 1, 10, 0)) is None
    card = contact_card("recycling", CONTENT, "en", at(2026, 12, 1, 10, 0))
    assert card["open_now"] is None and card["status"] == "" and card["hours"] == ""


def test_hours_text_groups_days_in_the_residents_language():
    assert hours_text(RCO, CONTENT, "en") == "Mon–Tue, Thu–Fri 8:30–17:00 / Wed 8:30–19:00"
    assert hours_text(MINATO_CALL, CONTENT, "en") == "Every day 7:00–23:00"
    assert hours_text(CONSULT, CONTENT, "en") == "Mon–Fri 9:00–12:00, 13:00–17:00"
    assert "8:30–17:00" in hours_text(RCO, CONTENT, "vi")


@pytest.mark.parametrize("number,uri", [
    ("03-3578-2574", "tel:+81335782574"),
    ("0570-013904", "tel:+81570013904"),
    ("0120-483-710", "tel:+81120483710"),
    ("119", "tel:119"),
])
def test_tap_to_call_links(number, uri):
    assert tel_uri(number) == uri


def test_card_shows_japanese_name_and_open_status_in_the_residents_language():
    card = contact_card("nhi_pension", CONTENT, "ko", at(2026, 12, 1, 10, 0))
    assert card["name_ja"] == "国保年金課"
    assert card["phones"][0]["number"] == "03-3578-2574"
    assert card["open_now"] is True and card["status"] == CONTENT.text("ko", "card.open_now")
    assert "03-3578-2574" in card["text"] and "国保年金課" in card["text"]


def test_counter_services_card_lists_the_five_offices():
    card = contact_card("counter_services", CONTENT, "en")
    assert [p["number"] for p in card["phones"]] == [
        "03-3578-3111", "03-3583-4151", "03-5413-7011", "03-5421-7611", "03-3456-4151"]


def test_a_department_without_a_phone_falls_back_to_city_hall_and_minato_call():
    card = contact_card("tax", CONTENT, "en")
    assert [p["number"] for p in card["phones"]] == ["03-3578-2111", "03-5472-3710"]


@pytest.mark.parametrize("text,key", [
    ("生活衛生課の受付時間と場所を教えてください", "sanitation"),
    ("what floor is the school affairs division (gakumu-ka) on?", "school_affairs"),
    ("国保年金课在几楼？", "nhi_pension"),
    ("보건복지과는 몇 층에 있어요?", "welfare"),
    ("Số điện thoại của phòng y tế dự phòng (hoken yobo ka) là gì?", "health_prevention"),
    ("What's the phone number of the nursery section?", "childcare_support"),
    ("tell me the number of the tax office", "tax"),
    ("where is the health center", None),          # three sections share it: not guessed
    ("hello", None),
])
def test_department_names_in_any_language(text, key):
    assert match_department(text, CONTENT) == key


@pytest.mark.parametrize("text,key", [
    ("Số điện thoại của phòng giáo dục là gì?", "school_affairs"),   # no literal name: closest in meaning
    ("教育委員会の電話番号は？", "school_affairs"),
    ("보육 담당 부서 전화번호 알려주세요", "childcare_support"),
    ("where is the health center", None),                             # three sections are equally close
    ("what's the number of the ward office garbage people", None),   # nothing clearly closest: ask
])
def test_department_closest_in_meaning(text, key):
    from actions.directory import closest_department

    assert closest_department(text, CONTENT) == key


@pytest.mark.parametrize("text,office", [
    ("I live in Odaiba, which office is mine?", "shibaura_konan"),
    ("お台場に住んでいます", "shibaura_konan"),
    ("Which office serves Azabu?", "azabu"),
    ("Which office serves Roppongi?", None),       # not settled by the facts file: list all five
    ("Shirokane", None),
])
def test_regional_office_by_area(text, office):
    assert match_office_area(text, CONTENT) == office


def test_department_names_are_embedded_at_start_not_at_the_first_question(monkeypatch):
    import threading

    import actions.directory as directory
    from actions.content import get_content

    def warm_threads():
        return [t for t in threading.enumerate() if t.name == "warm-up-departments"]

    monkeypatch.setattr(directory, "_NAME_VECTORS", {})
    monkeypatch.setenv("ACTIONS_WARM_UP", "0")
    directory.warm_up_in_background()
    assert not warm_threads() and directory._NAME_VECTORS == {}
    monkeypatch.setenv("ACTIONS_WARM_UP", "1")
    directory.warm_up_in_background()
    for thread in warm_threads():
        thread.join(timeout=120)
    keys, vectors = directory._NAME_VECTORS[id(get_content())]
    assert len(keys) == len(vectors) > 50 and "school_affairs" in keys
