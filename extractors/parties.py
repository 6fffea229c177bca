"""The parties of a trigger.

Claims first (names modifying the trigger, "with"-lists, "between"-lists, pair phrases), then
the trigger's subject and tail, the strategy that turns them into party sets (explicit, between,
with, list, each, coreference), and the settling of each set: pair phrases, bloc expansion,
completion of a single named party, the firm filter.
"""

from __future__ import annotations

from dataclasses import dataclass

from .attributes import pick_date
from .clauses import WORD
from .dates import DateMention
from .document import Candidate, Document, Mention, Segment, Trigger
from .mentions import is_firm
from .sentences import Sentence

__all__ = ["Claims", "claims", "PartyPlan", "plan_parties", "settle_parties", "is_definite", "pair_ref", "complete",
           "expand", "firm_filter", "zero_party_ref"]

_PAIR_NUMBERS = {"two": 2, "both": 2, "2": 2, "three": 3, "3": 3, "four": 4, "4": 4}


@dataclass(slots=True)
class Claims:
    """What one trigger claimed of the sentence's actors."""

    mods: list[Mention]  # names right before the trigger ("the Canada-EU agreement")
    groups: list[tuple[list[Mention], tuple[int, int]]]  # with-groups and each group's date range
    between: list[Mention]  # a between/among group
    pair_n: int  # size named by a pair phrase in the zone ("the two countries"), else 0


@dataclass(slots=True)
class PartyPlan:
    """The party sets of one trigger (each with its date and strategy) and its summit hosts."""

    sets: list[tuple[frozenset[str], DateMention | None, str]]
    mod_places: list[Mention]  # metonym modifiers of a summit: its place ("the Brussels summit")
    hosts: set[str]
    venue_hosts: set[str]


# --------------------------------------------------------------------------- claims

def claims(doc: Document, trig_idx: int, trigger: Trigger, actors: list[Mention], zone: tuple[int, int], seg_start: int) -> Claims:
    """Modifier actors, with-groups, between-group and pair size of trigger ``trig_idx`` (claimed
    actors get ``claimed = trig_idx``)."""
    P = doc.rules.patterns
    text = doc.text
    za, zb = zone
    mods: list[Mention] = []
    # modifiers: actors right before the trigger ("the Canada-EU agreement", "the UK deal")
    j = trigger.start
    chain = [m for m in actors if m.end <= trigger.start and m.start >= seg_start and m.claimed == -1]
    chain.sort(key=lambda m: m.end, reverse=True)
    for m in chain:
        gap = text[m.end:j]
        if not mods:
            ok = P.modifier_gap.fullmatch(gap) is not None
        else:
            ok = gap in ("-", "–", "/", " and ", "-and-")
        if not ok:
            break
        if trigger.pseudo:
            break
        mods.append(m)
        j = m.start
    for m in mods:
        m.claimed = trig_idx
    # with / between groups after the trigger in its zone
    groups: list[tuple[list[Mention], tuple[int, int]]] = []
    between: list[Mention] = []
    after = [m for m in actors if za <= m.start < zb and m.claimed == -1]
    for wm in P.with_word.finditer(text[za:zb]):
        wpos = za + wm.end()
        if wm.group(1) == "to" and (za + wm.start() != trigger.end + 1 or not trigger.term.endswith("ies")):
            continue
        if wpos < trigger.start and wm.group(1) != "with":
            continue
        grp: list[Mention] = []
        cur = wpos
        for m in after:
            if m.start < wpos or m.claimed != -1:
                continue
            gap = text[cur:m.start]
            limit = P.with_first_gap if not grp else P.with_next_gap
            if limit.fullmatch(gap) or (not grp and P.the_gap.fullmatch(gap)):
                grp.append(m)
                cur = m.end
            else:
                break
        if not grp:
            continue
        for m in grp:
            m.claimed = trig_idx
        if wm.group(1) in ("between", "among"):
            between.extend(grp)
        else:
            # the group's date range: up to the next "with" or the zone end
            groups.append((grp, (grp[-1].end, zb)))
    # limit each group's date range to before the next group
    fixed = []
    for n, (g, (a, b)) in enumerate(groups):
        nb = groups[n + 1][0][0].start if n + 1 < len(groups) else b
        fixed.append((g, (a, nb)))
    # pair phrases in the zone ("the two countries", "both nations")
    pair_n = 0
    for pm in P.pair_phrase.finditer(text, za, zb):
        num = pm.group("num").lower() if pm.group("num") else "two"
        pair_n = _PAIR_NUMBERS.get(num, 2)
        if pm.group(0).lower().startswith("both"):
            pair_n = 2
        break
    return Claims(mods, fixed, between, pair_n)


