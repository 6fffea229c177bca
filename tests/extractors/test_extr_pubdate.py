"""Publication dates known to the day, the month or not at all (docs/EVENTS.md, "Dates")."""

from __future__ import annotations

import datetime as dt

import pytest

from extractors import extract
from extractors.pubdate import PubDate

TEXT = ("EU and Canada to sign defence pact\n"
        "The European Union and Canada plan to sign a security and defence partnership {when}, "
        "officials said.\n")


@pytest.mark.parametrize("value, expected", [
    ("2025-06-10", PubDate(2025, 6, 10)), ("2025-06", PubDate(2025, 6)), ("2025", PubDate(2025)),
    ("2025-06-10T08:30:00Z", PubDate(2025, 6, 10)), (dt.date(2025, 6, 10), PubDate(2025, 6, 10)),
    (dt.datetime(2025, 6, 10, 8), PubDate(2025, 6, 10)), (None, None), ("", None),
])
def test_parse(value, expected):
    assert PubDate.parse(value) == expected


@pytest.mark.parametrize("value, message", [
    ("2025-13", "publication date '2025-13' is not a real date; use YYYY-MM-DD, YYYY-MM or YYYY"),
    ("June 2025", "publication date 'June 2025' is not a date; use YYYY-MM-DD, YYYY-MM or YYYY"),
    ("2025-02-30", "publication date '2025-02-30' is not a real date; use YYYY-MM-DD, YYYY-MM or YYYY"),
])
def test_parse_refuses_with_a_message(value, message):
    with pytest.raises(ValueError) as exc:
        PubDate.parse(value)
    assert str(exc.value) == message


def dates(when: str, published) -> list[str | None]:
    return [e.date for e in extract(TEXT.format(when=when), published) if e.type == "partnership"]


@pytest.mark.parametrize("when, day, month, none", [
    ("next month", "2025-07", "2025-07", None),
    ("on Friday", "2025-06-13", "2025-06", None),       # a weekday gives no day without one
    ("next week", "2025-06", "2025-06", None),
    ("on July 9", "2025-07-09", "2025-07-09", None),    # the day is written: only the year is inferred
    ("later this year", "2025", "2025", None),
    ("in March 2026", "2026-03", "2026-03", "2026-03"),  # absolute dates need no publication date
    ("in 2027", "2027", "2027", "2027"),
])
def test_relative_dates_resolve_only_as_far_as_the_publication_date_allows(when, day, month, none):
    assert dates(when, "2025-06-10") == [day]
    assert dates(when, "2025-06") == [month]
    assert dates(when, None) == [none]


def test_every_form_of_the_same_date_gives_the_same_events():
    text = TEXT.format(when="next month")
    forms = ["2025-06-10", dt.date(2025, 6, 10), PubDate(2025, 6, 10), dt.datetime(2025, 6, 10, 9)]
    assert len({tuple(e.to_dict().items().__repr__() for e in extract(text, f)) for f in forms}) == 1


def test_a_month_day_without_year_takes_the_year_nearest_a_month_only_publication():
    text = ("Leaders to meet\nThe leaders of France and Germany will hold a summit in Paris on January 12, "
            "officials said.\n")
    [ev] = extract(text, "2025-12")
    assert ev.date == "2026-01-12"  # planned: the next January 12
    held = text.replace("will hold", "held")
    [ev] = extract(held, "2026-02")
    assert ev.date == "2026-01-12"  # held: the last one
    [ev] = extract(held, "2026-01")
    assert ev.date == "2026-01-12"  # in the publication month itself


def test_a_bad_publication_date_is_no_date_not_a_failure():
    assert dates("next month", "yesterday") == [None]
