"""The Event value type produced by the extractor."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

__all__ = ["Event", "EVENT_FIELDS"]

#: fields of an event as defined by docs/EVENTS.md (gold files omit confidence and rule)
EVENT_FIELDS = ("type", "parties", "status", "date", "date_text", "location", "evidence", "confidence", "rule")


@dataclass(frozen=True, slots=True, eq=True)
class Event:
    """One extracted event. Immutable; ``parties`` is sorted and unique."""

    type: str
    parties: list[str]
    status: str | None
    date: str | None
    date_text: str | None
    location: str | None
    evidence: str
    evidence_start: int
    evidence_end: int
    confidence: float
    rule: str

    def __hash__(self) -> int:  # lists are unhashable; hash a tuple view instead
        return hash((self.type, tuple(self.parties), self.status, self.date, self.location, self.evidence_start))

    @property
    def date_precision(self) -> str | None:
        """"day", "month" or "year" from the shape of ``date``; None when there is no date."""
        if not self.date:
            return None
        return {10: "day", 7: "month", 4: "year"}.get(len(self.date))

    def to_dict(self) -> dict[str, Any]:
        """The docs/EVENTS.md fields, JSON-serialisable."""
        return {
            "type": self.type,
            "parties": list(self.parties),
            "status": self.status,
            "date": self.date,
            "date_text": self.date_text,
            "location": self.location,
            "evidence": self.evidence,
            "confidence": self.confidence,
            "rule": self.rule,
        }

    def model_dump(self) -> dict[str, Any]:
        """All public fields (pydantic-style), including evidence offsets."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if not f.name.startswith("_")}
        out["parties"] = list(self.parties)
        return out
