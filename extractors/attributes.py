"""Attributes of a candidate event: status, future or past, date choice and location.

Also the dateline's place, and the date and place a pact shares with the summit it was signed at."""

from __future__ import annotations

from .clauses import WORD
from .dates import DateMention
from .document import Candidate, Cue, Document, Mention, Segment, Trigger
from .sentences import Sentence

__all__ = ["status", "future", "mark_announcements", "pick_date", "location", "share_at_summit", "dateline_place"]


def status(doc: Document, trigger: Trigger, zone_cues: list[Cue], sent: Sentence) -> str | None:
    """The highest-ranked status word of the trigger's type in its zone (not negated)."""
    R = doc.rules
    best = None
    for c in zone_cues:
        if c.cat != "status":
            continue
        sd = R.statuses[c.payload]
        if sd.type != trigger.type:
            continue
        before = WORD.findall(doc.lower[max(sent.start, c.start - 25):c.start])[-2:]
        if any(w in R.negation or w.endswith("n't") for w in before):
            continue
        if best is None or sd.rank > best.rank:
            best = sd
    return best.status if best else None


def future(doc: Document, status: str | None, start: int, end: int) -> bool | None:
    """Whether a bare date of the event resolves forward: from the status, else a future cue in
    [a, b)."""
    if status in ("planned", "negotiating"):
        return True
    if status is not None:
        return False
    return bool(doc.rules.patterns.future.search(doc.lower[start:end]))


def mark_announcements(doc: Document, dates: list[DateMention], sent: Sentence) -> list[tuple[DateMention, bool]]:
    """Each date with whether it follows a reporting verb ("said on Friday": when it was said)."""
    rv = doc.rules.patterns.announcement
    out = []
    for d in dates:
        before = doc.lower[max(sent.start, d.start - 50):d.start]
        ann = bool(rv.search(before))
        out.append((d, ann))
    return out


def pick_date(zone_dates: list[tuple[DateMention, bool]], trigger: Trigger, status: str | None) -> DateMention | None:
    """The event's date among the zone's dates: not excluded, not an announcement date (unless
    the event is cancelled or suspended), the first after the trigger, else the last before it."""
    usable = [(d, ann) for d, ann in zone_dates if not d.excluded]
    if not usable:
        return None
    plain = [d for d, ann in usable if not ann]
    if not plain:
        if status in ("cancelled", "suspended"):
            plain = [d for d, _ in usable]
        else:
            return None
    after = [d for d in plain if d.start >= trigger.end]
    if after:
        return after[0]
    return plain[-1]


def location(doc: Document, trigger: Trigger, mentions: list[Mention], zone_start: int, zone_end: int, segs: list[Segment], mod_places: list[Mention],
             hosts: set[str], zone_status_cues: list[Cue]) -> str | None:
    """Where the event happens; a building stands for its city ("the White House": Washington)."""
    loc = _location(doc, trigger, mentions, zone_start, zone_end, segs, mod_places, hosts, zone_status_cues)
    return doc.rules.venue_city.get(loc, loc) if loc else loc


def _location(doc: Document, trigger: Trigger, mentions: list[Mention], zone_start: int, zone_end: int, segs: list[Segment], mod_places: list[Mention],
              hosts: set[str], zone_status_cues: list[Cue]) -> str | None:
    text = doc.text
    if mod_places:
        return mod_places[0].place or mod_places[0].surface
    locs = [m for m in mentions if m.role == "location" or (trigger.type == "summit" and m.role == "toplace")]
    if trigger.type == "partnership":
        # a pact's place is where it is signed: near the trigger or right after a signing verb
        anchors = [trigger.end] + [c.end for c in zone_status_cues]
        locs = [m for m in locs if any(0 <= m.start - x <= 45 for x in anchors) or m.start < trigger.start]
    for m in locs:
        if trigger.end <= m.start < zone_end:
            return m.place or None
    for cm in doc.rules.patterns.city_of.finditer(text, zone_start, zone_end):
        return cm.group(1)
    for m in reversed(locs):
        if zone_start <= m.start < trigger.start:
            return m.place or None
    # previous segments of the sentence
    sa = segs[0][0]
    for m in reversed(locs):
        if sa <= m.start < zone_start:
            return m.place or None
    if trigger.type == "summit" and hosts:
        return sorted(hosts)[0]
    return None


def share_at_summit(doc: Document, cands: list[Candidate], triggers: list[Trigger]) -> None:
    """'signed ... at the summit': the pact and the summit share date and place."""
    text = doc.text
    ps = [c for c in cands if c.type == "partnership"]
    ss = [c for c in cands if c.type == "summit"]
    if not ps or not ss:
        return
    at_summit = doc.rules.patterns.at_summit
    linked = False
    for t in triggers:
        if t.type == "summit" and at_summit.search(text[max(0, t.start - 60):t.start]):
            linked = True
    if not linked:
        return
    for p in ps:
        for sm in ss:
            if p.parties == sm.parties or p.parties & sm.parties:
                if p.date and not sm.date:
                    sm.date, sm.date_text, sm.inherit = p.date, p.date_text, False
                elif sm.date and not p.date:
                    p.date, p.date_text = sm.date, sm.date_text
                if p.location and not sm.location:
                    sm.location = p.location
                elif sm.location and not p.location:
                    p.location = sm.location


def share_sidelines(cands: list[Candidate]) -> None:
    """'the two leaders last met on the sidelines of the BRICS summit in Kazan last October': the
    leaders' meeting takes the date, place and status of the summit it was held beside (from the
    same sentence), instead of inheriting a date from an earlier event of the article."""
    hosts = [c for c in cands if c.type == "summit" and c.rule.endswith("/bloc") and c.date]
    if not hosts:
        return
    for c in cands:
        if c.type == "summit" and c.sidelines and c.date is None and not c.rule.endswith("/bloc"):
            sm = hosts[0]
            c.date, c.date_text, c.inherit = sm.date, sm.date_text, False
            c.location = c.location or sm.location
            c.status = c.status or sm.status


def dateline_place(doc: Document) -> str | None:
    """The dateline's place ("OSLO" -> "Oslo", by the gazetteer's spelling where it knows it)."""
    d = doc.dateline
    if not d:
        return None
    for name in doc.rules.place_names:
        if name.upper() == d:
            return name
    return d.title()
