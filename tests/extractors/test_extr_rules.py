"""Per-rule tests on short documents written for these tests."""

from __future__ import annotations

import pytest

from ._helpers import find, keys, pairs, run


# ---------------------------------------------------------------- partnerships

def test_signed_pact_between_two_states_with_weekday_date():
    ev = run("Norway and Finland signed a defence cooperation agreement on Monday covering air policing in the Arctic.",
             "2025-03-05")  # a Wednesday
    e = find(ev, "partnership", "Finland", "Norway")
    assert (e.status, e.date, e.date_text) == ("signed", "2025-03-03", "on Monday")
    assert e.rule.startswith("P-AGREEMENT")
    assert 0 < e.confidence <= 1


def test_evidence_offsets_and_dateline_removed():
    text = "Ties deepen in the north\nOSLO, March 4 — Norway and Finland signed a security pact on Monday. Officials cheered."
    ev = run(text, "2025-03-04")
    e = find(ev, "partnership", "Finland", "Norway")
    assert text[e.evidence_start:e.evidence_end] == e.evidence
    assert e.evidence.startswith("Norway and Finland")
    assert e.location == "Oslo"  # dateline city for a same-day/previous-day signing


def test_planned_pact_takes_target_date_not_announcement_date():
    ev = run("Spain and Morocco aim to sign a maritime security pact next month, officials said on Tuesday.", "2025-06-12")
    e = find(ev, "partnership", "Morocco", "Spain")
    assert (e.status, e.date) == ("planned", "2025-07")


@pytest.mark.parametrize("sentence,status", [
    ("Greece and Cyprus are negotiating a defence pact, their governments said.", "negotiating"),
    ("Greece and Cyprus renewed their defence pact for another decade.", "extended"),
    ("Greece suspended its military cooperation agreement with Cyprus.", "suspended"),
    ("Greece scrapped its military cooperation agreement with Cyprus.", "cancelled"),
    ("Greece and Cyprus inked a defence pact.", "signed"),
    ("Greece plans to sign a defence pact with Cyprus.", "planned"),
])
def test_status_words(sentence, status):
    ev = run(sentence)
    assert find(ev, "partnership", "Cyprus", "Greece").status == status


def test_metonyms_as_parties_and_capital_as_location():
    ev = run("Ottawa and Seoul signed a military logistics accord in Ottawa on Friday.", "2025-05-10")
    e = find(ev, "partnership", "Canada", "South Korea")
    assert e.location == "Ottawa"
    assert e.date == "2025-05-09"


def test_capital_as_meeting_place_is_not_a_party():
    ev = run("The prime ministers of Italy and Albania held talks in Rome on Thursday.", "2025-05-10")
    assert pairs(ev) == {("summit", ("Albania", "Italy"))}
    assert find(ev, "summit", "Albania", "Italy").location == "Rome"


def test_bilateral_list_gives_one_event_per_partner():
    ev = run("The European Union has signed security and defence partnerships with Chile, Ghana and Vietnam.")
    assert pairs(ev) == {("partnership", ("Chile", "European Union")), ("partnership", ("European Union", "Ghana")),
                         ("partnership", ("European Union", "Vietnam"))}


def test_each_signed_gives_two_bilateral_events():
    ev = run("Sweden and Poland each signed a bilateral security agreement with Lithuania on Monday.", "2025-04-09")
    assert pairs(ev) == {("partnership", ("Lithuania", "Sweden")), ("partnership", ("Lithuania", "Poland"))}


def test_trilateral_pact_is_one_event():
    ev = run("Defence chiefs of Estonia, Latvia and Lithuania signed a treaty in Riga on Tuesday on joint air defence.",
             "2025-04-09")
    e = find(ev, "partnership", "Estonia", "Latvia", "Lithuania")
    assert (e.location, e.date) == ("Riga", "2025-04-08")


def test_with_groups_get_their_own_dates():
    ev = run("Manila signed a visiting forces pact with Canberra in 2012 and another with Wellington in 2019.")
    assert find(ev, "partnership", "Australia", "Philippines").date == "2012"
    assert find(ev, "partnership", "New Zealand", "Philippines").date == "2019"


def test_adjective_pair_and_coreference_merge_into_one_event():
    text = ("Chile and Peru signed a defence pact on Monday.\n"
            "The Chilean-Peruvian pact covers border patrols and naval drills.\n"
            "The agreement must still be ratified by both parliaments.")
    ev = run(text, "2025-04-09")
    assert len(ev) == 1
    e = ev[0]
    assert (e.parties, e.date) == (["Chile", "Peru"], "2025-04-07")
    assert e.evidence.startswith("Chile and Peru signed")


