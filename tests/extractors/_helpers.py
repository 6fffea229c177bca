"""Helpers shared by the extractor tests (documents here are written for these tests)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from extractors import extract

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"


def run(text: str, published: str | None = "2025-06-10"):
    pub = dt.date.fromisoformat(published) if published else None
    return extract(text, pub)


def keys(events):
    """(type, parties tuple, status, date, location) of each event, for compact assertions."""
    return {(e.type, tuple(e.parties), e.status, e.date, e.location) for e in events}


def find(events, type_, *parties):
    want = sorted(parties)
    hits = [e for e in events if e.type == type_ and e.parties == want]
    assert hits, f"no {type_} {want} in {[(e.type, e.parties) for e in events]}"
    assert len(hits) == 1, f"duplicate {type_} {want}: {hits}"
    return hits[0]


def pairs(events):
    return {(e.type, tuple(e.parties)) for e in events}
