"""Event identity and merge rules: which mentions are the same real-world event, and what the
event's state is given all its mentions. Pure functions; ``warehouse.eventlog`` applies them.

Rules (also in the README):
1-2. "The same event" is defined once, in ``extractors.identity`` (shared with the extractor's
   within-document merge, which uses window 0): two mentions can only be one event if their
   ``type`` and sorted ``parties`` are equal, and their dates must be compatible: either is
   missing; or one contains the other ("2025-06" and
   "2025-06-23", "2024" and "2024-11"); or the two date ranges lie within a window of each other
   (92 days for partnerships, whose target dates slip; 31 days for summits, so two summits of the
   same parties months apart stay two events).
3. A mention joins the compatible event whose date is closest (containment first); with none, it
   starts a new event. An article re-read by new rules first tries the event it reported before.
4. An event's state is a fold over its mentions in publication order: the most advanced status
   wins (partnership: planned < negotiating < signed < extended < suspended = cancelled; summit:
   planned < held = cancelled); its date is the most precise among mentions of that status (else
   among all); its location the most frequent one given; its confidence the highest.
5. ``event_id`` = sha256(type | parties | anchor)[:16], the anchor being the month of the mention
   that created the event ("undated" without one); a clash with an incompatible event adds "~2".
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from extractors.identity import WINDOW_DAYS, contains, date_distance, date_range, dates_compatible, parties_key, window_days
from warehouse.statuses import STATUS_RANK

__all__ = ["WINDOW_DAYS", "STATUS_RANK", "PRECISION", "parties_key", "precision", "date_range", "date_distance",
           "contains", "compatible", "match_score", "make_event_id", "StoredMention", "EventState", "fold", "choose_event"]

PRECISION = {4: "year", 7: "month", 10: "day"}


def precision(d: str | None) -> str | None:
    return PRECISION.get(len(d)) if d else None


def compatible(event_type: str, a: str | None, b: str | None) -> bool:
    """Dates of one event across articles: extractors.identity with the type's window."""
    return dates_compatible(a, b, window_days(event_type))


def match_score(event_type: str, mention_date: str | None, event_date: str | None) -> tuple | None:
    """Lower is better; None when incompatible."""
    if not compatible(event_type, mention_date, event_date):
        return None
    if not mention_date or not event_date:
        return (2, 0)
    if contains(mention_date, event_date):
        return (0, 0)
    return (1, date_distance(mention_date, event_date) or 0)


def make_event_id(event_type: str, key: str, anchor_date: str | None, taken: set[str]) -> str:
    anchor = anchor_date[:7] if anchor_date else "undated"
    base = hashlib.sha256(f"{event_type}|{key}|{anchor}".encode()).hexdigest()[:16]
    event_id, n = base, 1
    while event_id in taken:
        n += 1
        event_id = f"{base}~{n}"
    return event_id


@dataclass
class StoredMention:
    event_id: str | None
    article_id: str
    type: str
    parties: list[str]
    status: str | None
    date: str | None
    date_text: str | None
    location: str | None
    evidence: str
    evidence_start: int | None
    evidence_end: int | None
    confidence: float
    rule: str | None
    ruleset_version: str
    published: datetime | None
    extracted_at: datetime

    @property
    def key(self) -> tuple[str, str]:
        return self.type, parties_key(self.parties)

    def order(self) -> tuple:
        return (self.published is None, self.published or datetime.min, self.article_id)


@dataclass
class EventState:
    status: str | None
    date: str | None
    date_precision: str | None
    location: str | None
    evidence: str | None
    evidence_article_id: str | None
    confidence: float | None
    mention_count: int
    first_reported: datetime | None

    def comparable(self) -> tuple:
        return (self.status, self.date, self.location)


_PRECISION_RANK = {None: 0, "year": 1, "month": 2, "day": 3}


def fold(event_type: str, mentions: Sequence[StoredMention]) -> EventState:
    """The event's state from all its active mentions (order-independent, deterministic)."""
    ms = sorted(mentions, key=StoredMention.order)
    ranks = STATUS_RANK.get(event_type, {})
    status = None
    for m in ms:  # the most advanced status; among equals the first reported
        if ranks.get(m.status, 0) > ranks.get(status, 0):
            status = m.status
    pool = [m for m in ms if m.status == status and m.date] or [m for m in ms if m.date]
    best_date = None
    for m in pool:  # most precise; among equals the latest report (later reports know more)
        if best_date is None or _PRECISION_RANK[precision(m.date)] >= _PRECISION_RANK[precision(best_date)]:
            best_date = m.date
    locations = Counter(m.location for m in ms if m.location)
    location = None
    if locations:
        top = max(locations.values())
        location = next(m.location for m in ms if m.location and locations[m.location] == top)
    ev = max(ms, key=lambda m: (m.status == status, m.confidence, -ms.index(m))) if ms else None
    published = [m.published for m in ms if m.published]
    return EventState(
        status=status, date=best_date, date_precision=precision(best_date), location=location,
        evidence=ev.evidence if ev else None, evidence_article_id=ev.article_id if ev else None,
        confidence=max((m.confidence for m in ms), default=None), mention_count=len({m.article_id for m in ms}),
        first_reported=min(published) if published else None,
    )


def choose_event(mention: StoredMention, candidates: Sequence[dict], prefer: str | None = None) -> str | None:
    """The event_id a mention joins among events of its key (dicts with event_id, date), or None."""
    scored = []
    for ev in candidates:
        score = match_score(mention.type, mention.date, ev.get("date"))
        if score is None:
            continue
        rng = date_range(ev.get("date"))
        latest = -rng[1].toordinal() if rng else 0  # an undated report joins the most recent event
        scored.append((ev["event_id"] != prefer, score, latest, ev["event_id"]))
    if not scored:
        return None
    return min(scored)[-1]
