"""Sentence splitting with character offsets.

Paragraphs are split on newlines; sentences end at . ! ? (plus closing quotes) followed by
whitespace and an upper-case letter, digit or opening quote, unless the word before the
period is a known abbreviation ("U.S.", "Gen.", "Jan.") or a single initial. Sentences
longer than MAX_SENTENCE characters are cut at a space, so text without punctuation
still costs bounded work per sentence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Sentence", "split_sentences", "MAX_SENTENCE", "strip_dateline"]

MAX_SENTENCE = 1000

ABBREVIATIONS = frozenset(
    """u.s u.k u.n e.u u.s.a u.a.e gen lt col maj capt sgt adm cmdr gov sen rep rev mr mrs ms dr prof st jr sr
    no nos vs etc e.g i.e inc corp ltd co jan feb mar apr jun jul aug sep sept oct nov dec approx est dept
    fig al mt ft pres sec min max govt nat'l intl int'l""".split()
)

_END = re.compile(r"[.!?][.!?]*[\"”’')\]]*(?=\s+[\"“‘(\[]?[A-Z0-9À-Ý])")
_PARA = re.compile(r"[^\n\r]+")
_DATELINE = re.compile(
    r"(?P<city>[^\W\d_][^\n,—–(]{1,40}?)"
    r"(?:\s*\([^)\n]{1,40}\))?"
    r"(?:,\s*(?:[A-Z][a-z]{2,9}\.?\s+\d{1,2}|\d{1,2}\s+[A-Z][a-z]{2,9})(?:,\s*\d{4})?)?"
    r"\s*(?:—|–|--| - )\s*"
)


@dataclass(slots=True)
class Sentence:
    start: int  # evidence start (after any dateline)
    end: int
    para_start: bool  # first sentence of its paragraph
    dateline: str | None = None


def strip_dateline(text: str, start: int, end: int) -> tuple[int, str | None]:
    """If text[start:end] begins with a dateline ("MANILA, July 9 — "), return the offset after it."""
    head = text[start:start + 4]
    if not head[:3].isupper():
        return start, None
    m = _DATELINE.match(text, start, min(end, start + 80))
    if not m:
        return start, None
    city = m.group("city").strip()
    letters = [c for c in city if c.isalpha()]
    if len(letters) < 3 or not city.isupper():
        return start, None
    return m.end(), city


def _cut_long(text: str, start: int, end: int, out: list[tuple[int, int]]) -> None:
    while end - start > MAX_SENTENCE:
        cut = text.rfind(" ", start + MAX_SENTENCE // 2, start + MAX_SENTENCE)
        if cut <= start:
            cut = start + MAX_SENTENCE
        out.append((start, cut))
        start = cut
        while start < end and text[start].isspace():
            start += 1
    if end > start:
        out.append((start, end))


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    """text[s:e] without leading and trailing whitespace (the same as str.strip), as offsets;
    (e, e) when it is all whitespace. A loop, not strip(): a sentence has one or two spaces to
    skip, and slicing it to strip them costs more than the rest of the split."""
    while start < end and text[start].isspace():
        start += 1
    if start >= end:
        return end, end
    while text[end - 1].isspace():
        end -= 1
    return start, end


def _paragraphs(text: str) -> list[tuple[int, int]]:
    """Offsets of the maximal runs of text without a line break (what ``_PARA`` finds); without a
    carriage return, str.split finds them several times faster than the regex."""
    if "\r" in text:
        return [pm.span() for pm in _PARA.finditer(text)]
    out = []
    pos = 0
    for line in text.split("\n"):
        n = len(line)
        if n:
            out.append((pos, pos + n))
        pos += n + 1
    return out


def _end_marks(text: str) -> list[int]:
    """Offsets of every . ! ? of the text, in order: the only places a sentence end (``_END``) can
    start. str.find skips to them far faster than a regex search scans for them."""
    out: list[int] = []
    for ch in ".!?":
        i = text.find(ch)
        while i >= 0:
            out.append(i)
            i = text.find(ch, i + 1)
    if "!" in text or "?" in text:
        out.sort()
    return out


def split_sentences(text: str) -> list[Sentence]:
    result: list[Sentence] = []
    append = result.append
    abbreviations = ABBREVIATIONS
    end_match = _END.match
    marks = _end_marks(text)
    n_marks = len(marks)
    mk = 0
    for ps, pe in _paragraphs(text):
        ps, pe = _trim(text, ps, pe)
        if ps >= pe:
            continue
        if text[ps:ps + 3].isupper():
            body_start, dateline = strip_dateline(text, ps, pe)
        else:
            body_start, dateline = ps, None
        spans: list[tuple[int, int]] = []
        s = body_start
        # the sentence ends of the paragraph, as _END.finditer(text, body_start, pe) finds them:
        # tried at each mark in order, the next try after the end of the last match
        while mk < n_marks and marks[mk] < body_start:
            mk += 1
        scan = body_start
        while mk < n_marks and marks[mk] < pe:
            j = marks[mk]
            mk += 1
            if j < scan:
                continue
            m = end_match(text, j, pe)
            if m is None:
                continue
            e = scan = m.end()
            # abbreviation or initial before the period?
            if text[j] == ".":
                k = max(text.rfind(" ", s, j), text.rfind("\t", s, j)) + 1
                if k <= 0:
                    k = s
                word = text[k:j].lower().lstrip("(\"“'‘")
                if word in abbreviations or (len(word) == 1 and word.isalpha()) or (word.count(".") >= 1 and len(word) <= 5):
                    continue
            ts, te = _trim(text, s, e)
            if te - ts > MAX_SENTENCE:
                _cut_long(text, ts, te, spans)
            elif te > ts:
                spans.append((ts, te))
            s = e
        ts, te = _trim(text, s, pe)
        if te - ts > MAX_SENTENCE:
            _cut_long(text, ts, te, spans)
        elif te > ts:
            spans.append((ts, te))
        if spans:
            a, b = spans[0]
            append(Sentence(a, b, True, dateline))
            for a, b in spans[1:]:
                append(Sentence(a, b, False, None))
    return result
