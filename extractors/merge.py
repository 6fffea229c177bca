"""Within-document merge of candidates and finishing them into ``Event``s.

One event per distinct (type, parties) and compatible date (extractors.identity, window 0):
an article that mentions the same pact three times yields it once, with the clearest evidence.
"""

from __future__ import annotations

import datetime as dt

from .attributes import dateline_place
from .document import Candidate, Document
from .identity import WITHIN_DOCUMENT_WINDOW, same_event
from .mentions import is_firm
from .model import Event

__all__ = ["add", "finish"]


def add(doc: Document, cand: Candidate) -> None:
    """Add a candidate: summits inherit a date from context, then it merges into an earlier
    event of the document or becomes a new one."""
    if cand.type == "summit" and cand.inherit and cand.sidelines:
        src = next((e for e in reversed(doc.events) if e.type == "summit" and e.date), None)
        if src is not None:
            cand.date, cand.date_text, cand.inherit = src.date, src.date_text, False
            cand.location = cand.location or src.location
            cand.status = cand.status or src.status
    if cand.type == "summit" and cand.inherit and cand.status in (None, "held"):
        src = None
        if src is None:
            src = next((e for e in reversed(doc.events)
                        if e.date and cand.sent_idx - e.sent_idx <= 2
                        and (e.parties == cand.parties or (e.type == "summit" and e.parties & cand.parties))), None)
        if src is not None:
            cand.date, cand.date_text = src.date, src.date_text
            if not cand.location:
                cand.location = src.location
        if cand.status is None and cand.date:
            cand.status = "held"
    if cand.type == "summit" and cand.status is None and cand.date and doc.pub:
        pub_iso = doc.pub.isoformat()
        n = min(len(cand.date), len(pub_iso))  # compare only as far as both are known
        cand.status = "planned" if cand.date[:n] > pub_iso[:n] else "held"
    cand.order = doc.order
    doc.order += 1
    for e in doc.events:
        if not same_event(e.type, e.parties, e.date, cand.type, cand.parties, cand.date, WITHIN_DOCUMENT_WINDOW):
            continue
        if e.location and cand.location and e.location != cand.location and not (cand.rule.endswith("/coref") and cand.date is None):
            continue
        # merge c into e
        if cand.date and (not e.date or len(cand.date) > len(e.date)):
            e.date, e.date_text = cand.date, cand.date_text
        if e.status is None and cand.status:
            e.status = cand.status
        if e.location is None and cand.location:
            e.location = cand.location
        if cand.explicit > e.explicit and cand.confidence > e.confidence:
            e.ev_start, e.ev_end, e.sent_idx, e.explicit, e.rule = cand.ev_start, cand.ev_end, cand.sent_idx, cand.explicit, cand.rule
        e.confidence = max(e.confidence, cand.confidence)
        if e.type == "partnership":
            doc.last_partnership, doc.last_ref_sentence = e, cand.sent_idx
        return
    doc.events.append(cand)
    if cand.type == "partnership":
        doc.last_partnership, doc.last_ref_sentence = cand, cand.sent_idx


def finish(doc: Document) -> list[Event]:
    """The document's events, in text order; a same-day or previous-day signing or meeting
    without a place takes the dateline's place."""
    out = []
    pub_day = doc.pub.as_date() if doc.pub else None
    for e in doc.events:
        if e.type == "summit" and e.status is None and "coref" in e.rule:
            continue  # parties borrowed from context and no word of a meeting's state: "finish the talks"
        loc = e.location
        if (loc is None and doc.dateline and pub_day is not None and e.date and len(e.date) == 10
                and e.status in ("signed", "held", "extended")
                and not any(is_firm(doc, p) for p in e.parties)):
            try:
                gap = (pub_day - dt.date.fromisoformat(e.date)).days
            except ValueError:
                gap = 99
            if 0 <= gap <= 1:
                loc = dateline_place(doc)
        out.append(Event(
            type=e.type,
            parties=sorted(e.parties),
            status=e.status,
            date=e.date,
            date_text=e.date_text if e.date else None,
            location=loc,
            evidence=doc.text[e.ev_start:e.ev_end],
            evidence_start=e.ev_start,
            evidence_end=e.ev_end,
            confidence=e.confidence,
            rule=e.rule,
        ))
    out.sort(key=lambda ev: (ev.evidence_start, ev.type, ev.parties, ev.date or ""))
    return out
