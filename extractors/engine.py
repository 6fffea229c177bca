"""The rule-based event extractor.

Pipeline for one document (all pure, no I/O):

1. split into sentences with offsets (headline and datelines recognised);
2. one Aho-Corasick pass for actors (gazetteer) and one for cue words (triggers, status,
   context, filters) over the whole text, plus a regex pass for unknown firm names;
3. for each sentence that holds a trigger: cut it into clause segments, give each
   trigger its zone, collect parties (subject, "with"-lists, "between"-lists, noun
   modifiers, pair phrases, light coreference), status, date and location;
4. merge the candidates of the document: one event per (type, parties, date).
"""

from __future__ import annotations

import bisect
import datetime as dt
import re
from dataclasses import dataclass, field

from .dates import DateMention, find_dates, resolve
from .model import Event
from .rules import Entry, RuleSet, get_rules
from .sentences import Sentence, split_sentences

__all__ = ["extract", "extract_with_rules"]

MAX_TRIGGERS_PER_SENTENCE = 8
MAX_ACTORS_PER_SENTENCE = 40
MAX_DYNAMIC_FIRMS = 50

# --------------------------------------------------------------------------- small helpers

_WORD = re.compile(r"[\w'’-]+")
_DETERMINERS = frozenset("a an the its their his her our this that these those another similar".split())
_DEFINITE = frozenset("the its their his her our this that these those".split())
_LOC_BEFORE = re.compile(r"(?:^|\W)(?:in|at|near)\s+(?:the\s+)?(?:(?:neighbouring|neighboring|nearby|northern|southern|eastern|western|central|coastal|rural|downtown|landlocked)\s+)?$", re.I)
_TO_BEFORE = re.compile(r"(?:^|\W)(?:to|for|visit|visits|visited|visiting)\s+(?:the\s+)?$", re.I)
_IGNORE_BEFORE = re.compile(
    r"(?:^|\W)(?:officials?|sources?|diplomats?|analysts?|reporters?|correspondents?|spokes(?:man|woman|person)|"
    r"based|trading|markets?|shares|think\s+tank|embassy|embassies|university|institute|researchers?|"
    r"investors?|residents?|people|crowds?|protesters?|journalists?)\s+in\s+(?:the\s+)?$",
    re.I,
)
_CAPITAL_AFTER = re.compile(r"^\s+capital\b")
_COMPOUND_AFTER = re.compile(r"^-(?:funded|based|led|backed|made|built|owned|flagged|registered|born|style|era|bound|focused|listed)\b")
_NAME_AFTER = re.compile(r"^\s+(?:Treaty|Treaties|Accords?|Agreements?|Declaration|Charter|Protocol|Convention|Consensus|Format|Process|Summit|agreements|accords|format|process)\b")
_CITY_OF = re.compile(r"\b(?:in|at)\s+the\s+(?:[a-z-]+\s+){0,2}(?:city|town|port|village|resort)\s+of\s+([A-Z][\w'’-]+(?:\s+[A-Z][\w'’-]+)?)")
_BREAK = re.compile(
    r";|\s[—–]\s|\s--\s"
    r"|,\s+(?=(?:which|who|whom|whose|when|where|while|whereas|although|though|as|after|before|because|since|amid|during|despite|"
    r"according\s+to|a\s+decision|a\s+move|a\s+process|a\s+week|a\s+day|days|weeks|months|hours|years)\b)"
    r"|\s(?=(?:after|while|whereas|although|though|because|amid|despite|since|unless)\s)"
    r"|,\s+(?=(?!including\b|excluding\b|notably\b)[a-z]+ing\b)"
    r"|(?<!such)(?<!known)(?<!described)(?<!seen)(?<!regarded)(?<!well)(?<!same)(?<!just)(?<!so)\s(?=as\s+(?:[A-Z]|the\s|its\s|their\s|his\s|her\s)(?!part\b))"
)
_WHICH_BREAK = re.compile(r"^,\s+(?:which|that)\b")
_PAIR = None  # compiled lazily per rule set
_TRIGGERISH = frozenset(("P", "S", "ST"))
# a fronted comparison or addition ("Besides Japan, ...", "Like Canada, ..."): names in it are
# not parties of the main clause
_FRONTED = re.compile(r"(?:Besides|Apart\s+from|Aside\s+from|In\s+addition\s+to|Alongside|Like|Unlike|As\s+with|As\s+in|Similar\s+to|Beyond)\s[^,;]{1,80},")
# a reporting verb between a speaker and the clause it reports ("X's minister said the pact ...")
_REPORTED = re.compile(r"\b(?:said|says|say|told|added|noted|stated|argued|insisted|warned|stressed)\b(?:\s+that)?(?:\s+[\w'’-]+){0,3}\s+$")
# a negated verb earlier in the trigger's clause ("did not announce any change to existing agreements")
_NEG_CLAUSE = re.compile(r"(?:\bnot|\bnever|n't)\s+(?:[\w'’-]+\s+){0,6}$")
_ANAPHORIC = re.compile(r"\b(?:similar|comparable|such)\s+(?:[\w-]+\s+){0,3}$", re.I)
# precompiled patterns of the per-sentence analysis
_RX_POSS_END = re.compile(r"['’]s$")
_RX_THE_END = re.compile(r"\bthe\s+$", re.I)
_RX_FIRMMOD_GAP = re.compile(r"(?:['’]s)?(?:\s+[a-z][\w-]*){0,4}\s+|-[\w-]+\s+(?:[a-z][\w-]*\s+){0,3}")
_RX_PREV_CAP = re.compile(r"([A-Z][\w-]*)\s+$")
_RX_MEETING_OF = re.compile(r"\s+(?:of|with)\s+(?:senior\s+)?(?:executives|officials|ministers)")
_RX_PREV_CAP2 = re.compile(r"([A-Z][\w'’-]*)\s+$")
_RX_PUNCT = re.compile(r"[,;:]")
_RX_TAIL_GAP = re.compile(r",?\s+(?:and\s+|or\s+)?(?:the\s+)?|,\s*|\s*-\s*|\s+\w+(?:\s+\w+){0,3}\s+")
_RX_HOSTING = re.compile(r"\s+(?:is\s+|was\s+|will\s+be\s+)?(?:hosting|hosts|hosted|will\s+host)\b")
_RX_FOR_HOSTING = re.compile(r"\s+for\s+hosting\b")
_RX_MOD_GAP = re.compile(r"(?:['’]s)?(?:\s+(?!(?:a|an|the|its|their|his|her|each|and|with|to|of|signed|agreed|will|would|has|have|had|is|are|was|were)\b)[a-z][\w-]*){0,2}\s+|-")
_RX_WITH = re.compile(r"\b(with|between|among|to)\b")
_RX_THE_GAP = re.compile(r"\s+(?:the\s+)?")
_RX_NAMED_SUMMIT = re.compile(r"\b[A-Z][a-z]+ Summit\b")
_RX_WITH_FIRST_GAP = re.compile(r"(?:\s+(?:[a-z][\w-]*|[A-Z][a-z]+\s+(?:Prime\s+Minister|President|Minister)|President|Prime\s+Minister|Crown\s+Prince|King|Chancellor|its|their|his|her)){0,4}\s+")
_RX_WITH_NEXT_GAP = re.compile(r",?\s+(?:and\s+|or\s+)?(?:the\s+)?|,\s*")
_EACH = re.compile(r"\b(?:each|separate|separately|respective|respectively|individually|bilaterally)\b", re.I)
_MULTI = re.compile(r"\b(?:trilateral|multilateral|three-way|four-way|joint|quadrilateral|collective)\b", re.I)
_THE_ALLIANCE_NUM = re.compile(r"\b[Tt]he\s+\d+-(?:member|nation|country)\s+(alliance|bloc)\b")
_IT_START = re.compile(r"^\s*(?:It|it)\s")
_SIDELINES = re.compile(r"\bsidelines\b", re.I)
_AT_SUMMIT = re.compile(r"\b(?:at|during|on the sidelines of)\s+(?:the|their|a|an|its)\s+(?:[\w'’-]+\s+){0,4}$", re.I)


