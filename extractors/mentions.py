"""Matching passes and mention roles.

One Aho-Corasick pass for cue words (triggers, status, context, filters) and one for actors
(gazetteer) over the whole text, plus a regex pass for unknown firm names; their placement in
sentences; then, per analysed sentence, the role of each mention (party, location, ignored ...)
and the salience bookkeeping of the running subject.
"""

from __future__ import annotations

import bisect
import re
from typing import TypeVar

from .document import ActorHit, Cue, Document, Mention
from .rules import Entry
from .sentences import Sentence

__all__ = ["find_cues", "actor_mentions", "place_in_sentences", "resolve_mentions", "resolve_bloc_coref",
           "note_mentions", "light_note", "is_firm", "longest", "MAX_ACTORS_PER_SENTENCE", "MAX_DYNAMIC_FIRMS"]

MAX_ACTORS_PER_SENTENCE = 40
MAX_DYNAMIC_FIRMS = 50


_Match = TypeVar("_Match")


def longest(matches: list[tuple[int, int, _Match]]) -> list[tuple[int, int, _Match]]:
    """Non-overlapping matches, the longest winning at each start, in text order."""
    matches.sort(key=lambda m: (m[0], -(m[1] - m[0])))
    out = []
    last_end = -1
    for m in matches:
        if m[0] >= last_end:
            out.append(m)
            last_end = m[1]
    return out


# --------------------------------------------------------------------------- cues

def find_cues(doc: Document) -> list[Cue]:
    """Every cue of the text (lower-cased text, whole words); the same pass over the text keeps the
    gazetteer's whole-word matches in ``doc.actor_hits`` for actor_mentions."""
    low = doc.lower
    text = doc.text
    raw: list[Cue] = []
    append = raw.append
    hits: list[ActorHit] = []
    doc.actor_hits = hits
    n = len(low)
    # str.lower maps a capital sigma by its context (final or not): there alone the lower-cased
    # text may not hold a surface's lower-cased form, so such a text gets the case-sensitive pass
    by_case = "Σ" in text
    if by_case:
        hits.extend(_gazetteer_pass(doc))
    # whether a term starts or ends with a word character is known per term (rules.py): only
    # the neighbouring characters of the text are tested here
    for end_idx, (cue, actors) in doc.rules.scan_ac.iter(low):
        b = end_idx + 1
        if cue is not None:
            term, payload, size, word_start, word_end = cue
            a = b - size
            if not ((word_start and a > 0 and (low[a - 1].isalnum() or low[a - 1] == "_"))
                    or (word_end and b < n and (low[b].isalnum() or low[b] == "_"))):
                for cat, p in payload:
                    append(Cue(a, b, cat, p))
        if by_case:
            continue
        for val in actors:
            # a surface of the gazetteer is matched as written (case-sensitively), whole words
            surface, _, size, word_start, word_end = val
            a = b - size
            if text[a:b] != surface:
                continue
            if _whole_word(text, a, b, n, word_start, word_end):
                hits.append((a, b, val))
    return raw


def _whole_word(text: str, a: int, b: int, n: int, word_start: bool, word_end: bool) -> bool:
    """Whether text[a:b] stands as a whole word: only the edges that are word characters in the
    term need a non-word neighbour (stored per term, so no regex runs per hit)."""
    if word_start and a > 0 and (text[a - 1].isalnum() or text[a - 1] == "_"):
        return False
    return not (word_end and b < n and (text[b].isalnum() or text[b] == "_"))


def _gazetteer_pass(doc: Document) -> list[tuple]:
    """Whole-word gazetteer matches of the text by the case-sensitive automaton."""
    text = doc.text
    n = len(text)
    out = []
    for end_idx, val in doc.rules.actor_ac.iter(text):
        b = end_idx + 1
        _, _, size, word_start, word_end = val
        a = b - size
        if _whole_word(text, a, b, n, word_start, word_end):
            out.append((a, b, val))
    return out


# --------------------------------------------------------------------------- actors

