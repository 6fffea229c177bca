"""Candidate events of one sentence, as ``Candidate``s.

For each trigger: its scope and zone, then its parties (extractors.parties) and attributes
(extractors.attributes)."""

from __future__ import annotations

import re

from .attributes import future, location, pick_date, share_at_summit, share_sidelines, status
from .clauses import defence, defence_ok, scope, seg_triggers, zones
from .dates import DateMention, resolve
from .document import Candidate, Cue, Document, Mention, Segment, Trigger
from .mentions import is_firm
from .parties import claims, plan_parties, settle_parties
from .sentences import Sentence

__all__ = ["build"]


def build(doc: Document, sent_idx: int, sent: Sentence, mentions: list[Mention], cues: list[Cue], triggers: list[Trigger],
          dropped: list[int], segs: list[Segment], dates: list[tuple[DateMention, bool]]) -> list[Candidate]:
    P = doc.rules.patterns
    text = doc.text
    actors = [m for m in mentions if m.role == "actor"]
    # segment membership
    for m in mentions:
        m.claimed = -1
    seg_trigs = seg_triggers(triggers)
    zone_of = zones(triggers, segs, seg_trigs, dropped)

    # modifiers, with-groups and between-groups claim actors first
    info = []
    for k, t in enumerate(triggers):
        info.append(claims(doc, k, t, actors, zone_of[k], segs[t.seg][0]))

    cands: list[Candidate] = []
    for k, t in enumerate(triggers):
        sa, sb, segs_in = scope(k, triggers, segs, seg_trigs, actors)
        za, zb = zone_of[k]
        # zone extended by prefix segments and trailing which-segments
        ext_a = sa if segs_in[0] < t.seg else za
        ext_b = sb if segs_in[-1] > t.seg else zb
        if zb < segs[t.seg][1] and ext_b > segs[t.seg][1]:
            ext_b = zb  # a later trigger in the segment owns the rest
        zone_cues = [c for c in cues if ext_a <= c.start < ext_b]
        zone_status_cues = [c for c in zone_cues if c.cat == "status"]
        seg_a, seg_b = segs[t.seg][0], segs[t.seg][1]
        cl = info[k]
        if t.type == "partnership":
            segcues = [c for c in cues if seg_a <= c.start < seg_b]
            if any(c.cat in ("purchase", "sector_negative") for c in segcues) or any(c.cat == "sector_negative" for c in cues):
                continue
            if not defence_ok(doc, sent_idx, t, sent):
                continue
        st = status(doc, t, zone_cues, sent)
        if st is None:
            prev_same = [c for c in cands if c.type == t.type and c.status]
            if prev_same:
                st = prev_same[-1].status
        named_year = _dated_name(doc, t, sent, dates) if t.type == "partnership" and st is None else None
        if named_year is not None:
            st = "signed"  # "the 1995 Chequers declaration", "the Lancaster House treaties of 2010"
        if t.type == "partnership" and st is None:
            # a pact with no word of its state ("the deal", "ratify the agreement", "the treaty was
            # meant to lapse") is mostly a reference, not an event: on tune 4 right, 14 wrong
            continue
        fut = future(doc, st, ext_a, ext_b)
        if fut is False and st is None and future(doc, None, sent.start, sent.end):
            fut = True  # "... is expected to be one of the outcomes of the summit on June 23"
        zone_dates = [(d, ann) for d, ann in dates if ext_a <= d.start < ext_b]
        date_pick = pick_date(zone_dates, t, st)
        if date_pick is None and named_year is not None:
            date_pick = named_year
        plan = plan_parties(doc, sent_idx, sent, t, triggers, actors, cl, ext_a, ext_b, seg_a, zone_dates, date_pick, st, cands)
        sets = plan.sets
        years = _year_list(doc, t, zone_dates)
        if years and len(sets) == 1:
            # "signed security agreements in 1995 and 2006": one pact a year, same parties
            sets = [(sets[0][0], y, sets[0][2] + "+years") for y in years]
        for party_set, dpick, strat in sets:
            settled = settle_parties(doc, sent_idx, sent, t, party_set, strat, plan, cl.pair_n, mentions, segs, segs_in, cands)
            if settled is None:
                continue
            ps, strat, explicit, conf_pen = settled
            if t.type == "summit" and len(ps) >= 3 and P.the_end.search(text, max(sent.start, t.start - 5), t.start) and any(
                    e.type == "summit" and e.rule.endswith("/bloc") and sent_idx - e.sent_idx <= 5 for e in doc.events):
                # "... and Somali President X travelled to the Iraqi capital for the meeting": the
                # guests of a bloc's summit named just before
                continue
            # date
            date = date_text = None
            d = dpick
            if d is not None:
                date = resolve(d, doc.pub, _future_of(doc, st, fut, ext_a, sent, t, d))
                date_text = d.text if date else None
            # location
            loc = None
            if t.rule != "S-VISIT" and not any(is_firm(doc, p) for p in ps):  # a state visit spans a country
                loc = location(doc, t, mentions, ext_a, ext_b, segs, plan.mod_places, plan.hosts, zone_status_cues)
            conf = t.conf + (0.05 if defence(doc, sent_idx) else 0) - conf_pen - (0.1 if st is None else 0) - (0.05 if date is None else 0)
            cands.append(Candidate(
                type=t.type, parties=frozenset(ps), status=st, date=date, date_text=date_text, location=loc,
                sent_idx=sent_idx, ev_start=sent.start, ev_end=sent.end, confidence=round(max(0.05, min(0.99, conf)), 2),
                rule=f"{t.rule}/{strat}", explicit=explicit,
                inherit=(t.type == "summit" and date is None),
                sidelines=bool(P.sidelines.search(text[min(ext_a, max(seg_a, t.start - 60)):ext_b])),
            ))
    share_at_summit(doc, cands, triggers)
    share_sidelines(cands)
    return _without_attendees(doc, sent, cands)