def td_verb(t: "Trigger") -> bool:
    return t.rule == "S-MET"


def _safe_lower(text: str) -> str:
    low = text.lower()
    if len(low) == len(text):
        return low
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in text)


def _is_word_char(c: str) -> bool:
    return c.isalnum() or c == "_"


def _bounded(text: str, a: int, b: int) -> bool:
    if a > 0 and _is_word_char(text[a - 1]) and _is_word_char(text[a]):
        return False
    if b < len(text) and _is_word_char(text[b]) and _is_word_char(text[b - 1]):
        return False
    return True


def _longest(matches: list[tuple[int, int, object]]) -> list[tuple[int, int, object]]:
    matches.sort(key=lambda m: (m[0], -(m[1] - m[0])))
    out = []
    last_end = -1
    for m in matches:
        if m[0] >= last_end:
            out.append(m)
            last_end = m[1]
    return out


# --------------------------------------------------------------------------- data classes

@dataclass(slots=True)
class Mention:
    start: int
    end: int
    surface: str
    entries: tuple
    # resolved per sentence:
    role: str = ""  # actor | location | ignore | firmmod
    actor: str = ""  # canonical party
    kind: str = ""  # country | bloc | firm | person
    head: bool = False  # head of state/government
    place: str = ""  # canonical location when role == location
    claimed: int = -1  # index of trigger that claimed it as modifier/with/between


@dataclass(slots=True)
class Cue:
    start: int
    end: int
    cat: str
    payload: str


@dataclass(slots=True)
class Trigger:
    start: int
    end: int
    type: str
    rule: str
    term: str
    conf: float
    seg: int = 0
    pseudo: str = ""  # "pronoun" for "It was extended"


@dataclass(slots=True)
class Candidate:
    type: str
    parties: frozenset
    status: str | None
    date: str | None
    date_text: str | None
    location: str | None
    sent_idx: int
    ev_start: int
    ev_end: int
    confidence: float
    rule: str
    explicit: int  # number of parties named in the sentence itself
    inherit: bool = False  # summit may inherit date/location from context
    sidelines: bool = False
    order: int = 0


@dataclass
class DocState:
    salience: dict = field(default_factory=dict)  # actor -> [count, last_pos]
    blocs_seen: list = field(default_factory=list)  # (pos, bloc name)
    firms_seen: list = field(default_factory=list)  # (pos, firm name)
    events: list = field(default_factory=list)  # merged Candidates in creation order
    last_partnership: Candidate | None = None
    last_ref_sentence: int = -10
    conference_summit: bool = False


# --------------------------------------------------------------------------- public API

def extract(text: str, published: dt.date | None) -> list[Event]:
    """Extract partnership and summit events from one article (see EVENTS.md)."""
    return extract_with_rules(text, published, get_rules())


def extract_with_rules(text: str, published: dt.date | None, rules: RuleSet) -> list[Event]:
    if not isinstance(text, str) or not text.strip():
        return []
    if published is not None and not isinstance(published, dt.date):
        published = None
    if isinstance(published, dt.datetime):
        published = published.date()
    return _Doc(text, published, rules).run()


# --------------------------------------------------------------------------- the document worker