# --------------------------------------------------------------------------- strategy

def plan_parties(doc: Document, sent_idx: int, sent: Sentence, trigger: Trigger, triggers: list[Trigger], actors: list[Mention],
                 trigger_claims: Claims, ext_a: int, ext_b: int, seg_a: int, zone_dates: list[tuple[DateMention, bool]],
                 date_pick: DateMention | None, status: str | None, cands: list[Candidate]) -> PartyPlan:
    """Subject, tail and claims of ``trigger`` turned into party sets."""
    R = doc.rules
    P = R.patterns
    text = doc.text
    mods, groups, between, pair_n = trigger_claims.mods, trigger_claims.groups, trigger_claims.between, trigger_claims.pair_n
    subj_a = min(ext_a, seg_a)
    subj = [m for m in actors if subj_a <= m.start < trigger.start and m.claimed == -1]
    prev = max((x for x in triggers if x.end <= trigger.start and x.type == trigger.type), key=lambda x: x.end, default=None)
    if prev is not None and any(m.start < prev.start for m in subj):
        # "Trump will meet leaders of the GCC in Riyadh before flying to Doha for talks with Qatar's
        # emir": names after an earlier trigger are its objects; the subject before it is shared
        subj = [m for m in subj if not prev.end <= m.start]
    if subj and P.reported.search(doc.lower, subj[-1].end, trigger.start) and (
            is_definite(doc, trigger, sent) or doc.lower[max(sent.start, trigger.start - 12):trigger.start].rstrip().endswith("both")):
        subj = []  # "the Estonian minister said the agreement ...": a speaker, not a party
    nxt = min((x.start for x in triggers if x.start > trigger.start and x.seg == trigger.seg), default=ext_b)
    tail: list[Mention] = []
    definite = is_definite(doc, trigger, sent)
    if not definite or trigger.type == "summit" and trigger.rule == "S-MET":
        cur = trigger.end
        for m in actors:
            if m.start < trigger.end or m.start >= min(nxt, ext_b) or m.claimed != -1:
                continue
            gap = text[cur:m.start]
            if not tail and (len(gap) > 80 or _has_punct(gap)):
                break
            if tail and not P.tail_gap.fullmatch(gap):
                break
            tail.append(m)
            cur = m.end
    mod_names = _actor_names(mods)
    if (trigger.type == "partnership" and len(mod_names) == 1 and R.actor_kind.get(next(iter(mod_names))) == "bloc"
            and not between and not any(g for g, _ in groups)):
        return PartyPlan([], [], set(), set())  # "the NATO treaty", "NATO's alliance": the bloc's own
    # before a verb the names are its subject: "NATO leaders met" is the bloc's meeting, but in
    # "Trump and Commission President von der Leyen met" the official stands for one side
    subject_only = (trigger.rule in R.triggers and R.triggers[trigger.rule].verb and mods
                    and not P.bloc_leaders_after.match(text, mods[0].end, trigger.start))
    if mod_names and not subject_only and (len(mod_names) >= 2 or any(R.actor_kind.get(x) == "bloc" for x in mod_names)):
        base = set(mod_names)  # "the Canada-EU agreement", "the Quad meeting", "the G7 summit"
        subj = []
    else:
        base = _actor_names(subj) | mod_names
    party_sets: list[tuple[frozenset[str], DateMention | None, str]] = []
    owners = bloc_owners(doc, sent, trigger, actors) if trigger.type == "summit" else set()
    if owners and not between and not any(g for g, _ in groups) and not any(
            R.actor_kind.get(m.actor) != "bloc" for m in mods):
        # a bloc's own summit ("the G7 summit", "a summit of the Arab League and the OIC", "NATO
        # leaders ... their summit"): the blocs are its parties, not the states around them
        return PartyPlan([(frozenset(owners), date_pick, "bloc")], [], set(), set())
    mod_places: list[Mention]
    hosts: set[str]
    venue_hosts: set[str]
    if trigger.type == "summit":
        # metonym modifiers of a summit are its place: "the Brussels summit"
        mod_places = [m for m in mods if any(e.kind == "metonym" for e in m.entries) and m.surface in R.place_names]
        for m in mod_places:
            base.discard(m.actor)
        hosts = {m.actor for m in tail + subj if P.hosting.match(text[m.end:m.end + 25]) or P.for_hosting.match(text[m.end:m.end + 20])}
        # a leader who hosts takes part ("the president hosted ..."); a state that hosts is the venue
        venue_hosts = {m.actor for m in tail + subj if m.actor in hosts and not any(e.kind == "person" for e in m.entries)}
        all_blocs = {x for x in base if R.actor_kind.get(x) == "bloc"}
        if all_blocs and all(R.actor_kind.get(x) == "bloc" for x in base - hosts):
            venue_hosts = set(hosts)
    else:
        mod_places = []
        hosts = set()
        venue_hosts = set()
    coref_main = None
    own_subj = [m for m in subj if m.start >= seg_a]
    if (definite and not mods and not between and not any(g for g, _ in groups) and not own_subj
            and not pair_n):
        if trigger.type == "partnership":
            coref_main = cands[-1] if cands else zero_party_ref(doc, trigger, sent_idx, sent)
    if coref_main is not None:
        party_sets.append((frozenset(coref_main.parties), date_pick, "coref"))
    elif between:
        names = _actor_names(between)
        # "a summit between A and B": the between-list names every party; names before it in the
        # sentence ("met a Colombian fisherman ..., speaking at a summit between ...") are not
        ps = (mod_names | names) if len(names) >= 2 else (base | names)
        party_sets.append((frozenset(ps), date_pick, "between"))
    elif groups and any(g for g, _ in groups):
        plural = trigger.term.endswith("s") and not trigger.term.endswith("ss") or len(groups) > 1
        multi = bool(P.multi.search(text[max(sent.start, trigger.start - 30):trigger.start]))
        each = bool(P.each.search(text[ext_a:trigger.start])) and len(base) >= 2
        gnames = [[m.actor for m in g] for g, _ in groups if g]
        if each:
            allw = {x for g in gnames for x in g}
            for b0 in sorted(base):
                party_sets.append((frozenset({b0} | allw), date_pick, "each"))
        elif (plural or len(gnames) > 1) and not multi:
            if not base:
                comp = complete(doc, None, sent_idx, trigger, [], pair_n)
                base = {comp} if comp else set()
                strategy = "list+coref"
            else:
                strategy = "list"
            real_groups = [x for x in groups if x[0]]
            for (_g, gd), group_names in zip(real_groups, gnames):
                d = pick_date([x for x in zone_dates if gd[0] <= x[0].start < gd[1]], trigger, status)
                if d is None and date_pick is not None and not any(
                        a0 <= date_pick.start < b0 for _, (a0, b0) in real_groups):
                    d = date_pick  # a date outside every group's range is shared by all of them
                for w in group_names:
                    party_sets.append((frozenset(base | {w}), d, strategy))
        else:
            party_sets.append((frozenset(base | {x for g in gnames for x in g}), date_pick, "with"))
    else:
        ps = set(base)
        if len(ps) < 2:
            ps |= _actor_names(tail)
        party_sets.append((frozenset(ps), date_pick, "explicit"))
    return PartyPlan(party_sets, mod_places, hosts, venue_hosts)


