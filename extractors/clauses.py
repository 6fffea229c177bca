"""Triggers and clause geometry of one sentence.

Which trigger cues of a sentence stand (negation, noun phrases of non-defence programmes,
mountains, conferences, "meet spending targets" ...), the defence context, the clause segments
of the sentence, and each trigger's zone and scope within them.
"""

from __future__ import annotations

import re
from functools import lru_cache

from .document import Cue, Document, Mention, Segment, Trigger
from .mentions import longest
from .rules import CueCategory
from .sentences import Sentence

__all__ = ["find_triggers", "meet_ok", "segments", "seg_of", "zones", "scope", "defence", "defence_ok",
           "conference_check", "seg_triggers", "WORD", "MAX_TRIGGERS_PER_SENTENCE",
           "EVENT_CUE_CATEGORIES"]

MAX_TRIGGERS_PER_SENTENCE = 8
#: cue categories that can start an event: without one in the text nothing is extracted
EVENT_CUE_CATEGORIES: frozenset[CueCategory] = frozenset(("partnership", "summit", "status"))

#: a word token (the engine's tokens for word-set lookups)
WORD = re.compile(r"[\w'’-]+")
#: the capitalised word just before a position: "JEF" of "JEF Summit"
_CAPITALISED_WORD_BEFORE = re.compile(r"([A-Z][\w-]*)\s+$")
#: the same with apostrophes in the word: "Leaders'" of "Leaders' Summit", "Africa’s"
_CAPITALISED_WORD_WITH_APOSTROPHE_BEFORE = re.compile(r"([A-Z][\w'’-]*)\s+$")


# --------------------------------------------------------------------------- triggers

def find_triggers(doc: Document, sent_idx: int, sent: Sentence, mentions: list[Mention], cues: list[Cue], trig_cues: list[Cue],
                  has_it: bool) -> tuple[list[Trigger], list[int]]:
    """The triggers of sentence ``sent_idx`` that stand, and the start offsets of the trigger cues that were
    dropped (outside names): a dropped cue still ends the zone of the trigger before it."""
    R, text, low = doc.rules, doc.text, doc.lower
    P = R.patterns
    cats = {c.cat for c in cues}
    leader = "leaders" in cats or any(m.head for m in mentions if m.role == "actor")
    mountain = "mountain" in cats
    conference = "conference" in cats
    phone = "phone" in cats
    officials = [c for c in cues if c.cat == "officials"] if "officials" in cats else []
    np_phrases = _phrases(R.np_negative)
    out: list[Trigger] = []
    # longest trigger cue wins at overlapping positions
    tc = longest([(c.start, c.end, c) for c in trig_cues])
    actor_spans = [(m.start, m.end) for m in doc.sent_mentions[sent_idx]]
    for a, b, c in tc:
        if len(out) >= MAX_TRIGGERS_PER_SENTENCE:
            break
        if any(x <= a and b <= y and not (x == a and y == b) for x, y in actor_spans):
            continue  # inside a name: "Alliance of Sahel States", "Gulf Cooperation Council"
        if any(x <= a < y for x, y in actor_spans):
            continue
        trigger_def = R.triggers[c.payload]
        term = low[a:b]
        before_words = WORD.findall(low[max(sent.start, a - 60):a])[-4:]
        if any(w in R.negation or w.endswith("n't") for w in before_words):
            continue
        if trigger_def.type == "partnership" and P.neg_clause.search(low, max(sent.start, a - 70), a):
            continue
        if trigger_def.type == "partnership":
            np_words = []
            for w in reversed(before_words):
                if w in P.determiners or w in P.np_stop:
                    break
                np_words.append(w)
            np_text = " ".join(reversed(np_words))
            if any(w in R.np_negative for w in np_words) or any(n in np_text for n in np_phrases):
                continue
            if trigger_def.needs_defence_np and not _has_defence(cues, max(sent.start, a - 40), a):
                continue
            if trigger_def.needs_defence_sentence and not defence(doc, sent_idx):
                continue
            # what the pact is about, right after it: "an agreement on the handling of asylum requests"
            about = P.about_after.match(low, b, sent.end)
            if about and not _has_defence(cues, about.start(), about.end()):
                words = WORD.findall(about.group(0))
                if any(w in R.np_negative for w in words) or any(n in about.group(0) for n in np_phrases):
                    continue
            out.append(Trigger(a, b, "partnership", trigger_def.id, term, trigger_def.confidence))
        else:
            if mountain or phone:
                continue  # a mountain's summit; leaders on the phone
            if trigger_def.needs_leaders and not leader:
                continue
            if trigger_def.needs_leaders and any(o.end <= a for o in officials):
                continue  # ministers, envoys and officials meeting (even a president) is not a summit
            if trigger_def.verb and not meet_ok(doc, b, sent, mentions):
                continue
            if trigger_def.id == "S-MEETING" and P.meeting_of.match(text[b:b + 40]):
                continue
            if text[a].isupper() and trigger_def.id == "S-SUMMIT":
                end = a
                prev = _CAPITALISED_WORD_WITH_APOSTROPHE_BEFORE.search(text[max(sent.start, end - 40):end])
                if prev and P.leaders_word.fullmatch(prev.group(1)):
                    # "the JEF Leaders' Summit": the name before "Leaders'" says whose summit it is
                    end -= len(prev.group(0))
                    prev = _CAPITALISED_WORD_WITH_APOSTROPHE_BEFORE.search(text[max(sent.start, end - 40):end])
                if prev and end - len(prev.group(0)) > sent.start:
                    pa = end - len(prev.group(0))
                    if not any(m.start <= pa < m.end and m.role in ("actor", "location", "placeonly") for m in mentions):
                        doc.conference_summit = True
                        continue
            if conference and not leader:
                continue
            out.append(Trigger(a, b, "summit", trigger_def.id, term, trigger_def.confidence))
    kept = {t.start for t in out}
    dropped = [a for a, b, c in tc if a not in kept and not any(x <= a < y for x, y in actor_spans)]
    if has_it and not any(t.type == "partnership" for t in out):
        st = next(c for c in cues if c.cat == "status" and R.statuses[c.payload].type == "partnership")
        out.append(Trigger(st.start, st.end, "partnership", "P-PRONOUN", low[st.start:st.end], 0.6, pseudo="pronoun"))
        out.sort(key=lambda t: t.start)
    return out, dropped