def actor_mentions(doc: Document) -> list[tuple]:
    """Gazetteer matches, bloc coreference numbers ("the 32-member alliance") and dynamic firm
    names, longest first, as plain (start, end, surface, entries) tuples: Mention objects are
    made only for sentences that need clause analysis (see engine)."""
    R = doc.rules
    text = doc.text
    raw: list[ActorHit] = list(doc.actor_hits)  # whole-word gazetteer matches, found by find_cues
    for m in (R.patterns.the_alliance_num.finditer(text) if ("-member" in text or "-nation" in text or "-country" in text) else ()):
        word = "the " + m.group(1)
        blocs = R.bloc_coref.get(word, [])
        if blocs:
            raw.append((m.start(), m.end(), (m.group(0), tuple(Entry("coref", b, word) for b in blocs))))
    raw.extend(_dynamic_firms(doc, doc.cues))
    return [(a, b, val[0], val[1]) for a, b, val in longest(raw)]


def _known_surface(doc: Document, surface: str) -> bool:
    R = doc.rules
    return R.actor_ac.exists(surface) or surface.lower() in R.months or surface.lower() in R.weekdays


def _dynamic_firms(doc: Document, cues: list[Cue]) -> list[ActorHit]:
    """Unknown firm names introduced by a descriptor ("drone maker X Y") or ending in a firm suffix.
    Adds their canonical names to ``doc.dynamic_firms``."""
    R = doc.rules
    P = R.patterns
    text = doc.text
    desc_pos = [c.start for c in cues if c.cat == "firm_descriptor"]
    suf_end = [c.end for c in cues if c.cat == "firm_suffix" and text[c.start:c.start + 1].isupper()]
    owned = "'s " in text or "’s " in text  # both owner patterns need a possessive
    if not desc_pos and not suf_end and not owned:
        return []
    rx = (P.firm_by_descriptor, P.firm_by_suffix, P.firm_by_owner_group, P.firm_by_appositive)
    legal_forms = frozenset(x.rstrip(".") for x in R.legal_forms)
    out: list[ActorHit] = []
    names: dict[str, str] = {}

    def candidates(pattern_idx):
        if pattern_idx == 0:
            for p in desc_pos:
                m = rx[0].match(text, p)
                if m:
                    yield m
        elif pattern_idx >= 2:
            if owned:
                yield from rx[pattern_idx].finditer(text)
        else:
            for e in suf_end:
                m = rx[1].search(text, max(0, e - 90), min(len(text), e + 1))
                if m and m.end() >= e:
                    yield m

    for k, _r in enumerate(rx):
        for m in candidates(k):
            if len(out) >= MAX_DYNAMIC_FIRMS:
                break
            n = m.group("n").rstrip(".,")
            # stop the name before a trailing lower-case joiner or a known actor
            toks = n.split()
            while toks and toks[-1] in ("&",):
                toks.pop()
            if not toks:
                continue
            skip = 0
            while skip < len(toks) - 1 and (_known_surface(doc, toks[skip])
                                            or _known_surface(doc, P.possessive_end.sub("", toks[skip]))
                                            or toks[skip].endswith(("'s", "’s"))):
                skip += 1
            if skip:
                toks = toks[skip:]
            n = " ".join(toks)
            if k == 0 and len(toks) == 1 and _known_surface(doc, n):
                continue
            if _known_surface(doc, n) or toks[0] in P.firm_bad_start:
                continue
            canon = P.legal_form.sub("", n).strip()
            if not canon or _known_surface(doc, canon) or canon.rstrip(".") in legal_forms:
                continue  # "Rheinmetall AG" after the known "Rheinmetall": the legal form is never a party
            b = m.start("n") + len(m.group("n").rstrip(".,"))
            a = b - len(n)
            if text[a:b] != n:
                continue
            out.append((a, b, (n, (Entry("firm", canon, "dynamic"),))))
            doc.dynamic_firms.add(canon)
            names[canon] = canon
            if m.groupdict().get("abbr"):
                names[m.group("abbr")] = canon
            if len(toks) >= 2 and len(toks[0]) >= 4 and toks[0].isalpha() and not _known_surface(doc, toks[0]):
                names.setdefault(toks[0], canon)
    # other occurrences of the short names ("Kartal" after "Kartal Aerosystems")
    for short, canon in list(names.items()):
        if short == canon:
            continue
        for m in re.finditer(r"\b" + re.escape(short) + r"\b", text):
            out.append((m.start(), m.end(), (short, (Entry("firm", canon, "dynamic"),))))
    return out