def _actor_names(mentions: list[Mention]) -> set[str]:
    return {m.actor for m in mentions}


def _has_punct(gap: str) -> bool:
    return "," in gap or ";" in gap or ":" in gap


def settle_parties(doc: Document, sent_idx: int, sent: Sentence, trigger: Trigger, party_set: frozenset[str], strat: str, plan: PartyPlan,
                   pair_n: int, mentions: list[Mention], segs: list[Segment], segs_in: list[int],
                   cands: list[Candidate]) -> tuple[set[str], str, int, float] | None:
    """One party set made final: venue hosts out, pair phrases and coreference, bloc expansion,
    completion of a single party, the firm filter. Returns (parties, strategy, explicit count,
    confidence penalty), or None when the set is not an event."""
    R = doc.rules
    text = doc.text
    rest = set(party_set) - plan.venue_hosts
    ps = rest if trigger.type == "summit" and rest else set(party_set)
    explicit = len(ps)
    conf_pen = 0.0
    # pair phrases ("the two countries") and coreference
    need = 3 if R.patterns.multi.search(text[max(sent.start, trigger.start - 30):trigger.start]) and "trilateral" in text[max(sent.start, trigger.start - 30):trigger.start].lower() else 2
    if pair_n and len(ps) < need and strat != "bloc":  # a bloc's own summit takes no pair
        same = [c.parties for c in cands if len(c.parties) == pair_n and (not ps or ps & c.parties)]
        ref = same[-1] if same else pair_ref(doc, pair_n, ps, trigger.type)
        if ref:
            ps |= set(ref)
            strat += "+pair"
            conf_pen += 0.1
    if trigger.type == "partnership":
        ps = expand(doc, ps)  # the AUKUS pact is its members'; the Quad's summit is the Quad's
        if any(R.actor_kind.get(p) == "bloc" for p in ps) and any(
                c.cat == "accession" for c in doc.sent_cues[sent_idx]):
            return None  # joining, membership of or leaving a bloc is not a partnership with it
    if trigger.type == "summit" and len(ps) == 1 and R.actor_kind.get(next(iter(ps))) == "bloc":
        pass  # a bloc's own summit
    elif len(ps) == 1:
        allowed = [m for m in mentions if any(segs[j][0] <= m.start < segs[j][1] and (segs[j][2] != "sub" or j in segs_in) for j in range(len(segs)))]
        comp = complete(doc, next(iter(ps)), sent_idx, trigger, allowed, pair_n)
        if not comp:
            return None
        ps.add(comp)
        strat += "+coref"
        conf_pen += 0.15
    elif not ps:
        same_type = [c for c in cands if c.type == trigger.type] or cands
        ref_event = same_type[-1] if same_type else zero_party_ref(doc, trigger, sent_idx, sent)
        if not ref_event:
            return None
        ps = set(ref_event.parties)
        strat = "coref"
        conf_pen += 0.2
    kept = firm_filter(doc, ps, trigger)
    if kept is None:
        return None
    if trigger.type == "partnership" and len(kept) < 2:
        return None
    if trigger.type == "summit" and len(kept) < 2 and not (len(kept) == 1 and R.actor_kind.get(next(iter(kept))) == "bloc"):
        return None
    return kept, strat, explicit, conf_pen


