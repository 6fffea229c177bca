"""The explicit per-document state of the extractor and the values its stages pass along.

Every stage (mentions, clauses, parties, attributes, merge) is a module of functions over a
``Document``: nothing is stashed on objects on the fly; what a stage computes for later stages is
a field here or a return value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeAlias

from .pubdate import PubDate
from .rules import CueCategory, RuleSet, safe_lower
from .sentences import Sentence

__all__ = ["Mention", "Cue", "Trigger", "Candidate", "Document", "new_document", "safe_lower", "set_layout", "Segment",
           "ActorHit"]

#: a clause segment of a sentence: (start, end, kind), kind main | which | sub (extractors.clauses)
Segment: TypeAlias = tuple[int, int, str]
#: a gazetteer match: (start, end, value), the value starting with (surface, entries)
ActorHit: TypeAlias = tuple[int, int, tuple[Any, ...]]


@dataclass(slots=True)
class Mention:
    start: int
    end: int
    surface: str
    entries: tuple
    # resolved per sentence:
    role: str = ""  # actor | location | toplace | placeonly | ignore | firmmod
    actor: str = ""  # canonical party
    kind: str = ""  # country | bloc | firm | person
    head: bool = False  # head of state/government
    place: str = ""  # canonical location when role == location
    claimed: int = -1  # index of trigger that claimed it as modifier/with/between


@dataclass(slots=True)
class Cue:
    start: int
    end: int
    cat: CueCategory  # what kind of word (extractors.rules.CueCategory)
    payload: str  # the trigger or status id, or the data list the word comes from


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
    parties: frozenset[str]
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
class Document:
    """One article being read: its text and everything the stages learn about it."""

    text: str
    lower: str  # same length as text (see safe_lower): offsets are shared
    pub: PubDate | None  # known to the day, the month, or not at all
    rules: RuleSet
    # layout
    sents: list[Sentence] = field(default_factory=list)
    headline: bool = False  # the first paragraph is a headline
    dateline: str | None = None
    # matching passes
    cues: list[Cue] = field(default_factory=list)  # every cue of the text
    # gazetteer matches (start, end, (surface, entries, ...)), found in the same pass as the cues
    actor_hits: list[ActorHit] = field(default_factory=list)
    dynamic_firms: set[str] = field(default_factory=set)  # firm names found by descriptor/suffix
    # per sentence: mentions are (start, end, surface, entries) tuples, made Mention objects only
    # for sentences that get clause analysis
    sent_mentions: list[list] = field(default_factory=list)
    sent_cues: list[list[Cue]] = field(default_factory=list)
    defence_memo: dict[int, bool] = field(default_factory=dict)  # sentence index -> has a defence cue
    # running state of the reading, in text order
    salience: dict[str, list[int]] = field(default_factory=dict)  # actor -> [count, last_pos]
    blocs_seen: list[tuple[int, str]] = field(default_factory=list)  # (pos, bloc name)
    firms_seen: list[tuple[int, str]] = field(default_factory=list)  # (pos, firm name)
    events: list[Candidate] = field(default_factory=list)  # merged Candidates in creation order
    last_partnership: Candidate | None = None
    last_ref_sentence: int = -10
    conference_summit: bool = False
    order: int = 0  # creation counter of candidates


def new_document(text: str, pub: PubDate | None, rules: RuleSet) -> Document:
    return Document(text=text, lower=safe_lower(text), pub=pub, rules=rules)


def set_layout(doc: Document, sents: list[Sentence]) -> None:
    """Sentences, headline and dateline of the document."""
    text = doc.text
    doc.sents = sents
    # headline: a first paragraph without final punctuation, followed by more text
    first = sents[0]
    doc.headline = (
        len(sents) > 1
        and first.para_start
        and (first.end - first.start) < 250
        and text[first.end - 1] not in ".!?:;\"”’)"
        and sents[1].para_start
    )
    doc.dateline = next((s.dateline for s in sents[:3] if s.dateline), None)
