"""Date resolution: direction follows tense, precision follows the expression (docs/EVENTS.md)."""

from __future__ import annotations

import datetime as dt

import pytest

from extractors.dates import find_dates, resolve
from extractors.rules import get_rules

PUB = dt.date(2025, 6, 10)  # a Tuesday


def one(text: str, future: bool | None, pub: dt.date = PUB) -> str | None:
    ds = [d for d in find_dates(text, get_rules()) if not d.excluded]
    assert len(ds) == 1, ds
    return resolve(ds[0], pub, future)


@pytest.mark.parametrize("text,future,want", [
    ("this month", True, "2025-06"),
    ("next month", True, "2025-07"),
    ("last month", False, "2025-05"),
    ("in July", True, "2025-07"),          # coming July
    ("in July", False, "2024-07"),         # "signed in July" -> the past July
    ("in May", False, "2025-05"),
    ("in May", True, "2026-05"),
    ("June 23", True, "2025-06-23"),
    ("23 June 2019", False, "2019-06-23"),
    ("in August 2023", False, "2023-08"),
    ("late last year", False, "2024"),
    ("earlier this year", False, "2025"),
    ("early next year", True, "2026"),
    ("last week", False, "2025-06"),
    ("next week", True, "2025-06"),
    ("this weekend", True, "2025-06"),
    ("on Monday", False, "2025-06-09"),
    ("on Monday", True, "2025-06-16"),
    ("on Tuesday", True, "2025-06-10"),    # same day, still ahead
    ("late on Friday", False, "2025-06-06"),
    ("last September", False, "2024-09"),
    ("next March", True, "2026-03"),
    ("in the spring", True, "2026"),
    ("this summer", True, "2025"),
    ("in 1998", False, "1998"),
    ("yesterday", False, "2025-06-09"),
])
def test_resolution(text, future, want):
    assert one(text, future) == want


def test_year_boundaries():
    jan = dt.date(2025, 1, 3)
    assert one("in December", False, jan) == "2024-12"
    assert one("next month", True, dt.date(2025, 12, 5)) == "2026-01"
    assert one("last week", False, jan) == "2024-12"


@pytest.mark.parametrize("text", ["until 2028", "by 2035", "due to expire in February 2026", "since 2007", "by the end of 2026"])
def test_horizons_and_expiry_are_not_event_dates(text):
    ds = find_dates(text, get_rules())
    assert not [d for d in ds if not d.excluded]


@pytest.mark.parametrize("text", ["it may be signed soon", "in 24 years", "the 1990 memorandum", "a 5% rise in 2025%"])
def test_non_dates(text):
    assert [d for d in find_dates(text, get_rules()) if not d.excluded and d.kind != "year"] == []


def test_no_publication_date_keeps_only_absolute_dates():
    ds = find_dates("signed in 2010 and extended on Monday", get_rules())
    got = [resolve(d, None, False) for d in ds]
    assert got == ["2010", None]


def test_event_level_directions():
    from ._helpers import find, run

    ev = run("Austria and Slovakia signed a defence pact in May.\nAustria and Hungary plan to sign a defence pact in May.", "2025-03-01")
    assert find(ev, "partnership", "Austria", "Slovakia").date == "2024-05"
    assert find(ev, "partnership", "Austria", "Hungary").date == "2025-05"


def test_announcement_date_is_not_event_date_but_cancellation_date_is():
    from ._helpers import find, run

    ev = run("Mali and Niger will negotiate a defence treaty, their leaders said on Friday.\n"
             "Senegal said on Thursday that it was ending its military cooperation agreement with France.", "2025-06-14")
    assert find(ev, "partnership", "Mali", "Niger").date is None
    assert find(ev, "partnership", "France", "Senegal").date == "2025-06-12"