def is_firm(doc: Document, name: str) -> bool:
    return name in doc.dynamic_firms or doc.rules.actor_kind.get(name) == "firm"


# --------------------------------------------------------------------------- placement

def place_in_sentences(doc: Document, mentions: list[tuple]) -> set[int]:
    """Fill ``doc.sent_mentions`` and ``doc.sent_cues``; return the indices of sentences that hold
    a trigger cue (or a status word after a sentence-initial "It")."""
    text = doc.text
    sents = doc.sents
    starts = [s.start for s in sents]
    # paragraph starts include datelines: use the dateline-free start; mentions inside
    # a dateline are dropped.
    doc.sent_mentions = [[] for _ in sents]
    for m in mentions:
        i = bisect.bisect_right(starts, m[0]) - 1
        if i >= 0 and m[1] <= sents[i].end:
            doc.sent_mentions[i].append(m)
    doc.sent_cues = [[] for _ in sents]
    trig_sents = set()
    for c in doc.cues:
        i = bisect.bisect_right(starts, c.start) - 1
        if i >= 0 and c.end <= sents[i].end:
            doc.sent_cues[i].append(c)
            if c.cat == "partnership" or c.cat == "summit" or (c.cat == "status" and text[sents[i].start:sents[i].start + 3] in ("It ", "it ")):
                trig_sents.add(i)
    return trig_sents


# --------------------------------------------------------------------------- roles

def resolve_mentions(doc: Document, sent_idx: int, sent: Sentence) -> list[Mention]:
    """The role of each mention of sentence ``sent_idx`` (blockers and unresolved coreferences dropped)."""
    R = doc.rules
    P = R.patterns
    text = doc.text
    out = []
    ms = doc.sent_mentions[sent_idx][:MAX_ACTORS_PER_SENTENCE]
    fm = P.fronted.match(text, sent.start, sent.end)
    fronted_end = fm.end() if fm else -1
    for m in ms:
        before = text[max(sent.start, m.start - 40):m.start]
        after = text[m.end:min(sent.end, m.end + 40)]
        entries = m.entries
        if any(e.kind == "blocker" for e in entries):
            continue
        m.role, m.actor, m.place, m.kind, m.head, m.claimed = "", "", "", "", False, -1
        if P.compound_after.match(after) or P.absent_after.match(after) or m.end <= fronted_end:
            m.role = "ignore"
            out.append(m)
            continue
        first: dict[str, Entry] = {}
        for e in entries:
            if e.kind not in first:
                first[e.kind] = e
        place = first.get("place")
        metonym = first.get("metonym")
        country = first.get("country")
        demonym = first.get("demonym")
        bloc = first.get("bloc")
        firm = first.get("firm")
        person = first.get("person")
        coref = first.get("coref")
        if P.ignore_before.search(before) or (bloc is None and firm is None and P.left_before.search(before)) or (
                P.qualifier_before.search(before) and P.qualifier_after.match(after)):
            m.role = "ignore"
            out.append(m)
            continue
        if demonym and P.capital_after.match(after) and P.the_end.search(before):
            cap = R.capital_of.get(demonym.name)
            m.role = "location" if cap else "ignore"
            m.place = cap or ""
            out.append(m)
            continue
        if (metonym or place) and not (country or bloc or firm) and P.name_after.match(after):
            m.role = "ignore"  # "Washington Treaty", "Minsk agreements"
            out.append(m)
            continue
        possessive = after[:2] in ("'s", "’s")
        pair_half = bool(P.pair_compound_after.match(after))  # "at the Japan-EU Summit": not a place
        if coref is not None:
            bloc_name = resolve_bloc_coref(doc, coref.extra, m.start)
            if bloc_name:
                m.role, m.actor, m.kind = "actor", bloc_name, "bloc"
                out.append(m)
            continue
        if firm is not None and not (country or bloc):
            if P.created_before.search(before):
                m.role = "ignore"  # the joint venture a deal creates
                out.append(m)
                continue
            m.role, m.actor, m.kind = "actor", firm.name, "firm"
            out.append(m)
            continue
        if person is not None:
            m.role, m.actor, m.kind = "actor", person.name, R.actor_kind.get(person.name, "country")
            m.head = person.extra == "head"
            out.append(m)
            continue
        # the place cues before the name, tested only where they decide something
        loc_cue = not possessive and not pair_half and P.loc_before.search(before) is not None
        to_cue = (not loc_cue and not possessive and not pair_half and place is not None and not (country or bloc)
                  and P.to_before.search(before) is not None)
        if loc_cue or to_cue:
            if place or country or metonym:
                m.role = "location"
                if place:
                    m.place = place.name
                elif country:
                    m.place = country.name
                elif metonym:
                    m.place = metonym.extra
                if not loc_cue:
                    m.role = "toplace"
                out.append(m)
                continue
        if bloc is not None and P.member_after.match(after) and P.one_member_before.search(before):
            m.role = "ignore"  # "a NATO member": one of the bloc's members, not the bloc
        elif bloc is not None:
            m.role, m.actor, m.kind = "actor", bloc.name, "bloc"
        elif country is not None:
            m.role, m.actor, m.kind = "actor", country.name, "country"
        elif demonym is not None:
            m.role, m.actor, m.kind = "actor", demonym.name, "country"
        elif metonym is not None:
            m.role, m.actor, m.kind = "actor", metonym.name, R.actor_kind.get(metonym.name, "country")
        elif place is not None:
            m.role = "placeonly"
            m.place = place.name
        else:
            continue
        out.append(m)
    # an owner describing a firm named before it: "Romarm, Romania's state-owned ... company"
    for m in out:
        if m.role == "actor" and m.kind == "country" and P.owner_desc_after.match(text, m.end, sent.end) \
                and P.owner_desc_before.search(text[max(sent.start, m.start - 40):m.start]):
            m.role = "firmmod"
    # nationality modifiers of firms: "Italy's Leonardo", "Turkish drone maker Kartal"
    for k, m in enumerate(out):
        if m.role == "actor" and m.kind == "country":
            for n in out[k + 1:k + 3]:
                if n.role == "actor" and n.kind == "firm":
                    gap = text[m.end:n.start]
                    if len(gap) <= 45 and P.firm_modifier_gap.fullmatch(gap):
                        m.role = "firmmod"
                    break
                if n.role == "actor":
                    break
    return out