def test_same_parties_different_dates_are_separate_events():
    text = ("Mongolia and Japan extended their security pact on Monday.\n"
            "The treaty was first signed in 2015 after years of talks on military training.")
    ev = run(text, "2025-04-09")
    assert keys(ev) == {
        ("partnership", ("Japan", "Mongolia"), "extended", "2025-04-07", None),
        ("partnership", ("Japan", "Mongolia"), "signed", "2015", None),
    }


def test_counterpart_from_running_subject():
    text = ("Ukraine has been building a network of long-term security guarantees.\n"
            "Kyiv signed such an accord with Sweden in March.\n"
            "Norway signed its own defence agreement on Friday.")
    ev = run(text, "2025-05-12")
    assert find(ev, "partnership", "Norway", "Ukraine").date == "2025-05-09"
    assert find(ev, "partnership", "Sweden", "Ukraine").date == "2025-03"


def test_the_bloc_refers_to_the_last_named_bloc():
    text = ("ASEAN foreign ministers gathered in Jakarta.\n"
            "The bloc signed a maritime security framework agreement with Australia on Tuesday.")
    ev = run(text, "2025-04-09")
    assert find(ev, "partnership", "ASEAN", "Australia").date == "2025-04-08"


def test_pair_phrase_coreference():
    text = ("Kenya and Uganda signed a border security pact on Monday.\n"
            "The two countries first agreed a military cooperation accord in 2009.")
    ev = run(text, "2025-04-09")
    assert {e.date for e in ev if e.parties == ["Kenya", "Uganda"]} == {"2025-04-07", "2009"}


def test_firms_joint_venture_drops_nationality_modifiers():
    ev = run("France's Thales and Sweden's Saab agreed on Tuesday to form a joint venture to build naval radars.",
             "2025-04-09")
    assert pairs(ev) == {("partnership", ("Saab", "Thales"))}
    e = ev[0]
    assert (e.status, e.date, e.location) == ("signed", "2025-04-08", None)


def test_unknown_firm_names_from_descriptors():
    text = ("Estonian drone maker Kotkas Robotics and Polish state-owned Orzel Zaklady signed a cooperation "
            "agreement on Monday to build armed drones.")
    ev = run(text, "2025-04-09")
    assert pairs(ev) == {("partnership", ("Kotkas Robotics", "Orzel Zaklady"))}


# ---------------------------------------------------------------- near misses (no event)

@pytest.mark.parametrize("text", [
    # purchase / contract award
    "Romania signed an agreement on Tuesday to buy 18 air defence systems from Israel.",
    "Hungary signed a contract with Rheinmetall for 200 armoured vehicles.",
    # exercise
    "Troops from Japan and India began a joint military exercise on Monday in Rajasthan.",
    # trade-only pact
    "Indonesia and Canada signed a comprehensive economic partnership agreement on Monday.",
    "Mexico and Brazil are negotiating a free trade agreement covering cars and steel.",
    # hypothetical
    "Ireland could one day join a European mutual defence pact, a minister mused.",
    # denial
    "Serbia denied a report that it was preparing to sign a defence pact with Russia.",
    # negation
    "Brazil does not join military alliances, its foreign minister said.",
    # aim without agreement
    "Closer security ties with Chile are a priority for Argentina's new government.",
    # sports memorandum
    "The Korea Football Association and the Thai football federation signed a memorandum of understanding on youth coaching.",
])
def test_near_misses_produce_no_partnership(text):
    assert [e for e in run(text) if e.type == "partnership"] == []


@pytest.mark.parametrize("text", [
    "Climbers from Nepal and India reached the summit of Mount Everest on Thursday.",
    "Investors flocked to Lisbon for Web Summit, the technology conference, where NATO officials spoke.",
    "Latvia's defence minister met executives of Saab in Riga on Wednesday to discuss radar deliveries.",
    "Norway and Sweden failed to meet spending targets, the report found.",
    "The Kremlin said no meeting between the presidents of Russia and Ukraine was being prepared.",
])
def test_near_misses_produce_no_summit(text):
    assert [e for e in run(text, "2025-04-09") if e.type == "summit"] == []


# ---------------------------------------------------------------- summits

def test_bloc_summit_has_the_bloc_as_only_party():
    ev = run("NATO leaders met in Vilnius on Tuesday and agreed new regional defence plans.", "2025-07-12")
    e = find(ev, "summit", "NATO")
    assert (e.status, e.date, e.location) == ("held", "2025-07-08", "Vilnius")