# --------------------------------------------------------------------------- pieces

def bloc_owners(doc: Document, sent: Sentence, trigger: Trigger, actors: list[Mention]) -> set[str]:
    """The blocs a summit noun belongs to: "summit of the A (and the B)", "A('s) (annual) summit",
    "A leaders ... their summit". Empty when the summit is not a bloc's own."""
    if trigger.rule not in ("S-SUMMIT", "S-MEETING"):
        return set()
    P = doc.rules.patterns
    kinds = doc.rules.actor_kind
    text = doc.text
    blocs = [m for m in actors if m.role == "actor" and kinds.get(m.actor) == "bloc"]
    if not blocs:
        return set()
    owners: list[str] = []
    named_before = {m.actor for m in blocs if m.end <= trigger.start}
    after = P.summit_of.match(text, trigger.end, sent.end)
    if after:
        pos = after.end()
        for m in blocs:
            if m.start < pos:
                continue
            if m.start != pos:
                break
            owners.append(m.actor)
            j = P.bloc_join.match(text, m.end, sent.end)
            if not j:
                break
            pos = j.end()
        if not owners and P.bloc_coref_word.match(text, after.end(), sent.end) and len(named_before) == 1:
            owners = list(named_before)  # "a summit of the bloc", the bloc named earlier in the sentence
    if not owners:
        for m in reversed(blocs):
            if m.end > trigger.start:
                continue
            if any(e.kind == "metonym" for e in m.entries):
                break  # "the Brussels summit": a seat before a summit is its place (plan_parties)
            if m.start > 0 and text[m.start - 1] in "-–/":
                break  # "the ROK-EU Summit": a pair's summit, not the bloc's own
            if P.bloc_summit_gap.fullmatch(text, m.end, trigger.start):
                owners.append(m.actor)
            break
    if not owners and len(named_before) == 1 and P.their_summit.search(text, max(sent.start, trigger.start - 40), trigger.start):
        first_bloc = min(m.start for m in blocs if m.end <= trigger.start)
        if not any(m.role == "actor" and first_bloc <= m.start < trigger.start and kinds.get(m.actor) != "bloc"
                   for m in actors):
            owners = list(named_before)  # "NATO leaders ... their summit", not "EU and Indian leaders ... their summit"
    return set(owners)


def expand(doc: Document, parties: set[str]) -> set[str]:
    """A bloc with members (AUKUS, the Quad) stands for its members."""
    out: set[str] = set()
    for p in parties:
        mem = doc.rules.bloc_members.get(p)
        if mem:
            out |= set(mem)
        else:
            out.add(p)
    return out


def firm_filter(doc: Document, parties: set[str], trigger: Trigger) -> set[str] | None:
    """Firms deal with firms, and with governments: two firms or more make a firms-only
    partnership; a firm and a government make one too ("Lithuania and Rheinmetall signed an
    MoU"). A summit is never a firm's: its firms are dropped."""
    firms = {p for p in parties if is_firm(doc, p)}
    if len(firms) >= 2:
        return firms if trigger.type == "partnership" else None
    if firms and trigger.type == "summit":
        return parties - firms
    return parties


