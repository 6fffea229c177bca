"""Identity and merge rules of events (pure functions)."""

from __future__ import annotations

from datetime import datetime, timezone

from warehouse.identity import StoredMention, choose_event, compatible, date_distance, fold, make_event_id


def m(status=None, date=None, location=None, article="a1", day=1, type_="partnership", conf=0.8):
    return StoredMention(None, article, type_, ["Canada", "European Union"], status, date, None, location,
                   f"evidence {article}", 0, 10, conf, "r1", "v1", datetime(2025, 6, day, tzinfo=timezone.utc),
                   datetime(2025, 6, day, tzinfo=timezone.utc))


def test_compatible_dates():
    assert compatible("partnership", "2025-06", "2025-06-23")
    assert compatible("partnership", "2024", "2024-11")
    assert compatible("partnership", None, "2025-06")
    assert compatible("partnership", "2025-06", "2025-07-02")        # a target date that slipped
    assert not compatible("partnership", "2010", "2021-05")         # signed vs extended years later
    assert compatible("summit", "2025-06-23", "2025-06-24")
    assert not compatible("summit", "2025-07", "2025-12-15")        # two summits months apart
    assert date_distance("2025-06", "2025-07-02") == 2


def test_fold_takes_the_most_advanced_status_and_its_date():
    state = fold("partnership", [m("negotiating", "2025-06", day=1, article="a"),
                                 m("signed", "2025-06-23", "Brussels", day=24, article="b"),
                                 m("planned", "2025", day=2, article="c")])
    assert (state.status, state.date, state.date_precision, state.location) == ("signed", "2025-06-23", "day", "Brussels")
    assert state.mention_count == 3
    assert state.evidence == "evidence b"


def test_fold_is_order_independent():
    ms = [m("planned", "2025-06", day=1, article="a"), m("signed", "2025-06-20", day=3, article="b"),
          m(None, None, "Ottawa", day=2, article="c")]
    assert fold("partnership", ms) == fold("partnership", list(reversed(ms)))


def test_choose_event_prefers_containment_then_distance():
    events = [{"event_id": "e2010", "date": "2010"}, {"event_id": "e2025", "date": "2025-06"}]
    assert choose_event(m(date="2025-06-23"), events) == "e2025"
    assert choose_event(m(date="2010-03"), events) == "e2010"
    assert choose_event(m(date="2017"), events) is None
    assert choose_event(m(date=None), events) == "e2025"  # an undated report joins the latest


def test_event_ids_are_deterministic_and_never_clash():
    a = make_event_id("summit", "Canada|European Union", "2025-06-23", set())
    assert a == make_event_id("summit", "Canada|European Union", "2025-06", set())
    assert make_event_id("summit", "Canada|European Union", "2025-06", {a}) == a + "~2"
    assert a != make_event_id("partnership", "Canada|European Union", "2025-06", set())