def test_the_alliance_is_nato_when_nato_was_named():
    text = "NATO prepares for a tense gathering\nLeaders of the 32-nation alliance met in Madrid on Wednesday."
    ev = run(text, "2025-07-12")
    assert find(ev, "summit", "NATO").location == "Madrid"


def test_planned_summit_with_future_month_and_location():
    ev = run("The EU plans to hold a summit with South Korea in Seoul in September.", "2025-06-10")
    e = find(ev, "summit", "European Union", "South Korea")
    assert (e.status, e.date, e.location) == ("planned", "2025-09", "Seoul")


def test_metonym_summit_modifier_is_location():
    ev = run("India and the EU are preparing for the Brussels summit scheduled for March 3.", "2025-02-10")
    e = find(ev, "summit", "European Union", "India")
    assert (e.date, e.location, e.status) == ("2025-03-03", "Brussels", "planned")


def test_cancelled_summit_keeps_scheduled_date():
    ev = run("A summit of the leaders of Chile and Peru planned for Lima next week has been called off.", "2025-04-09")
    e = find(ev, "summit", "Chile", "Peru")
    assert (e.status, e.date, e.location) == ("cancelled", "2025-04", "Lima")


def test_leaders_meeting_on_the_sidelines_inherits_date_and_place():
    text = ("G20 leaders met in Johannesburg on Saturday for their annual summit.\n"
            "On the sidelines, Modi met Japanese Prime Minister Shigeru Ishiba.")
    ev = run(text, "2025-11-24")
    e = find(ev, "summit", "India", "Japan")
    assert (e.date, e.location, e.status) == ("2025-11-22", "Johannesburg", "held")
    assert find(ev, "summit", "G20").status == "held"


def test_the_quads_summit_is_the_quads():
    # docs/EVENTS.md: a bloc's own summit has the bloc as its only party (scoring counts the Quad
    # and its four members as equal, extractors.scoring.party_key); its pacts expand to members
    ev = run("Quad leaders will meet in Tokyo next month.", "2025-04-09")
    e = find(ev, "summit", "Quad")
    assert (e.status, e.date, e.location) == ("planned", "2025-05", "Tokyo")


# ---------------------------------------------------------------- document level

def test_dedup_within_document_keeps_first_clear_evidence():
    text = ("Portugal and Angola signed a defence pact on Monday.\n"
            "The pact covers naval training.\nPortugal and Angola said the defence pact would last ten years.")
    ev = run(text, "2025-04-09")
    assert len(ev) == 1 and ev[0].evidence.startswith("Portugal and Angola signed")


def test_output_is_sorted_unique_parties_and_to_dict_fields():
    ev = run("The United States and the U.S. Navy partner Japan signed a security treaty with Tokyo on Monday.", "2025-04-09")
    for e in ev:
        assert e.parties == sorted(set(e.parties))
        d = e.to_dict()
        assert list(d) == ["type", "parties", "status", "date", "date_text", "location", "evidence", "confidence", "rule"]
        assert e.date_precision in ("day", "month", "year", None)


def test_own_retelling_of_the_seed_story():
    """A short retelling (in our own words) of the EU-Canada/EU-Japan story."""
    text = (
        "EU races to lock in defence ties with Canada and Japan\n"
        "BRUSSELS — The European Union hopes to conclude a security and defence partnership with Canada this month, "
        "people briefed on the plans said.\n"
        "Brussels also intends to hold a summit with Japan in July to build on a defence pact the two sides signed "
        "late last year.\n"
        "The Canadian deal should be the centrepiece of the EU-Canada summit set for June 23 in Brussels.\n"
        "The bloc sealed a similar defence agreement with Britain in May.\n"
        "Earlier, the EU forged security and defence partnerships with Moldova, Norway and South Korea.\n"
        "Separately, Brussels wants a competitiveness alliance with Tokyo and Ottawa focused on supply chains."
    )
    ev = run(text, "2025-06-10")
    assert keys(ev) == {
        ("partnership", ("Canada", "European Union"), "planned", "2025-06", None),
        ("summit", ("European Union", "Japan"), "planned", "2025-07", None),
        ("summit", ("Canada", "European Union"), "planned", "2025-06-23", "Brussels"),
        ("partnership", ("European Union", "Japan"), "signed", "2024", None),
        ("partnership", ("European Union", "United Kingdom"), "signed", "2025-05", None),
        ("partnership", ("European Union", "Moldova"), "signed", None, None),
        ("partnership", ("European Union", "Norway"), "signed", None, None),
        ("partnership", ("European Union", "South Korea"), "signed", None, None),
    }
