"""Error classes found on the TUNE half of the samples, pinned with sentences written for
these tests (facts may resemble the samples; the wording does not)."""

from __future__ import annotations

from ._helpers import find, pairs, run


def test_fronted_besides_phrase_is_not_a_party():
    ev = run("Apart from Kenya, Germany already keeps defence partnerships with Ghana, Chile and Peru, "
             "covering training and logistics.")
    got = {p for t, p in pairs(ev) if t == "partnership"}
    assert got == {("Germany", "Ghana"), ("Chile", "Germany"), ("Germany", "Peru")}


def test_speaker_before_reporting_verb_is_not_a_party():
    text = ("Poland, Romania and Bulgaria signed a trilateral defence agreement in Warsaw on Tuesday.\n"
            "The Romanian minister told reporters the agreement would speed up joint procurement.")
    ev = run(text)
    assert pairs(ev) == {("partnership", ("Bulgaria", "Poland", "Romania"))}


def test_leader_host_takes_part_but_state_host_is_a_venue():
    ev = run("President Lula hosted the Japanese prime minister in Brasilia on Monday for a bilateral summit.")
    find(ev, "summit", "Brazil", "Japan")
    ev = run("Singapore hosted a summit between the leaders of India and Indonesia last month.")
    assert ("summit", ("India", "Indonesia")) in pairs(ev)


def test_negated_clause_is_not_an_event():
    ev = run("Kenya's president said on radio that he had not signed any new defence pacts with Britain.")
    assert not [e for e in ev if e.type == "partnership"]


def test_plural_treaties_to_both_give_bilateral_events():
    ev = run("Canberra is bound by separate defence treaties to both Wellington and Tokyo.")
    got = {p for t, p in pairs(ev) if t == "partnership"}
    assert got == {("Australia", "New Zealand"), ("Australia", "Japan")}


def test_later_list_does_not_take_an_earlier_groups_date():
    ev = run("Spain signed a similar defence pact with Portugal in March and has comparable defence "
             "partnerships with Italy and Greece.")
    assert find(ev, "partnership", "Portugal", "Spain").date == "2025-03"
    assert find(ev, "partnership", "Greece", "Spain").date is None


def test_sentence_tense_decides_a_bare_day():
    ev = run("Signing the pact is expected to be the main result of the India-EU summit in Brussels on June 23.",
             published="2025-06-10")
    s = find(ev, "summit", "European Union", "India")
    assert s.date == "2025-06-23" and s.status == "planned"


def test_outside_a_country_is_not_a_location():
    ev = run("Japan and Italy signed a defence partnership on Monday, a sign of closer ties outside the United States.")
    assert find(ev, "partnership", "Italy", "Japan").location is None