@lru_cache(maxsize=8)
def _phrases(words: frozenset) -> tuple[str, ...]:
    """The entries of a word set that are phrases (hold a space), found once per rule set: they
    are tested as substrings, the single words as tokens."""
    return tuple(n for n in words if " " in n)


def meet_ok(doc: Document, trigger_end: int, sent: Sentence, mentions: list[Mention]) -> bool:
    """'met Zelensky', 'meet in Abuja', 'met on Wednesday' — not 'meet spending targets'."""
    P = doc.rules.patterns
    rest = doc.text[trigger_end:min(sent.end, trigger_end + 60)]
    if not rest.strip() or rest.lstrip()[:1] in ".,;:)!?":
        return True
    nxt = trigger_end + (len(rest) - len(rest.lstrip()))
    if any(m.start == nxt and m.role in ("actor", "location", "toplace") for m in mentions):
        return True
    w = WORD.findall(rest[:30].lower())
    if not w:
        return True
    if w[0] in P.meet_title_det and len(w) > 1 and w[1] in P.meet_title:
        return True
    if rest.lstrip()[:1].isupper():
        return True
    return w[0] in P.meet_next


def conference_check(doc: Document, sent: Sentence, mentions: list[Mention], trig_cues: list[Cue]) -> None:
    """A capitalised "X Summit" in a headline or untriggered sentence that is not a place or party
    names a conference: the document's bare "the summit" then refers to no earlier summit."""
    for c in trig_cues:
        if c.cat == "summit" and doc.text[c.start].isupper():
            prev = _CAPITALISED_WORD_BEFORE.search(doc.text[sent.start:c.start])
            if prev and not any(m.start <= c.start - 1 and m.end >= c.start - len(prev.group(1)) - 1 and m.role in ("actor", "location", "placeonly") for m in mentions):
                doc.conference_summit = True


# --------------------------------------------------------------------------- defence context

def _has_defence(cues: list[Cue], lo: int = 0, hi: int | None = None) -> bool:
    """A defence cue among ``cues`` (within [lo, hi) when given) that is not inside a non-defence
    phrase ("energy security")."""
    nd = [(c.start, c.end) for c in cues if c.cat == "not_defence"]
    for c in cues:
        if (c.cat == "defence" and lo <= c.start and (hi is None or c.end <= hi)
                and not any(a <= c.start and c.end <= b for a, b in nd)):
            return True
    return False