def resolve_bloc_coref(doc: Document, phrase: str, pos: int) -> str | None:
    cands = set(doc.rules.bloc_coref.get(phrase, []))
    for p, name in reversed(doc.blocs_seen):
        if p < pos and name in cands:
            return name
    return None


# --------------------------------------------------------------------------- salience

def note_mentions(doc: Document, mentions: list[Mention]) -> None:
    sal = doc.salience
    for m in mentions:
        if m.role != "actor":
            continue
        rec = sal.setdefault(m.actor, [0, 0])
        rec[0] += 1
        rec[1] = m.start
        if m.kind == "bloc":
            doc.blocs_seen.append((m.end, m.actor))
        if m.kind == "firm":
            doc.firms_seen.append((m.end, m.actor))


def light_note(doc: Document, sent_idx: int) -> None:
    """Salience bookkeeping for a sentence without triggers (no clause analysis needed)."""
    text = doc.text
    sal = doc.salience
    kinds = doc.rules.actor_kind
    for m in doc.sent_mentions[sent_idx]:
        if type(m) is tuple:
            m_start, m_end, _, m_entries = m
        else:
            m_start, m_end, m_entries = m.start, m.end, m.entries
        name = kind = None
        for e in m_entries:
            if e.kind in ("country", "demonym", "bloc", "firm", "metonym", "person"):
                name = e.name
                kind = kinds.get(name, "firm" if e.kind == "firm" else "country")
                break
            if e.kind == "coref":
                name = resolve_bloc_coref(doc, e.extra, m_start)
                kind = "bloc"
                break
            if e.kind == "blocker":
                break
        if not name:
            continue
        pre = text[max(0, m_start - 4):m_start]
        if pre.endswith(("in ", "at ")):
            continue
        rec = sal.setdefault(name, [0, 0])
        rec[0] += 1
        rec[1] = m_start
        if kind == "bloc":
            doc.blocs_seen.append((m_end, name))
        elif kind == "firm":
            doc.firms_seen.append((m_end, name))
