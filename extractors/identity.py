"""One definition of "the same event", for the document merge and the event log alike.

Shared by the within-document merge (extractors.merge) and the event log's identity rules across
articles (warehouse.identity). Pure functions.

Two mentions can be one event when:
1. their ``type`` is equal;
2. their parties are the same set (``parties_key`` is its stored form);
3. their dates are compatible: either is missing; or one contains the other ("2025-06" and
   "2025-06-23", "2024" and "2024-11"); or, with a window of ``window_days`` > 0, the two dates'
   ranges lie within that many days of each other. Within one document the window is 0
   (containment only); across articles it is ``WINDOW_DAYS`` of the type (a partnership's target
   date slips; two summits of the same parties months apart stay two events).
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from datetime import date

__all__ = ["WINDOW_DAYS", "WITHIN_DOCUMENT_WINDOW", "window_days", "parties_key", "same_parties", "contains",
           "date_range", "date_distance", "dates_compatible", "same_event"]

#: across articles: how far apart two dates of one event may be (days between their ranges)
WINDOW_DAYS = {"partnership": 92, "summit": 31}
DEFAULT_WINDOW_DAYS = 31
#: within one document: containment only
WITHIN_DOCUMENT_WINDOW = 0


def window_days(event_type: str) -> int:
    """The across-articles window of an event type."""
    return WINDOW_DAYS.get(event_type, DEFAULT_WINDOW_DAYS)


def parties_key(parties: Iterable[str]) -> str:
    """The stored form of a party set: sorted unique names joined by "|"."""
    return "|".join(sorted(set(parties)))


def same_parties(first: Iterable[str], second: Iterable[str]) -> bool:
    return frozenset(first) == frozenset(second)


def contains(first: str | None, second: str | None) -> bool:
    """One partial ISO date contains the other ("2025-06" and "2025-06-23")."""
    if not first or not second:
        return False
    return first.startswith(second) or second.startswith(first)


def date_range(iso_date: str | None) -> tuple[date, date] | None:
    """The first and last day a partial date can mean."""
    if not iso_date:
        return None
    try:
        if len(iso_date) == 4:
            y = int(iso_date)
            return date(y, 1, 1), date(y, 12, 31)
        if len(iso_date) == 7:
            y, m = int(iso_date[:4]), int(iso_date[5:7])
            return date(y, m, 1), date(y, m, calendar.monthrange(y, m)[1])
        day = date.fromisoformat(iso_date[:10])
        return day, day
    except ValueError:
        return None


def date_distance(first: str | None, second: str | None) -> int | None:
    """Days between two partial dates' ranges (0 when they overlap); None when either is missing."""
    ra, rb = date_range(first), date_range(second)
    if ra is None or rb is None:
        return None
    if ra[1] < rb[0]:
        return (rb[0] - ra[1]).days
    if rb[1] < ra[0]:
        return (ra[0] - rb[1]).days
    return 0


def dates_compatible(first: str | None, second: str | None, window: int = WITHIN_DOCUMENT_WINDOW) -> bool:
    """Either date missing, one containing the other, or (window > 0) within ``window`` days."""
    if not first or not second:
        return True
    if first.startswith(second) or second.startswith(first):
        return True
    if window <= 0:
        return False  # containment only: the ranges are not compared
    dist = date_distance(first, second)
    return dist is not None and dist <= window


def same_event(type_a: str, parties_a: Iterable[str], date_a: str | None,
               type_b: str, parties_b: Iterable[str], date_b: str | None,
               window: int = WITHIN_DOCUMENT_WINDOW) -> bool:
    """Whether two mentions can be one event (see the module's docstring)."""
    return type_a == type_b and same_parties(parties_a, parties_b) and dates_compatible(date_a, date_b, window)
