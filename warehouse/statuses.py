"""Event status names and their orders, in one place: the statuses of each type (docs/EVENTS.md),
how the event log ranks them when mentions disagree, and the order people see them in."""

from __future__ import annotations

PARTNERSHIP_STATUSES = ("planned", "negotiating", "signed", "extended", "suspended", "cancelled")
SUMMIT_STATUSES = ("planned", "held", "cancelled")

#: every status, in the order a legend or a table lists them (the report's colours follow it)
STATUSES = ("planned", "negotiating", "signed", "extended", "held", "suspended", "cancelled")
#: how a view labels an event whose text states no status
UNKNOWN = "unknown"

#: How the event log folds an event's mentions: the most advanced stage wins (identity rule 4 in
#: ``warehouse.identity``); equal ranks keep the earlier mention's status.
STATUS_RANK: dict[str, dict[str | None, int]] = {
    "partnership": {None: 0, "planned": 1, "negotiating": 2, "signed": 3, "extended": 4, "suspended": 5,
                    "cancelled": 5},
    "summit": {None: 0, "planned": 1, "held": 2, "cancelled": 2},
}

#: Which status colours the line between two parties in the report's network when their
#: partnerships differ: the strongest tie that stands shows (signed over extended over a lapse),
#: which is not the event log's "latest stage" of STATUS_RANK.
PAIR_TIE_STRENGTH = (UNKNOWN, "planned", "negotiating", "suspended", "cancelled", "extended", "signed")