class _Doc:
    def __init__(self, text: str, pub: dt.date | None, rules: RuleSet) -> None:
        self.text = text
        self.pub = pub
        self.R = rules
        self.lower = _safe_lower(text)
        self.state = DocState()
        self.order = 0
        self.dynamic_firms: set[str] = set()

    # ------------------------------------------------------------------ matching passes
    def _actor_mentions(self) -> list[Mention]:
        text = self.text
        raw = []
        n = len(text)
        for end_idx, val in self.R.actor_ac.iter(text):
            b = end_idx + 1
            a = b - len(val[0])
            # inline _bounded(): no word character on both sides of either edge
            if a > 0:
                c = text[a - 1]
                if (c.isalnum() or c == "_") and (text[a].isalnum() or text[a] == "_"):
                    continue
            if b < n:
                c = text[b]
                if (c.isalnum() or c == "_") and (text[end_idx].isalnum() or text[end_idx] == "_"):
                    continue
            raw.append((a, b, val))
        for m in (_THE_ALLIANCE_NUM.finditer(text) if ("-member" in text or "-nation" in text or "-country" in text) else ()):
            word = "the " + m.group(1)
            blocs = self.R.bloc_coref.get(word, [])
            if blocs:
                raw.append((m.start(), m.end(), (m.group(0), tuple(Entry("coref", b, word) for b in blocs))))
        raw.extend(self._dynamic_firms(self._all_cues))
        # plain (start, end, surface, entries) tuples: Mention objects are made only for
        # sentences that need clause analysis (see run()).
        return [(a, b, val[0], val[1]) for a, b, val in _longest(raw)]

    def _dynamic_firms(self, cues: list) -> list[tuple[int, int, tuple]]:
        """Unknown firm names introduced by a descriptor ("drone maker X Y") or ending in a firm suffix."""
        R = self.R
        desc_pos = [c.start for c in cues if c.cat == "FIRMD"]
        suf_end = [c.end for c in cues if c.cat == "FIRMS" and self.text[c.start:c.start + 1].isupper()]
        if not desc_pos and not suf_end:
            return []
        rx = getattr(R, "_firm_rx", None)
        if rx is None:
            desc = "|".join(re.escape(d) for d in sorted(R.firm_descriptors, key=len, reverse=True))
            suf = "|".join(re.escape(s) for s in sorted(R.firm_suffixes, key=len, reverse=True))
            name = r"[A-Z][\w&'’.-]*(?:\s+(?:[A-Z][\w&'’.-]*|&)){0,4}"
            rx = (
                re.compile(rf"\b(?:{desc})\s+(?P<n>{name})(?:\s+\((?P<abbr>[A-Z][A-Za-z]{{1,6}})\))?"),
                re.compile(rf"\b(?P<n>[A-Z][\w&'’-]*(?:\s+[A-Z][\w&'’-]*){{0,3}}\s+(?:{suf}))\b\.?"),
            )
            legal = sorted(R.legal_forms, key=len, reverse=True)
            R._firm_rx = rx  # type: ignore[attr-defined]
            R._legal_rx = re.compile(r"\s+(?:" + "|".join(re.escape(x) for x in legal) + r")\.?$")  # type: ignore[attr-defined]
        out = []
        names: dict[str, str] = {}
        text = self.text
        def candidates(k):
            if k == 0:
                for p in desc_pos:
                    m = rx[0].match(text, p)
                    if m:
                        yield m
            else:
                for e in suf_end:
                    m = rx[1].search(text, max(0, e - 90), min(len(text), e + 1))
                    if m and m.end() >= e:
                        yield m

        for k, r in enumerate(rx):
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
                while skip < len(toks) - 1 and (self._known_surface(toks[skip]) or self._known_surface(_RX_POSS_END.sub("", toks[skip]))
                                                or toks[skip].endswith(("'s", "’s"))):
                    skip += 1
                if skip:
                    toks = toks[skip:]
                n = " ".join(toks)
                if k == 0 and len(toks) == 1 and self._known_surface(n):
                    continue
                if self._known_surface(n) or toks[0] in ("The", "A", "An", "In", "On", "At", "For"):
                    continue
                canon = R._legal_rx.sub("", n).strip()  # type: ignore[attr-defined]
                if not canon or self._known_surface(canon):
                    continue
                b = m.start("n") + len(m.group("n").rstrip(".,"))
                a = b - len(n)
                if text[a:b] != n:
                    continue
                out.append((a, b, (n, (Entry("firm", canon, "dynamic"),))))
                self.dynamic_firms.add(canon)
                names[canon] = canon
                if m.groupdict().get("abbr"):
                    names[m.group("abbr")] = canon
                if len(toks) >= 2 and len(toks[0]) >= 4 and toks[0].isalpha() and not self._known_surface(toks[0]):
                    names.setdefault(toks[0], canon)
        # other occurrences of the short names ("Kartal" after "Kartal Aerosystems")
        for short, canon in list(names.items()):
            if short == canon:
                continue
            for m in re.finditer(r"\b" + re.escape(short) + r"\b", text):
                out.append((m.start(), m.end(), (short, (Entry("firm", canon, "dynamic"),))))
        return out

    def _known_surface(self, s: str) -> bool:
        return self.R.actor_ac.exists(s) or s.lower() in self.R.months or s.lower() in self.R.weekdays

    def _cues(self) -> list[Cue]:
        low = self.lower
        raw = []
        n = len(low)
        for end_idx, (term, payload) in self.R.cue_ac.iter(low):
            b = end_idx + 1
            a = b - len(term)
            if a > 0:
                c = low[a - 1]
                if (c.isalnum() or c == "_") and (low[a].isalnum() or low[a] == "_"):
                    continue
            if b < n:
                c = low[b]
                if (c.isalnum() or c == "_") and (low[end_idx].isalnum() or low[end_idx] == "_"):
                    continue
            for cat, p in payload:
                raw.append(Cue(a, b, cat, p))
        return raw

    # ------------------------------------------------------------------ main loop
    def run(self) -> list[Event]:
        text = self.text
        cues = self._cues()
        # No trigger cue anywhere (partnership, summit or a status word for "It was
        # extended"): nothing can be extracted, so skip sentence analysis altogether.
        if not any(c.cat in _TRIGGERISH for c in cues):
            return []
        sents = split_sentences(text)
        if not sents:
            return []
        self.sents = sents
        # headline: a first paragraph without final punctuation, followed by more text
        first = sents[0]
        self.headline = (
            len(sents) > 1
            and first.para_start
            and (first.end - first.start) < 250
            and text[first.end - 1] not in ".!?:;\"”’)"
            and sents[1].para_start
        )
        self.dateline = next((s.dateline for s in sents[:3] if s.dateline), None)
        self._all_cues = cues
        mentions = self._actor_mentions()
        starts = [s.start for s in sents]
        # paragraph starts include datelines: use the dateline-free start; mentions inside
        # a dateline are dropped.
        self.sent_mentions: list[list] = [[] for _ in sents]
        for m in mentions:
            i = bisect.bisect_right(starts, m[0]) - 1
            if i >= 0 and m[1] <= sents[i].end:
                self.sent_mentions[i].append(m)
        self.sent_cues: list[list[Cue]] = [[] for _ in sents]
        trig_sents = set()
        for c in cues:
            i = bisect.bisect_right(starts, c.start) - 1
            if i >= 0 and c.end <= sents[i].end:
                self.sent_cues[i].append(c)
                if c.cat == "P" or c.cat == "S" or (c.cat == "ST" and text[sents[i].start:sents[i].start + 3] in ("It ", "it ")):
                    trig_sents.add(i)
        self._def_cache: dict[int, bool] = {}
        for i, s in enumerate(sents):
            if i in trig_sents:
                self.sent_mentions[i] = [Mention(*m) for m in self.sent_mentions[i]]
                self._sentence(i, s, headline=(i == 0 and self.headline))
            else:
                self._light_note(i)  # no trigger: salience bookkeeping only
        return self._finish()

    def _defence(self, i: int) -> bool:
        hit = self._def_cache.get(i)
        if hit is None:
            hit = self._def_cache[i] = self._has_defence(self.sent_cues[i])
        return hit

    def _has_defence(self, cues: list[Cue]) -> bool:
        nd = [(c.start, c.end) for c in cues if c.cat == "NOTDEF"]
        for c in cues:
            if c.cat == "DEF" and not any(a <= c.start and c.end <= b for a, b in nd):
                return True
        return False

    # ------------------------------------------------------------------ per sentence
    def _resolve_mentions(self, i: int, s: Sentence) -> list[Mention]:
        text = self.text
        out = []
        ms = self.sent_mentions[i][:MAX_ACTORS_PER_SENTENCE]
        fm = _FRONTED.match(text, s.start, s.end)
        fronted_end = fm.end() if fm else -1
        for k, m in enumerate(ms):
            before = text[max(s.start, m.start - 40):m.start]
            after = text[m.end:min(s.end, m.end + 40)]
            entries = m.entries
            if any(e.kind == "blocker" for e in entries):
                continue
            m.role, m.actor, m.place, m.kind, m.head, m.claimed = "", "", "", "", False, -1
            if _COMPOUND_AFTER.match(after) or m.end <= fronted_end:
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
            if _IGNORE_BEFORE.search(before):
                m.role = "ignore"
                out.append(m)
                continue
            if demonym and _CAPITAL_AFTER.match(after) and _RX_THE_END.search(before):
                cap = self.R.capital_of.get(demonym.name)
                m.role = "location" if cap else "ignore"
                m.place = cap or ""
                out.append(m)
                continue
            if (metonym or place) and not (country or bloc or firm) and _NAME_AFTER.match(after):
                m.role = "ignore"  # "Washington Treaty", "Minsk agreements"
                out.append(m)
                continue
            possessive = after[:2] in ("'s", "’s")
            loc_cue = bool(_LOC_BEFORE.search(before)) and not possessive
            to_cue = bool(_TO_BEFORE.search(before)) and not possessive
            if coref is not None:
                bloc_name = self._resolve_bloc_coref(coref.extra, m.start)
                if bloc_name:
                    m.role, m.actor, m.kind = "actor", bloc_name, "bloc"
                    out.append(m)
                continue
            if firm is not None and not (country or bloc):
                m.role, m.actor, m.kind = "actor", firm.name, "firm"
                out.append(m)
                continue
            if person is not None:
                m.role, m.actor, m.kind = "actor", person.name, self.R.actor_kind.get(person.name, "country")
                m.head = person.extra == "head"
                out.append(m)
                continue
            if loc_cue or (to_cue and place and not (country or bloc)):
                if place or country or metonym:
                    m.role = "location"
                    m.place = place.name if place else (country.name if country else metonym.extra)
                    if not loc_cue:
                        m.role = "toplace"
                    out.append(m)
                    continue
            if bloc is not None:
                m.role, m.actor, m.kind = "actor", bloc.name, "bloc"
            elif country is not None:
                m.role, m.actor, m.kind = "actor", country.name, "country"
            elif demonym is not None:
                m.role, m.actor, m.kind = "actor", demonym.name, "country"
            elif metonym is not None:
                m.role, m.actor, m.kind = "actor", metonym.name, self.R.actor_kind.get(metonym.name, "country")
            elif place is not None:
                m.role = "placeonly"
                m.place = place.name
            else:
                continue
            out.append(m)
        # nationality modifiers of firms: "Italy's Leonardo", "Turkish drone maker Kartal"
        for k, m in enumerate(out):
            if m.role == "actor" and m.kind == "country":
                for n in out[k + 1:k + 3]:
                    if n.role == "actor" and n.kind == "firm":
                        gap = text[m.end:n.start]
                        if len(gap) <= 45 and _RX_FIRMMOD_GAP.fullmatch(gap):
                            m.role = "firmmod"
                        break
                    if n.role == "actor":
                        break
        return out

    def _resolve_bloc_coref(self, phrase: str, pos: int) -> str | None:
        cands = set(self.R.bloc_coref.get(phrase, []))
        for p, name in reversed(self.state.blocs_seen):
            if p < pos and name in cands:
                return name
        return None

    def _note_mentions(self, ms: list[Mention]) -> None:
        sal = self.state.salience
        for m in ms:
            if m.role != "actor":
                continue
            rec = sal.setdefault(m.actor, [0, 0])
            rec[0] += 1
            rec[1] = m.start
            if m.kind == "bloc":
                self.state.blocs_seen.append((m.end, m.actor))
            if m.kind == "firm":
                self.state.firms_seen.append((m.end, m.actor))

    def _light_note(self, i: int) -> None:
        """Salience bookkeeping for a sentence without triggers (no clause analysis needed)."""
        text = self.text
        sal = self.state.salience
        st = self.state
        for m in self.sent_mentions[i]:
            if type(m) is tuple:
                m_start, m_end, _, m_entries = m
            else:
                m_start, m_end, m_entries = m.start, m.end, m.entries
            name = kind = None
            for e in m_entries:
                if e.kind in ("country", "demonym", "bloc", "firm", "metonym", "person"):
                    name = e.name
                    kind = self.R.actor_kind.get(name, "firm" if e.kind == "firm" else "country")
                    break
                if e.kind == "coref":
                    name = self._resolve_bloc_coref(e.extra, m_start)
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
                st.blocs_seen.append((m_end, name))
            elif kind == "firm":
                st.firms_seen.append((m_end, name))

    def _sentence(self, i: int, s: Sentence, headline: bool) -> None:
        text = self.text
        cues = self.sent_cues[i]
        has_trig = False
        leader = None
        trig_defs = self.R.triggers
        for c in cues:
            if c.cat == "P" or (c.cat == "ST" and text[s.start:s.start + 3] in ("It ", "it ")):
                has_trig = True
                break
            if c.cat == "S":
                if not trig_defs[c.payload].needs_leaders:
                    has_trig = True
                    break
                if leader is None:
                    leader = any(x.cat == "LEAD" for x in cues) or any(
                        e.kind == "person" and e.extra == "head" for m in self.sent_mentions[i] for e in m.entries)
                if leader:
                    has_trig = True
                    break
        if not has_trig:
            self._light_note(i)
            return
        ms = self._resolve_mentions(i, s)
        trig_cues = [c for c in cues if c.cat in ("P", "S")]
        has_it = bool(_IT_START.match(text[s.start:s.start + 4])) and any(
            c.cat == "ST" and self.R.statuses[c.payload].type == "partnership"
            and self.R.statuses[c.payload].status in ("signed", "extended", "suspended", "cancelled") for c in cues)
        if headline or not (trig_cues or has_it):
            self._note_mentions(ms)
            if any(c.cat == "S" for c in trig_cues) and _RX_NAMED_SUMMIT.search(text[s.start:s.end]):
                self._conference_check(s, ms, trig_cues)
            return
        cats = {c.cat for c in cues}
        if "DENY" in cats or "HYPO" in cats:
            self._note_mentions(ms)
            return
        sent_text = text[s.start:s.end]
        low = self.lower[s.start:s.end]
        triggers = self._triggers(i, s, ms, cues, trig_cues, has_it)
        if not triggers:
            self._note_mentions(ms)
            return
        segs = self._segments(s)
        for t in triggers:
            t.seg = self._seg_of(segs, t.start)
        dates = [DateMention(d.start + s.start, d.end + s.start, d.text, d.kind, d.prep, d.month, d.day, d.year,
                             d.weekday, d.unit, d.rel, d.excluded) for d in find_dates(sent_text, self.R)]
        dates = self._mark_announcements(dates, s)
        cands = self._build(i, s, ms, cues, triggers, segs, dates, low)
        self._note_mentions(ms)
        for c in cands:
            self._add(c)

    def _conference_check(self, s: Sentence, ms: list[Mention], trig_cues: list[Cue]) -> None:
        for c in trig_cues:
            if c.cat == "S" and self.text[c.start].isupper():
                prev = _RX_PREV_CAP.search(self.text[s.start:c.start])
                if prev and not any(m.start <= c.start - 1 and m.end >= c.start - len(prev.group(1)) - 1 and m.role in ("actor", "location", "placeonly") for m in ms):
                    self.state.conference_summit = True

    # ------------------------------------------------------------------ triggers
    def _triggers(self, i, s, ms, cues, trig_cues, has_it) -> list[Trigger]:
        R, text, low = self.R, self.text, self.lower
        cats_in = lambda cat: [c for c in cues if c.cat == cat]  # noqa: E731
        leader = bool(cats_in("LEAD")) or any(m.head for m in ms if m.role == "actor")
        mountain = bool(cats_in("MOUNT"))
        conference = bool(cats_in("CONF"))
        out: list[Trigger] = []
        self._dropped: list[int] = []
        # longest trigger cue wins at overlapping positions
        tc = _longest([(c.start, c.end, c) for c in trig_cues])
        actor_spans = [(m.start, m.end) for m in self.sent_mentions[i]]
        for a, b, c in tc:
            if len(out) >= MAX_TRIGGERS_PER_SENTENCE:
                break
            if any(x <= a and b <= y and not (x == a and y == b) for x, y in actor_spans):
                continue  # inside a name: "Alliance of Sahel States", "Gulf Cooperation Council"
            if any(x <= a < y for x, y in actor_spans):
                continue
            td = R.triggers[c.payload]
            term = low[a:b]
            before_words = _WORD.findall(low[max(s.start, a - 60):a])[-4:]
            if any(w in R.negation or w.endswith("n't") for w in before_words):
                continue
            if td.type == "partnership" and _NEG_CLAUSE.search(low, max(s.start, a - 70), a):
                continue
            if td.type == "partnership":
                np_words = []
                for w in reversed(before_words):
                    if w in _DETERMINERS or w in ("of", "with", "on", "for", "to", "and", "in", "a"):
                        break
                    np_words.append(w)
                np_text = " ".join(reversed(np_words))
                if any(w in R.np_negative for w in np_words) or any(n in np_text for n in R.np_negative if " " in n):
                    continue
                # capitalised name of a non-defence programme ("Pacific Partnership")
                out.append(Trigger(a, b, "partnership", td.id, term, td.confidence))
            else:
                if mountain:
                    continue
                if td.needs_leaders and not leader:
                    continue
                if td.verb and not self._meet_ok(b, s, ms):
                    continue
                if td.id == "S-MEETING" and _RX_MEETING_OF.match(text[b:b + 40]):
                    continue
                if text[a].isupper() and td.id == "S-SUMMIT":
                    prev = _RX_PREV_CAP2.search(text[max(s.start, a - 40):a])
                    if prev and a - len(prev.group(0)) > s.start:
                        pa = a - len(prev.group(0))
                        if not any(m.start <= pa < m.end and m.role in ("actor", "location", "placeonly") for m in ms):
                            self.state.conference_summit = True
                            continue
                if conference and not leader:
                    continue
                out.append(Trigger(a, b, "summit", td.id, term, td.confidence))
        kept = {t.start for t in out}
        self._dropped = [a for a, b, c in tc if a not in kept and not any(x <= a < y for x, y in actor_spans)]
        if has_it and not any(t.type == "partnership" for t in out):
            st = next(c for c in cues if c.cat == "ST" and R.statuses[c.payload].type == "partnership")
            out.append(Trigger(st.start, st.end, "partnership", "P-PRONOUN", low[st.start:st.end], 0.6, pseudo="pronoun"))
            out.sort(key=lambda t: t.start)
        return out

    _MEET_NEXT = frozenset(
        "with in at on for this next later again face privately separately briefly regularly tomorrow today "
        "last early late during before after and to counterparts counterpart leaders president prime".split())

    def _meet_ok(self, b: int, s: Sentence, ms: list[Mention]) -> bool:
        """'met Zelensky', 'meet in Abuja', 'met on Wednesday' — not 'meet spending targets'."""
        rest = self.text[b:min(s.end, b + 60)]
        if not rest.strip() or rest.lstrip()[:1] in ".,;:)!?":
            return True
        nxt = b + (len(rest) - len(rest.lstrip()))
        if any(m.start == nxt and m.role in ("actor", "location", "toplace") for m in ms):
            return True
        w = _WORD.findall(rest[:30].lower())
        if not w:
            return True
        if w[0] in ("the", "his", "her", "their") and len(w) > 1 and w[1] in ("leaders", "president", "prime", "king", "chancellor", "crown", "premier", "emir", "sultan", "two"):
            return True
        if rest.lstrip()[:1].isupper():
            return True
        return w[0] in self._MEET_NEXT

    # ------------------------------------------------------------------ segments
    def _segments(self, s: Sentence) -> list[tuple[int, int, str]]:
        """Clause segments of the sentence as (start, end, kind); kind is main|which|sub."""
        text = self.text
        cuts = [(s.start, "main")]
        for m in _BREAK.finditer(text, s.start, s.end):
            kind = "which" if _WHICH_BREAK.match(text[m.start():m.start() + 12]) else "sub"
            cuts.append((m.start(), kind))
        segs = []
        for k, (a, kind) in enumerate(cuts):
            b = cuts[k + 1][0] if k + 1 < len(cuts) else s.end
            if b > a:
                segs.append((a, b, kind))
        return segs or [(s.start, s.end, "main")]

    @staticmethod
    def _seg_of(segs, pos: int) -> int:
        for k, (a, b, _) in enumerate(segs):
            if a <= pos < b:
                return k
        return len(segs) - 1

    def _mark_announcements(self, dates: list[DateMention], s: Sentence) -> list[DateMention]:
        rv = getattr(self.R, "_report_rx", None)
        if rv is None:
            rv = re.compile(r"\b(?:" + "|".join(re.escape(v) for v in sorted(self.R.report_verbs, key=len, reverse=True))
                            + r")\b(?:\s+(?:reporters|journalists|parliament|lawmakers|the\s+\w+|a\s+\w+(?:\s+\w+)?))?\s*$")
            self.R._report_rx = rv  # type: ignore[attr-defined]
        out = []
        for d in dates:
            before = self.lower[max(s.start, d.start - 50):d.start]
            ann = bool(rv.search(before))
            out.append((d, ann))
        return out  # list of (DateMention, is_announcement)

    # ------------------------------------------------------------------ candidates
    def _build(self, i, s, ms, cues, triggers, segs, dates, low) -> list[Candidate]:
        R, text = self.R, self.text
        actors = [m for m in ms if m.role == "actor"]
        # segment membership
        for m in ms:
            m.claimed = -1
        seg_trigs: dict[int, list[int]] = {}
        for k, t in enumerate(triggers):
            seg_trigs.setdefault(t.seg, []).append(k)

        def scope(k: int) -> tuple[int, int, list[int]]:
            """Text range of trigger k's scope and the segments it covers."""
            t = triggers[k]
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

        # zones: within a segment, trigger k owns [start of its segment or previous trigger, next trigger)
        zones = {}
        for seg, ks in seg_trigs.items():
            for n, k in enumerate(ks):
                za = segs[seg][0] if n == 0 else triggers[k].start
                zb = triggers[ks[n + 1]].start if n + 1 < len(ks) else segs[seg][1]
                zb = min([zb] + [d for d in self._dropped if triggers[k].end <= d < zb])
                zones[k] = (za, zb)

        # modifiers, with-groups and between-groups claim actors first
        info = []
        for k, t in enumerate(triggers):
            info.append(self._claims(k, t, actors, zones[k], segs[t.seg][0]))

        cands: list[Candidate] = []
        seg_buy = {}
        for k, t in enumerate(triggers):
            sa, sb, segs_in = scope(k)
            za, zb = zones[k]
            # zone extended by prefix segments and trailing which-segments
            ext_a = sa if segs_in[0] < t.seg else za
            ext_b = sb if segs_in[-1] > t.seg else zb
            if zb < segs[t.seg][1] and ext_b > segs[t.seg][1]:
                ext_b = zb  # a later trigger in the segment owns the rest
            zone_cues = [c for c in cues if ext_a <= c.start < ext_b]
            self._zone_status_cues = [c for c in zone_cues if c.cat == "ST"]
            seg_a, seg_b = segs[t.seg][0], segs[t.seg][1]
            mods, groups, between, pair_n = info[k]
            if t.type == "partnership":
                segcues = [c for c in cues if seg_a <= c.start < seg_b]
                if any(c.cat in ("BUY", "SECTOR") for c in segcues) or any(c.cat == "SECTOR" for c in cues):
                    continue
                if not self._defence_ok(i, t, low, s):
                    continue
            status = self._status(t, zone_cues, low, s)
            if status is None:
                prev_same = [c for c in cands if c.type == t.type and c.status]
                if prev_same:
                    status = prev_same[-1].status
            future = self._future(status, t, low, ext_a, ext_b)
            if future is False and status is None and self._future(None, t, low, s.start, s.end):
                future = True  # "... is expected to be one of the outcomes of the summit on June 23"
            # ------------------------------------------------ parties
            subj_a = min(ext_a, seg_a)
            subj = [m for m in actors if subj_a <= m.start < t.start and m.claimed == -1]
            if subj and _REPORTED.search(self.lower, subj[-1].end, t.start) and (
                    self._is_definite(t, s) or self.lower[max(s.start, t.start - 12):t.start].rstrip().endswith("both")):
                subj = []  # "the Estonian minister said the agreement ...": a speaker, not a party
            nxt = min((x.start for x in triggers if x.start > t.start and x.seg == t.seg), default=ext_b)
            tail = []
            definite = self._is_definite(t, s)
            if not definite or t.type == "summit" and td_verb(t):
                cur = t.end
                for m in actors:
                    if m.start < t.end or m.start >= min(nxt, ext_b) or m.claimed != -1:
                        continue
                    gap = text[cur:m.start]
                    if not tail and (len(gap) > 80 or _RX_PUNCT.search(gap)):
                        break
                    if tail and not _RX_TAIL_GAP.fullmatch(gap):
                        break
                    tail.append(m)
                    cur = m.end
            explicit_names = lambda lst: {m.actor for m in lst}  # noqa: E731
            mod_names = explicit_names(mods)
            if mod_names and (len(mod_names) >= 2 or any(R.actor_kind.get(x) == "bloc" for x in mod_names)):
                base = set(mod_names)  # "the Canada-EU agreement", "the Quad meeting", "the G7 summit"
                subj = []
            else:
                base = explicit_names(subj) | mod_names
            strategy = "explicit"
            party_sets: list[tuple[frozenset, DateMention | None, str]] = []
            zone_dates = [(d, ann) for d, ann in dates if ext_a <= d.start < ext_b]
            date_pick = self._pick_date(zone_dates, t, status)
            if t.type == "summit":
                # metonym modifiers of a summit are its place: "the Brussels summit"
                mod_places = [m for m in mods if any(e.kind == "metonym" for e in m.entries) and m.surface in R.place_names]
                for m in mod_places:
                    base.discard(m.actor)
                hosts = {m.actor for m in tail + subj if _RX_HOSTING.match(text[m.end:m.end + 25]) or _RX_FOR_HOSTING.match(text[m.end:m.end + 20])}
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
                if t.type == "partnership":
                    coref_main = cands[-1] if cands else self._zero_party_ref(t, i, s)
            if coref_main is not None:
                party_sets.append((frozenset(coref_main.parties), date_pick, "coref"))
                strategy = "coref"
            elif between:
                ps = base | explicit_names(between)
                party_sets.append((frozenset(ps), date_pick, "between"))
                strategy = "between"
            elif groups and any(g for g, _ in groups):
                plural = t.term.endswith("s") and not t.term.endswith("ss") or len(groups) > 1
                multi = bool(_MULTI.search(text[max(s.start, t.start - 30):t.start]))
                each = bool(_EACH.search(text[ext_a:t.start])) and len(base) >= 2
                gnames = [[m.actor for m in g] for g, _ in groups if g]
                if each:
                    allw = {x for g in gnames for x in g}
                    for b0 in sorted(base):
                        party_sets.append((frozenset({b0} | allw), date_pick, "each"))
                    strategy = "each"
                elif (plural or len(gnames) > 1) and not multi:
                    if not base:
                        comp = self._complete(None, i, t, [], pair_n)
                        base = {comp} if comp else set()
                        strategy = "list+coref"
                    else:
                        strategy = "list"
                    real_groups = [x for x in groups if x[0]]
                    for (g, gd), names in zip(real_groups, gnames):
                        d = self._pick_date([x for x in zone_dates if gd[0] <= x[0].start < gd[1]], t, status)
                        if d is None and date_pick is not None and not any(
                                a0 <= date_pick.start < b0 for _, (a0, b0) in real_groups):
                            d = date_pick  # a date outside every group's range is shared by all of them
                        for w in names:
                            party_sets.append((frozenset(base | {w}), d, strategy))
                else:
                    party_sets.append((frozenset(base | {x for g in gnames for x in g}), date_pick, "with"))
                    strategy = "with"
            else:
                ps = set(base)
                if len(ps) < 2:
                    ps |= explicit_names(tail)
                party_sets.append((frozenset(ps), date_pick, "explicit"))
            for ps, dpick, strat in party_sets:
                rest = set(ps) - venue_hosts
                ps = rest if t.type == "summit" and rest else set(ps)
                explicit = len(ps)
                conf_pen = 0.0
                # pair phrases ("the two countries") and coreference
                need = 3 if _MULTI.search(text[max(s.start, t.start - 30):t.start]) and "trilateral" in text[max(s.start, t.start - 30):t.start].lower() else 2
                if pair_n and len(ps) < need:
                    same = [c.parties for c in cands if len(c.parties) == pair_n and (not ps or ps & c.parties)]
                    ref = same[-1] if same else self._pair_ref(pair_n, ps, t.type)
                    if ref:
                        ps |= set(ref)
                        strat += "+pair"
                        conf_pen += 0.1
                ps = self._expand(ps, t)
                if t.type == "summit" and len(ps) == 1 and R.actor_kind.get(next(iter(ps))) == "bloc":
                    pass  # a bloc's own summit
                elif len(ps) == 1:
                    allowed = [m for m in ms if any(segs[j][0] <= m.start < segs[j][1] and (segs[j][2] != "sub" or j in segs_in) for j in range(len(segs)))]
                    comp = self._complete(next(iter(ps)), i, t, allowed, pair_n)
                    if not comp:
                        continue
                    ps.add(comp)
                    strat += "+coref"
                    conf_pen += 0.15
                elif not ps:
                    same = [c for c in cands if c.type == t.type] or cands
                    ref = same[-1] if same else self._zero_party_ref(t, i, s)
                    if not ref:
                        continue
                    ps = set(ref.parties)
                    strat = "coref"
                    conf_pen += 0.2
                ps = self._firm_filter(ps, t)
                if ps is None:
                    continue
                if t.type == "partnership" and len(ps) < 2:
                    continue
                if t.type == "summit" and len(ps) < 2 and not (len(ps) == 1 and R.actor_kind.get(next(iter(ps))) == "bloc"):
                    continue
                # date
                date = date_text = None
                d = dpick
                if d is not None:
                    date = resolve(d, self.pub, future)
                    date_text = d.text if date else None
                # location
                loc = None
                if not any(self._is_firm(p) for p in ps):
                    loc = self._location(t, ms, ext_a, ext_b, segs, segs_in, mod_places, hosts)
                conf = t.conf + (0.05 if self._defence(i) else 0) - conf_pen - (0.1 if status is None else 0) - (0.05 if date is None else 0)
                cands.append(Candidate(
                    type=t.type, parties=frozenset(ps), status=status, date=date, date_text=date_text, location=loc,
                    sent_idx=i, ev_start=s.start, ev_end=s.end, confidence=round(max(0.05, min(0.99, conf)), 2),
                    rule=f"{t.rule}/{strat}", explicit=explicit,
                    inherit=(t.type == "summit" and date is None),
                    sidelines=bool(_SIDELINES.search(text[min(ext_a, max(seg_a, t.start - 60)):ext_b])),
                ))
        self._share_at_summit(cands, triggers, text)
        return cands

    def _claims(self, k: int, t: Trigger, actors: list[Mention], zone, seg_start: int) -> tuple:
        """Modifier actors, with-groups, between-group and pair size of trigger k."""
        text = self.text
        za, zb = zone
        mods: list[Mention] = []
        # modifiers: actors right before the trigger ("the Canada-EU agreement", "the UK deal")
        j = t.start
        chain = [m for m in actors if m.end <= t.start and m.start >= seg_start and m.claimed == -1]
        chain.sort(key=lambda m: m.end, reverse=True)
        for m in chain:
            gap = text[m.end:j]
            if not mods:
                ok = _RX_MOD_GAP.fullmatch(gap)
            else:
                ok = gap in ("-", "–", "/", " and ", "-and-")
            if not ok:
                break
            if t.pseudo:
                break
            mods.append(m)
            j = m.start
        for m in mods:
            m.claimed = k
        # with / between groups after the trigger in its zone
        groups: list[tuple[list[Mention], tuple[int, int]]] = []
        between: list[Mention] = []
        after = [m for m in actors if za <= m.start < zb and m.claimed == -1]
        for wm in _RX_WITH.finditer(text[za:zb]):
            wpos = za + wm.end()
            if wm.group(1) == "to" and (za + wm.start() != t.end + 1 or not t.term.endswith("ies")):
                continue
            if wpos < t.start and wm.group(1) != "with":
                continue
            grp: list[Mention] = []
            cur = wpos
            for m in after:
                if m.start < wpos or m.claimed != -1:
                    continue
                gap = text[cur:m.start]
                limit = _RX_WITH_FIRST_GAP if not grp else _RX_WITH_NEXT_GAP
                if limit.fullmatch(gap) or (not grp and _RX_THE_GAP.fullmatch(gap)):
                    grp.append(m)
                    cur = m.end
                else:
                    break
            if not grp:
                continue
            for m in grp:
                m.claimed = k
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
        pr = self._pair_rx()
        for pm in pr.finditer(self.text, za, zb):
            num = pm.group("num").lower() if pm.group("num") else "two"
            pair_n = {"two": 2, "both": 2, "2": 2, "three": 3, "3": 3, "four": 4, "4": 4}.get(num, 2)
            if pm.group(0).lower().startswith("both"):
                pair_n = 2
            break
        return mods, fixed, between, pair_n

    def _pair_rx(self):
        rx = getattr(self.R, "_pair_rx", None)
        if rx is None:
            nouns = "|".join(re.escape(n) for n in sorted(self.R.pair_nouns, key=len, reverse=True))
            rx = re.compile(rf"\b(?:(?:the|all|these|those)\s+(?P<num>two|three|four|2|3|4)|(?P<both>both))\s+(?:[a-z][\w-]*\s+)?(?:{nouns})\b", re.I)
            self.R._pair_rx = rx  # type: ignore[attr-defined]
        return rx

    # ------------------------------------------------------------------ pieces
    def _defence_ok(self, i: int, t: Trigger, low: str, s: Sentence) -> bool:
        if self._defence(i):
            return True
        n = len(self.sents)
        if (i > 0 and self._defence(i - 1)) or (i + 1 < n and self._defence(i + 1)):
            return True
        if any(e.type == "partnership" and i - e.sent_idx <= 6 for e in self.state.events):
            return True
        return bool(_ANAPHORIC.search(self.lower, max(s.start, t.start - 40), t.start)) and any(
            e.type == "partnership" for e in self.state.events)

    def _status(self, t: Trigger, zone_cues: list[Cue], low: str, s: Sentence) -> str | None:
        best = None
        for c in zone_cues:
            if c.cat != "ST":
                continue
            sd = self.R.statuses[c.payload]
            if sd.type != t.type:
                continue
            before = _WORD.findall(self.lower[max(s.start, c.start - 25):c.start])[-2:]
            if any(w in self.R.negation or w.endswith("n't") for w in before):
                continue
            if best is None or sd.rank > best.rank:
                best = sd
        return best.status if best else None

    def _future(self, status: str | None, t: Trigger, low: str, a: int, b: int) -> bool | None:
        if status in ("planned", "negotiating"):
            return True
        if status is not None:
            return False
        zone = self.lower[a:b]
        rx = getattr(self.R, "_future_rx", None)
        if rx is None:
            rx = re.compile(r"\b(?:" + "|".join(re.escape(fc) for fc in sorted(self.R.future_cues, key=len, reverse=True)) + r")\b")
            self.R._future_rx = rx  # type: ignore[attr-defined]
        return bool(rx.search(zone))

    def _pick_date(self, zone_dates, t: Trigger, status: str | None) -> DateMention | None:
        usable = [(d, ann) for d, ann in zone_dates if not d.excluded]
        if not usable:
            return None
        plain = [d for d, ann in usable if not ann]
        if not plain:
            if status in ("cancelled", "suspended"):
                plain = [d for d, _ in usable]
            else:
                return None
        after = [d for d in plain if d.start >= t.end]
        if after:
            return after[0]
        return plain[-1]

    def _expand(self, ps: set, t: Trigger) -> set:
        out = set()
        for p in ps:
            mem = self.R.bloc_members.get(p)
            if mem:
                out |= set(mem)
            else:
                out.add(p)
        return out

    def _firm_filter(self, ps: set, t: Trigger) -> set | None:
        firms = {p for p in ps if self._is_firm(p)}
        if len(firms) >= 2:
            return firms if t.type == "partnership" else None
        if firms:
            rest = ps - firms
            return rest
        return ps

    def _pair_ref(self, n: int, explicit: set, typ: str | None = None) -> frozenset | None:
        evs = self.state.events
        if typ:
            for e in reversed(evs):
                if e.type == typ and len(e.parties) == n and (not explicit or explicit & e.parties):
                    return e.parties
        for e in reversed(evs):
            if len(e.parties) == n and (not explicit or explicit & e.parties):
                return e.parties
        if explicit:
            for e in reversed(evs):
                if len(e.parties) == n:
                    return e.parties
        return None

    def _complete(self, p: str | None, i: int, t: Trigger, ms: list[Mention], pair_n: int) -> str | None:
        """The counterpart of a single named party (or the subject of a bare list)."""
        kinds = self.R.actor_kind
        firm_mode = p is not None and kinds.get(p, "firm") == "firm"
        if firm_mode:
            # "The company said it had suspended ... with X": the most recent other firm
            for pos, f in reversed(self.state.firms_seen):
                if f != p:
                    return f
            return None
        # 1. other actors in the same sentence (outside subordinate clauses)
        others = {m.actor for m in ms if m.role == "actor" and m.actor != p and kinds.get(m.actor) != "firm"}
        if p is not None and len(others) == 1:
            return next(iter(others))
        # 2./3. the most recent event with p
        if p is not None:
            for e in reversed(self.state.events):
                if p in e.parties and len(e.parties) == 2:
                    o = next(iter(e.parties - {p}))
                    if not others or o in others:
                        return o
        # 4. running subject of the article
        best = None
        for a, (cnt, last) in self.state.salience.items():
            if a == p or kinds.get(a) == "firm" or a in self.R.bloc_members:
                continue
            key = (cnt, last)
            if best is None or key > best[0]:
                best = (key, a)
        if best and best[0][0] >= 2:
            return best[1]
        return None

    def _is_definite(self, t: Trigger, s: Sentence) -> bool:
        if t.pseudo:
            return True
        words = _WORD.findall(self.lower[max(s.start, t.start - 50):t.start])[-4:]
        for w in reversed(words):
            if w in _DEFINITE:
                return True
            if w in ("a", "an", "with", "and", "signed", "of") or w in self.R.negation:
                return False
        return False

    def _zero_party_ref(self, t: Trigger, i: int, s: Sentence) -> Candidate | None:
        low = self.lower
        if t.pseudo == "pronoun":
            lp = self.state.last_partnership
            if lp is not None and i - self.state.last_ref_sentence <= 2:
                return lp
            return None
        words = _WORD.findall(low[max(s.start, t.start - 50):t.start])[-4:]
        definite = False
        for w in reversed(words):
            if w in _DEFINITE:
                definite = True
                break
            if w in ("a", "an"):
                break
        if not definite:
            return None
        if t.type == "partnership":
            for e in self.state.events:
                if e.type == "partnership" and e.explicit >= 2:
                    return e
            return None
        if self.state.conference_summit:
            return None
        for e in reversed(self.state.events):
            if e.type == "summit":
                return e
        return None

    def _location(self, t, ms, a, b, segs, segs_in, mod_places, hosts) -> str | None:
        text = self.text
        if mod_places:
            return mod_places[0].place or mod_places[0].surface
        locs = [m for m in ms if m.role == "location" or (t.type == "summit" and m.role == "toplace")]
        if t.type == "partnership":
            # a pact's place is where it is signed: near the trigger or right after a signing verb
            anchors = [t.end] + [c.end for c in self._zone_status_cues]
            locs = [m for m in locs if any(0 <= m.start - x <= 45 for x in anchors) or m.start < t.start]
        for m in locs:
            if t.end <= m.start < b:
                return m.place or None
        for cm in _CITY_OF.finditer(text, a, b):
            return cm.group(1)
        for m in reversed(locs):
            if a <= m.start < t.start:
                return m.place or None
        # previous segments of the sentence
        sa = segs[0][0]
        for m in reversed(locs):
            if sa <= m.start < a:
                return m.place or None
        if t.type == "summit" and hosts:
            return sorted(hosts)[0]
        return None

    def _share_at_summit(self, cands: list[Candidate], triggers, text: str) -> None:
        """'signed ... at the summit': the pact and the summit share date and place."""
        by_sent = [c for c in cands]
        ps = [c for c in by_sent if c.type == "partnership"]
        ss = [c for c in by_sent if c.type == "summit"]
        if not ps or not ss:
            return
        linked = False
        for t in triggers:
            if t.type == "summit" and _AT_SUMMIT.search(text[max(0, t.start - 60):t.start]):
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

    # ------------------------------------------------------------------ merging
    @staticmethod
    def _compatible_dates(a: str | None, b: str | None) -> bool:
        if not a or not b:
            return True
        return a.startswith(b) or b.startswith(a)

    def _add(self, c: Candidate) -> None:
        st = self.state
        if c.type == "summit" and c.inherit and c.sidelines:
            src = next((e for e in reversed(st.events) if e.type == "summit" and e.date), None)
            if src is not None:
                c.date, c.date_text, c.inherit = src.date, src.date_text, False
                c.location = c.location or src.location
                c.status = c.status or src.status
        if c.type == "summit" and c.inherit and c.status in (None, "held"):
            src = None
            if src is None:
                src = next((e for e in reversed(st.events)
                            if e.date and c.sent_idx - e.sent_idx <= 2
                            and (e.parties == c.parties or (e.type == "summit" and e.parties & c.parties))), None)
            if src is not None:
                c.date, c.date_text = src.date, src.date_text
                if not c.location:
                    c.location = src.location
            if c.status is None and c.date:
                c.status = "held"
        if c.type == "summit" and c.status is None and c.date and self.pub:
            c.status = "planned" if c.date > self.pub.isoformat()[:len(c.date)] else "held"
        c.order = self.order
        self.order += 1
        for e in st.events:
            if e.type != c.type or e.parties != c.parties:
                continue
            if not self._compatible_dates(e.date, c.date):
                continue
            if e.location and c.location and e.location != c.location and not (c.rule.endswith("/coref") and c.date is None):
                continue
            # merge c into e
            if c.date and (not e.date or len(c.date) > len(e.date)):
                e.date, e.date_text = c.date, c.date_text
            if e.status is None and c.status:
                e.status = c.status
            if e.location is None and c.location:
                e.location = c.location
            if c.explicit > e.explicit and c.confidence > e.confidence:
                e.ev_start, e.ev_end, e.sent_idx, e.explicit, e.rule = c.ev_start, c.ev_end, c.sent_idx, c.explicit, c.rule
            e.confidence = max(e.confidence, c.confidence)
            if e.type == "partnership":
                st.last_partnership, st.last_ref_sentence = e, c.sent_idx
            return
        st.events.append(c)
        if c.type == "partnership":
            st.last_partnership, st.last_ref_sentence = c, c.sent_idx

    def _finish(self) -> list[Event]:
        out = []
        pub_iso = self.pub.isoformat() if self.pub else None
        for e in self.state.events:
            loc = e.location
            if (loc is None and self.dateline and pub_iso and e.date and len(e.date) == 10
                    and e.status in ("signed", "held", "extended")
                    and not any(self._is_firm(p) for p in e.parties)):
                try:
                    gap = (self.pub - dt.date.fromisoformat(e.date)).days
                except ValueError:
                    gap = 99
                if 0 <= gap <= 1:
                    loc = self._dateline_place()
            out.append(Event(
                type=e.type,
                parties=sorted(e.parties),
                status=e.status,
                date=e.date,
                date_text=e.date_text if e.date else None,
                location=loc,
                evidence=self.text[e.ev_start:e.ev_end],
                evidence_start=e.ev_start,
                evidence_end=e.ev_end,
                confidence=e.confidence,
                rule=e.rule,
            ))
        out.sort(key=lambda ev: (ev.evidence_start, ev.type, ev.parties, ev.date or ""))
        return out

    def _is_firm(self, name: str) -> bool:
        return name in self.dynamic_firms or self.R.actor_kind.get(name) == "firm"

    def _dateline_place(self) -> str | None:
        d = self.dateline
        if not d:
            return None
        for name in self.R.place_names:
            if name.upper() == d:
                return name
        return d.title()
