"""The rule-based event extractor: the pipeline for one document (all pure, no I/O).

1. cues: one Aho-Corasick pass for cue words (triggers, status, context, filters) over the
   lower-cased text; without a trigger cue nothing can be extracted (extractors.mentions);
2. layout: sentences with offsets, headline and dateline (extractors.sentences, .document);
3. mentions: one Aho-Corasick pass for actors (gazetteer), plus a regex pass for unknown firm
   names, placed in sentences (extractors.mentions);
4. for each sentence that holds a trigger: the roles of its mentions (extractors.mentions), its
   triggers and clause segments (extractors.clauses), its dates (extractors.dates), and for each
   trigger its parties (extractors.parties) and attributes (extractors.attributes), as candidates
   (extractors.candidates); other sentences only update the running salience;
5. merge the candidates of the document: one event per (type, parties, date) (extractors.merge,
   extractors.identity), finished into ``Event``s.

Every stage is a module of functions over the explicit document state (extractors.document).
"""

from __future__ import annotations

import datetime as dt
from typing import TypeAlias

from .attributes import mark_announcements
from .candidates import build
from .clauses import EVENT_CUE_CATEGORIES, conference_check, find_triggers, seg_of, segments
from .dates import DateMention, find_dates
from .document import Document, Mention, new_document, set_layout
from .mentions import actor_mentions, find_cues, light_note, note_mentions, place_in_sentences, resolve_mentions
from .merge import add, finish
from .filter import apply as apply_filter
from .model import Event
from .pubdate import PubDate
from .rules import RuleSet, get_rules
from .sentences import Sentence, split_sentences

__all__ = ["extract", "extract_with_rules", "extract_candidates"]


#: what ``extract`` accepts as a publication date (see ``PubDate.parse``)
Published: TypeAlias = dt.date | PubDate | str | None


def extract(text: str, published: Published = None) -> list[Event]:
    """Extract partnership and summit events from one article (see docs/EVENTS.md).

    ``published`` is the publication date: a ``date``, a ``PubDate``, or "YYYY-MM-DD" / "YYYY-MM"
    / "YYYY"; known only to the month (or not at all), relative dates resolve only as far as it
    allows. The rules propose candidates; the candidate filter keeps those it trusts and gives
    each its confidence (extractors.filter)."""
    return extract_with_rules(text, published, get_rules())


def extract_candidates(text: str, published: Published = None, rules: RuleSet | None = None) -> list[Event]:
    """What the rules propose, before the candidate filter (for training and inspection)."""
    rules = rules or get_rules()
    if not isinstance(text, str) or not text.strip():
        return []
    return _run(new_document(text, _pubdate(published), rules))


def extract_with_rules(text: str, published: Published, rules: RuleSet) -> list[Event]:
    events = extract_candidates(text, published, rules)
    if not events:
        return events
    return apply_filter(events, text, rules.filter_model, rules.actor_kind)


def _pubdate(published: Published) -> PubDate | None:
    try:
        return PubDate.parse(published)
    except ValueError:
        return None  # an unusable date is no date: extraction never fails on metadata


def _run(doc: Document) -> list[Event]:
    doc.cues = find_cues(doc)
    # No trigger cue anywhere (partnership, summit or a status word for "It was
    # extended"): nothing can be extracted, so skip sentence analysis altogether.
    if not any(c.cat in EVENT_CUE_CATEGORIES for c in doc.cues):
        return []
    sents = split_sentences(doc.text)
    if not sents:
        return []
    set_layout(doc, sents)
    trig_sents = place_in_sentences(doc, actor_mentions(doc))
    for i, s in enumerate(sents):
        if i in trig_sents:
            doc.sent_mentions[i] = [Mention(*m) for m in doc.sent_mentions[i]]
            _sentence(doc, i, s, headline=(i == 0 and doc.headline))
        else:
            light_note(doc, i)  # no trigger: salience bookkeeping only
    return finish(doc)


def _sentence(doc: Document, sent_idx: int, sent: Sentence, headline: bool) -> None:
    R = doc.rules
    text = doc.text
    cues = doc.sent_cues[sent_idx]
    has_trig = False
    leader = None
    trig_defs = R.triggers
    for c in cues:
        if c.cat == "partnership" or (c.cat == "status" and text[sent.start:sent.start + 3] in ("It ", "it ")):
            has_trig = True
            break
        if c.cat == "summit":
            if not trig_defs[c.payload].needs_leaders:
                has_trig = True
                break
            if leader is None:
                leader = any(x.cat == "leaders" for x in cues) or any(
                    e.kind == "person" and e.extra == "head" for m in doc.sent_mentions[sent_idx] for e in m.entries)
            if leader:
                has_trig = True
                break
    if not has_trig:
        light_note(doc, sent_idx)
        return
    ms = resolve_mentions(doc, sent_idx, sent)
    trig_cues = [c for c in cues if c.cat in ("partnership", "summit")]
    has_it = bool(R.patterns.it_start.match(text[sent.start:sent.start + 4])) and any(
        c.cat == "status" and R.statuses[c.payload].type == "partnership"
        and R.statuses[c.payload].status in ("signed", "extended", "suspended", "cancelled") for c in cues)
    if headline or not (trig_cues or has_it):
        note_mentions(doc, ms)
        if any(c.cat == "summit" for c in trig_cues) and R.patterns.named_summit.search(text[sent.start:sent.end]):
            conference_check(doc, sent, ms, trig_cues)
        return
    cats = {c.cat for c in cues}
    if "denial" in cats or "hypothetical" in cats:
        note_mentions(doc, ms)
        return
    triggers, dropped = find_triggers(doc, sent_idx, sent, ms, cues, trig_cues, has_it)
    if not triggers:
        note_mentions(doc, ms)
        return
    segs = segments(doc, sent)
    for t in triggers:
        t.seg = seg_of(segs, t.start)
    dates = [DateMention(d.start + sent.start, d.end + sent.start, d.text, d.kind, d.prep, d.month, d.day, d.year,
                         d.weekday, d.unit, d.rel, d.excluded) for d in find_dates(text[sent.start:sent.end], R)]
    cands = build(doc, sent_idx, sent, ms, cues, triggers, dropped, segs, mark_announcements(doc, dates, sent))
    note_mentions(doc, ms)
    for cand in cands:
        add(doc, cand)