def defence(doc: Document, sent_idx: int) -> bool:
    """Sentence ``sent_idx`` has a defence cue (not inside a non-defence phrase)."""
    hit = doc.defence_memo.get(sent_idx)
    if hit is None:
        hit = doc.defence_memo[sent_idx] = _has_defence(doc.sent_cues[sent_idx])
    return hit


def defence_ok(doc: Document, sent_idx: int, trigger: Trigger, sent: Sentence) -> bool:
    """A partnership needs a defence context: its sentence or a neighbour, a recent partnership,
    or an anaphoric "similar pact" after one."""
    if defence(doc, sent_idx):
        return True
    # a defence firm of the gazetteer in the sentence is defence context itself ("Airbus, Thales
    # and Leonardo signed a memorandum ..."); firms found by their descriptor are not known to be
    if any(e.kind == "firm" and e.extra != "dynamic" for m in doc.sent_mentions[sent_idx] for e in
           (m.entries if not isinstance(m, tuple) else m[3])):
        return True
    n = len(doc.sents)
    if (sent_idx > 0 and defence(doc, sent_idx - 1)) or (sent_idx + 1 < n and defence(doc, sent_idx + 1)):
        return True
    if any(e.type == "partnership" and sent_idx - e.sent_idx <= 6 for e in doc.events):
        return True
    return bool(doc.rules.patterns.anaphoric.search(doc.lower, max(sent.start, trigger.start - 40), trigger.start)) and any(
        e.type == "partnership" for e in doc.events)


# --------------------------------------------------------------------------- segments, zones, scopes

def segments(doc: Document, sent: Sentence) -> list[Segment]:
    """Clause segments of the sentence as (start, end, kind); kind is main|which|sub."""
    P = doc.rules.patterns
    text = doc.text
    cuts = [(sent.start, "main")]
    for m in P.clause_break.finditer(text, sent.start, sent.end):
        kind = "which" if P.which_break.match(text[m.start():m.start() + 12]) else "sub"
        cuts.append((m.start(), kind))
    segs = []
    for k, (a, kind) in enumerate(cuts):
        b = cuts[k + 1][0] if k + 1 < len(cuts) else sent.end
        if b > a:
            segs.append((a, b, kind))
    return segs or [(sent.start, sent.end, "main")]


def seg_of(segs: list[Segment], pos: int) -> int:
    for k, (a, b, _) in enumerate(segs):
        if a <= pos < b:
            return k
    return len(segs) - 1


def seg_triggers(triggers: list[Trigger]) -> dict[int, list[int]]:
    """Segment index -> indices of the triggers in it."""
    seg_trigs: dict[int, list[int]] = {}
    for k, t in enumerate(triggers):
        seg_trigs.setdefault(t.seg, []).append(k)
    return seg_trigs


def zones(triggers: list[Trigger], segs: list[Segment], seg_trigs: dict[int, list[int]], dropped: list[int]) -> dict[int, tuple[int, int]]:
    """Within a segment, trigger k (an index of ``triggers``) owns [start of its segment or previous trigger, next trigger);
    a dropped trigger cue also ends the zone."""
    out = {}
    for seg, ks in seg_trigs.items():
        for n, k in enumerate(ks):
            za = segs[seg][0] if n == 0 else triggers[k].start
            zb = triggers[ks[n + 1]].start if n + 1 < len(ks) else segs[seg][1]
            zb = min([zb] + [d for d in dropped if triggers[k].end <= d < zb])
            out[k] = (za, zb)
    return out


def scope(trig_idx: int, triggers: list[Trigger], segs: list[Segment], seg_trigs: dict[int, list[int]], actors: list[Mention]) -> tuple[int, int, list[int]]:
    """Text range of the scope of trigger ``trig_idx`` and the segments it covers: preceding segments without a
    trigger of their own, and following which-clauses without a trigger or a name."""
    t = triggers[trig_idx]
    segs_in = [t.seg]
    j = t.seg - 1
    while j >= 0 and j not in seg_trigs and segs[t.seg][2] != "which":
        segs_in.insert(0, j)
        j -= 1
    j = t.seg + 1
    while j < len(segs) and segs[j][2] == "which" and j not in seg_trigs:
        a, b, _ = segs[j]
        if any(a <= m.start < b for m in actors):
            break
        segs_in.append(j)
        j += 1
    return segs[segs_in[0]][0], segs[segs_in[-1]][1], segs_in