def _opening_state(doc: Document, sent_idx: int) -> str | None:
    """The state (country, or capital standing for it) that sentence ``sent_idx`` opens with, if any."""
    start = doc.sents[sent_idx].start
    for m in doc.sent_mentions[sent_idx]:
        entries = m[3] if isinstance(m, tuple) else m.entries
        if (m[0] if isinstance(m, tuple) else m.start) != start:
            continue
        for e in entries:
            if e.kind in ("country", "metonym") and doc.rules.actor_kind.get(e.name) == "country":
                return e.name
    return None


def pair_ref(doc: Document, size: int, explicit: set[str], event_type: str | None = None) -> frozenset[str] | None:
    """The parties of the latest event with ``size`` parties (sharing one with ``explicit`` if given)."""
    evs = doc.events
    if event_type:
        for e in reversed(evs):
            if e.type == event_type and len(e.parties) == size and (not explicit or explicit & e.parties):
                return e.parties
    for e in reversed(evs):
        if len(e.parties) == size and (not explicit or explicit & e.parties):
            return e.parties
    if explicit:
        for e in reversed(evs):
            if len(e.parties) == size:
                return e.parties
    return None


def complete(doc: Document, party: str | None, sent_idx: int, trigger: Trigger, mentions: list[Mention], pair_n: int) -> str | None:
    """The counterpart of a single named party (or the subject of a bare list)."""
    R = doc.rules
    kinds = R.actor_kind
    firm_mode = party is not None and kinds.get(party, "firm") == "firm"
    if firm_mode:
        # "The company said it had suspended ... with X": the most recent other firm
        for _pos, f in reversed(doc.firms_seen):
            if f != party:
                return f
        return None
    # 1. other actors in the same sentence (outside subordinate clauses)
    others = {m.actor for m in mentions if m.role == "actor" and m.actor != party and kinds.get(m.actor) != "firm"}
    if party is not None and len(others) == 1:
        return next(iter(others))
    # 2./3. the most recent event with p
    if party is not None:
        for e in reversed(doc.events):
            if party in e.parties and len(e.parties) == 2:
                o = next(iter(e.parties - {party}))
                if not others or o in others:
                    return o
    # 4. "Manila has been stitching together defence arrangements. It signed ...": a sentence-initial
    # "It" is the previous sentence's subject when that sentence opens with a state
    if sent_idx > 0 and doc.rules.patterns.it_start.match(doc.text[doc.sents[sent_idx].start:doc.sents[sent_idx].start + 4]):
        prev_subject = _opening_state(doc, sent_idx - 1)
        if prev_subject is not None and prev_subject != party:
            return prev_subject
    # 5. running subject of the article
    best = None
    for a, (cnt, last) in doc.salience.items():
        if a == party or kinds.get(a) == "firm" or a in R.bloc_members:
            continue
        key = (cnt, last)
        if best is None or key > best[0]:
            best = (key, a)
    if best and best[0][0] >= 2:
        return best[1]
    return None


def is_definite(doc: Document, trigger: Trigger, sent: Sentence) -> bool:
    """"the pact", "their agreement": the trigger refers back to a known pact."""
    if trigger.pseudo:
        return True
    P = doc.rules.patterns
    words = WORD.findall(doc.lower[max(sent.start, trigger.start - 50):trigger.start])[-4:]
    for w in reversed(words):
        if w in P.definite:
            return True
        if w in P.indefinite_stop or w in doc.rules.negation:
            return False
    return False


def zero_party_ref(doc: Document, trigger: Trigger, sent_idx: int, sent: Sentence) -> Candidate | None:
    """The earlier event a trigger without named parties refers to ("It was extended", "the
    summit"), or None."""
    P = doc.rules.patterns
    if trigger.pseudo == "pronoun":
        lp = doc.last_partnership
        if lp is not None and sent_idx - doc.last_ref_sentence <= 2:
            return lp
        return None
    words = WORD.findall(doc.lower[max(sent.start, trigger.start - 50):trigger.start])[-4:]
    definite = False
    for w in reversed(words):
        if w in P.definite:
            definite = True
            break
        if w in P.indefinite:
            break
    if not definite:
        return None
    if trigger.type == "partnership":
        for e in doc.events:
            if e.type == "partnership" and e.explicit >= 2:
                return e
        return None
    if doc.conference_summit:
        return None
    for e in reversed(doc.events):
        if e.type == "summit":
            return e
    return None