def _without_attendees(doc: Document, sent: Sentence, cands: list[Candidate]) -> list[Candidate]:
    """'Leaders of A, B, C ... met in Oslo for the JEF Leaders' Summit': a gathering of three or
    more beside a bloc's own summit in the same sentence is that summit, its members attending
    (not when it meets on the summit's sidelines: then it is a meeting of its own)."""
    if not any(c.type == "summit" and c.rule.endswith("/bloc") for c in cands):
        return cands
    if doc.rules.patterns.sidelines.search(doc.text, sent.start, sent.end):
        return cands
    return [c for c in cands if not (c.type == "summit" and not c.rule.endswith("/bloc") and len(c.parties) >= 3
                                     and not c.sidelines)]


def _future_of(doc: Document, status_word: str | None, is_future: bool | None, ext_a: int, sent: Sentence, trigger: Trigger, mention: DateMention) -> bool | None:
    """With no word of its state, a bare date resolves forward only on a future cue before the end
    of the trigger and the date ("will meet ... on Friday"), not on one in a later clause ("closed
    out the summit on Wednesday, after members committed to ... over the next decade")."""
    if status_word is not None or not is_future:
        return is_future
    end = max(trigger.end, mention.end)
    return future(doc, None, ext_a, end) or future(doc, None, sent.start, end)


def _dated_name(doc: Document, trigger: Trigger, sent: Sentence, dates: list[tuple[DateMention, bool]]) -> DateMention | None:
    """A year (or month and year) that names the pact itself: written in its noun phrase just
    before the trigger ("its 1960 status-of-forces agreement", "The 2010 Lancaster House
    treaties") or right after it ("treaties of 2010"). A pact known by its year was signed then."""
    P = doc.rules.patterns
    for d, announced in dates:
        if announced or d.excluded or d.kind not in ("year", "monthyear"):
            continue
        if d.end <= trigger.start and P.dated_name_gap.fullmatch(doc.text, d.end, trigger.start):
            return d
        if d.start >= trigger.end and P.dated_name_after.fullmatch(doc.text, trigger.end, d.start):
            return d
    # a bare year is no date mention of its own ("the 1995 Chequers declaration")
    for m in _YEAR.finditer(doc.text, max(sent.start, trigger.start - 45), trigger.start):
        if P.dated_name_gap.fullmatch(doc.text, m.end(), trigger.start):
            return DateMention(m.start(), m.end(), m.group(0), "year", "", year=int(m.group(0)))
    return None


def _year_list(doc: Document, trigger: Trigger, zone_dates: list[tuple[DateMention, bool]]) -> list[DateMention]:
    """Years listed together after a plural pact noun ("agreements in 1995 and 2006"): each names
    a pact of its own. Empty unless the noun is plural and two or more years are joined by "and"."""
    if trigger.type != "partnership" or not (trigger.term.endswith("s") and not trigger.term.endswith("ss")):
        return []
    first = next((d for d, ann in zone_dates if not ann and not d.excluded and d.kind == "year"
                  and d.start > trigger.start), None)
    if first is None:
        return []
    out = [first]
    pos = first.end
    while True:
        m = doc.rules.patterns.year_join.match(doc.text, pos)
        if not m:
            break
        y = _YEAR.match(doc.text, m.end())
        if not y:
            break
        out.append(DateMention(y.start(), y.end(), y.group(0), "year", "in", year=int(y.group(0))))
        pos = y.end()
    return out if len(out) >= 2 else []


_YEAR = re.compile(r"\b(?:19|20)\d\d\b")
