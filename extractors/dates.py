"""Date expressions: find them in a sentence and resolve them against a publication date.

A small hand-written grammar (months, weekdays, seasons, relative expressions, years)
over the vocabulary in data/dates.toml. Resolution follows docs/EVENTS.md: a day gives
YYYY-MM-DD, a month YYYY-MM, a year or season YYYY; "last week" / "next week" give the
month. The direction of bare months and weekdays follows the tense of the event
(``future=True`` for planned events).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from .pubdate import PubDate
from .rules import RuleSet

__all__ = ["DateMention", "find_dates", "resolve"]


@dataclass(slots=True)
class DateMention:
    start: int  # offsets in the searched string
    end: int
    text: str
    kind: str  # weekday | monthday | monthyear | month | monthrel | year | rel | season | deictic
    prep: str  # lower-cased leading word(s), e.g. "in", "last", "late last"
    month: int = 0
    day: int = 0
    year: int = 0
    weekday: int = -1
    unit: str = ""  # rel: year|month|week|weekend ; deictic: today|yesterday|tomorrow
    rel: str = ""  # last|this|next
    excluded: bool = False  # horizon / expiry / duration: never an event date


class _Grammar:
    def __init__(self, rules: RuleSet) -> None:
        months = sorted(rules.months, key=len, reverse=True)
        mo = "|".join(m.capitalize() for m in months)
        wd = "|".join(w.capitalize() for w in sorted(rules.weekdays, key=len, reverse=True))
        se = "|".join(sorted(rules.seasons, key=len, reverse=True))
        M = rf"(?P<m>(?:{mo})\.?)"
        Y = r"(?P<y>(?:19|20)\d{2})"
        self.months = rules.months
        self.weekdays = rules.weekdays
        self.seasons = rules.seasons
        mod = r"(?:(?:early|late|mid|earlier|later)[- ]\s*)"
        self.patterns = [
            ("monthday", re.compile(rf"\b{M}\s+(?P<d>[0-3]?\d)(?:st|nd|rd|th)?\b(?:,?\s+{Y}\b)?")),
            ("monthday", re.compile(rf"\b(?P<d>[0-3]?\d)(?:st|nd|rd|th)?\s+(?:of\s+)?{M}(?:,?\s+{Y}\b)?")),
            ("monthyear", re.compile(rf"\b(?:(?P<p>in|since|until|by|from|to|through|during|before|after|expire in|expires in)\s+)?{mod}?{M}\s+{Y}\b")),
            ("weekday", re.compile(rf"\b(?P<p>(?:(?:late|early)\s+)?(?:on\s+)?(?:last|next|this|on)?)\s*(?P<w>{wd})(?:\s+(?:morning|afternoon|evening|night))?\b", re.I)),
            # "in May last year", "November next year": a month of a year given relative to publication
            ("monthrel", re.compile(rf"\b(?:(?P<p>in|since|until|by|from|during|before|after|(?:in\s+)?(?:early|late|mid)[- ]?)\s*)?{M}\s+(?P<r>last|this|next)\s+year\b")),
            ("month", re.compile(rf"\b(?P<p>in|last|this|next|since|until|by|for|from|through|during|before|after|(?:in\s+)?(?:early|late|mid)[- ]?|earlier\s+in|later\s+in)\s*{M}(?!\s*\d)\b")),
            ("rel", re.compile(rf"\b(?P<p>{mod}?)(?P<r>last|this|next|the\s+coming|the\s+following)\s+(?P<u>year|month|week|weekend)\b", re.I)),
            ("season", re.compile(rf"\b(?P<p>(?:(?:in|during|by|until|since|this|last|next|early|late|the|of)\s+)+)(?P<s>{se})\b(?:\s+(?:of\s+)?{Y})?", re.I)),
            ("year", re.compile(rf"\b(?P<p>in|during|since|until|by|from|to|through|before|after|(?:in\s+)?(?:early|late|mid)[- ]?)\s*{Y}\b(?!\s*(?:%|percent|per cent|billion|million|-))", re.I)),
            ("deictic", re.compile(r"\b(?P<u>today|tonight|yesterday|tomorrow)\b", re.I)),
        ]
        # Each pattern can only match where one of its words occurs: a cheap substring test on
        # the case-folded sentence decides which patterns are worth running at all.
        # Month names are matched case-sensitively (capitalised), weekdays only count when
        # their first letter is upper-case (see _build).
        month_words = tuple(sorted({m.capitalize() for m in rules.months}))
        self.month_words = month_words
        self.needles = {
            "monthday": "caps",
            "monthyear": "caps",
            "month": "caps",
            "monthrel": "caps",
            "weekday": tuple(sorted(rules.weekdays)),
            "rel": ("year", "month", "week"),
            "season": tuple(sorted(rules.seasons)),
            "year": None,  # digits: tested with a regex
            "deictic": ("today", "tonight", "yesterday", "tomorrow"),
        }
        words = sorted(set(rules.months) | set(rules.weekdays) | set(rules.seasons), key=len, reverse=True)
        self.quick = re.compile(r"(?i)\b(?:" + "|".join(words) + r"|year|month|week|weekend|today|tonight|yesterday|tomorrow)\b|\b(?:19|20)\d\d\b")
        ex = sorted(rules.excluded_prefixes, key=len, reverse=True)
        self.excluded_before = re.compile(r"(?:^|\W)(?:" + "|".join(re.escape(e) for e in ex) + r")\s*$", re.I)
        self.excluded_words = {e for e in ex if " " not in e}


_GRAMMARS: dict[int, tuple[RuleSet, _Grammar]] = {}
# day ranges: "16-17 December" (the English of "from October 22 to 24" is in patterns.toml)
_DAY_RANGE_BEFORE = re.compile(r"\b([0-3]?\d)\s*[-–]\s*$")
_YEAR_DIGITS = re.compile(r"(?:19|20)\d\d")


def _grammar(rules: RuleSet) -> _Grammar:
    hit = _GRAMMARS.get(id(rules))
    if hit is None or hit[0] is not rules:
        if len(_GRAMMARS) > 8:
            _GRAMMARS.clear()
        hit = (rules, _Grammar(rules))
        _GRAMMARS[id(rules)] = hit
    return hit[1]


def find_dates(sentence: str, rules: RuleSet) -> list[DateMention]:
    g = _grammar(rules)
    P = rules.patterns
    fold = sentence.casefold()
    aligned = len(fold) == len(sentence)
    has_year = _YEAR_DIGITS.search(sentence) is not None
    has_month = any(w in sentence for w in g.month_words)
    needles = g.needles
    found: list[DateMention] = []
    taken: list[tuple[int, int]] = []
    for kind, rx in g.patterns:
        # skip patterns that cannot yield a mention here (a pure speed-up: same results)
        words = needles[kind]
        if words is None:
            if not has_year:
                continue
        elif words == "caps":
            if not has_month:
                continue
        elif kind == "weekday" and aligned:
            if not _capitalised_word(sentence, fold, words):
                continue
        elif not any(w in fold for w in words):
            continue
        for m in rx.finditer(sentence):
            a, b = m.start(), m.end()
            if kind == "weekday":
                # trim leading space of an empty prefix
                while a < b and sentence[a].isspace():
                    a += 1
            if a >= b or any(not (b <= x or a >= y) for x, y in taken):
                continue
            gd = m.groupdict()
            prep = (gd.get("p") or "").strip().lower()
            prep = re.sub(r"\s+", " ", prep)
            dm = _build(kind, m, sentence[a:b], a, b, prep, g)
            if dm is None:
                continue
            before = sentence[max(0, a - 30):a]
            first = prep.split(" ")[0] if prep else ""
            excl = bool(g.excluded_before.search(before)) or first in g.excluded_words
            if kind == "year" and first in ("from", "to", "through", "after", "before", "since", "until", "by"):
                excl = True
            if kind == "monthday" and excl and P.range_after.match(sentence, b) and P.range_from_before.search(before):
                excl = False  # "from October 22 to 24": a range of days, dated by its first day
            if kind == "monthday":
                lead = _DAY_RANGE_BEFORE.search(sentence, max(0, a - 8), a)
                if lead and not dm.year:
                    first_day = int(lead.group(1))
                    if 1 <= first_day < dm.day:  # "16-17 December": the first day
                        dm = DateMention(**{**_asdict(dm), "start": lead.start(1), "text": sentence[lead.start(1):b],
                                            "day": first_day})
                        a = lead.start(1)
            if excl:
                dm = DateMention(**{**_asdict(dm), "excluded": True})
            taken.append((a, b))
            found.append(dm)
    found.sort(key=lambda d: d.start)
    return found


def _capitalised_word(sentence: str, fold: str, words) -> bool:
    """Does one of ``words`` occur in ``fold`` (case-folded ``sentence``) with an upper-case first letter in ``sentence``?"""
    for w in words:
        i = fold.find(w)
        while i >= 0:
            if sentence[i].isupper():
                return True
            i = fold.find(w, i + 1)
    return False


def _asdict(mention: DateMention) -> dict:
    return {k: getattr(mention, k) for k in DateMention.__slots__}


def _build(kind: str, match: re.Match, text: str, start: int, end: int, prep: str, grammar: _Grammar) -> DateMention | None:
    gd = match.groupdict()
    if kind == "monthrel":
        mon = grammar.months.get(gd["m"].rstrip(".").lower())
        if not mon:
            return None
        return DateMention(start, end, text, kind, prep, month=mon, unit="year", rel=gd["r"])
    if kind in ("monthday", "monthyear", "month"):
        mon = grammar.months.get(gd["m"].rstrip(".").lower())
        if not mon:
            return None
        if gd["m"].rstrip(".") == "May" and kind == "month" and prep in ("", "this"):
            pass
        if kind == "monthday":
            day = int(gd["d"])
            if not 1 <= day <= 31:
                return None
            y = int(gd["y"]) if gd.get("y") else 0
            return DateMention(start, end, text, kind, prep, month=mon, day=day, year=y)
        if kind == "monthyear":
            return DateMention(start, end, text, kind, prep, month=mon, year=int(gd["y"]))
        return DateMention(start, end, text, kind, prep, month=mon)
    if kind == "weekday":
        w = grammar.weekdays.get(gd["w"].lower())
        if w is None:
            return None
        if not gd["w"][0].isupper():
            return None
        return DateMention(start, end, text, kind, prep, weekday=w)
    if kind == "rel":
        r = re.sub(r"\s+", " ", gd["r"].lower())
        r = {"the coming": "next", "the following": "next"}.get(r, r)
        return DateMention(start, end, text, kind, prep, unit=gd["u"].lower(), rel=r)
    if kind == "season":
        # casefold, not lower: the pattern matches case-insensitively, so "ſpring" (long s) matches
        # too, and only casefold maps it onto a key
        season = grammar.seasons.get(gd["s"].casefold())
        if season is None:
            return None
        words = prep.split()
        if not words or words == ["the"]:
            return None
        if gd["s"].casefold() == "fall" and not any(w in ("in", "this", "last", "next", "during") for w in words):
            return None
        rel = "last" if "last" in words else "next" if "next" in words else "this" if "this" in words else ""
        y = int(gd["y"]) if gd.get("y") else 0
        return DateMention(start, end, text, kind, prep, month=season, rel=rel, year=y)
    if kind == "year":
        return DateMention(start, end, text, kind, prep, year=int(gd["y"]))
    if kind == "deictic":
        return DateMention(start, end, text, kind, prep, unit=gd["u"].lower())
    return None  # pragma: no cover


def _safe_date(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def resolve(mention: DateMention, pub: dt.date | PubDate | None, future: bool | None) -> str | None:
    """Resolve a mention to YYYY-MM-DD / YYYY-MM / YYYY. None when it cannot be resolved.

    A publication date known only to the month (or year) resolves relative expressions only as
    far as it allows: a weekday or "yesterday" gives the month, never an invented day."""
    if mention.excluded:
        return None
    if mention.kind == "year":
        return f"{mention.year:04d}"
    if mention.kind == "monthyear":
        return f"{mention.year:04d}-{mention.month:02d}"
    if mention.kind == "monthday" and mention.year:
        x = _safe_date(mention.year, mention.month, mention.day)
        return x.isoformat() if x else f"{mention.year:04d}-{mention.month:02d}"
    if mention.kind == "season" and mention.year:
        return f"{mention.year:04d}"
    if pub is None:
        return None
    if isinstance(pub, PubDate):
        if pub.precision != "day":
            return _resolve_partial(mention, pub, future)
        pub = pub.midpoint()  # known to the day: the day itself
    y, mo = pub.year, pub.month
    if mention.kind == "deictic":
        delta = {"today": 0, "tonight": 0, "yesterday": -1, "tomorrow": 1}[mention.unit]
        return (pub + dt.timedelta(days=delta)).isoformat()
    if mention.kind == "weekday":
        p = mention.prep
        if "last" in p:
            back = (pub.weekday() - mention.weekday) % 7 or 7
            return (pub - dt.timedelta(days=back)).isoformat()
        if "next" in p:
            ahead = (mention.weekday - pub.weekday()) % 7 or 7
            return (pub + dt.timedelta(days=ahead)).isoformat()
        if future:
            return (pub + dt.timedelta(days=(mention.weekday - pub.weekday()) % 7)).isoformat()
        return (pub - dt.timedelta(days=(pub.weekday() - mention.weekday) % 7)).isoformat()
    if mention.kind == "monthrel":
        return f"{y + {'last': -1, 'this': 0, 'next': 1}[mention.rel]:04d}-{mention.month:02d}"
    if mention.kind == "monthday":
        return _nearest_month_day(mention, y, pub, future)
    if mention.kind == "month":
        p = mention.prep
        m = mention.month
        if "last" in p:
            yy = y if m < mo else y - 1
        elif "next" in p:
            yy = y if m > mo else y + 1
        elif "this" in p:
            yy = y
        elif future:
            yy = y if m >= mo else y + 1
        else:
            yy = y if m <= mo else y - 1
        return f"{yy:04d}-{m:02d}"
    if mention.kind == "rel":
        if mention.unit == "year":
            return f"{y + {'last': -1, 'this': 0, 'next': 1}[mention.rel]:04d}"
        if mention.unit == "month":
            k = {"last": -1, "this": 0, "next": 1}[mention.rel]
            mm = mo + k
            yy = y + (mm - 1) // 12
            mm = (mm - 1) % 12 + 1
            return f"{yy:04d}-{mm:02d}"
        if mention.unit == "week":
            x = pub + dt.timedelta(days={"last": -7, "this": 0, "next": 7}[mention.rel])
            return f"{x.year:04d}-{x.month:02d}"
        if mention.unit == "weekend":
            sat = pub + dt.timedelta(days=(5 - pub.weekday()) % 7)
            if pub.weekday() == 6:
                sat = pub - dt.timedelta(days=1)  # on a Sunday, "this weekend" is the one ending today
            if mention.rel == "last":
                sat = pub - dt.timedelta(days=(pub.weekday() - 5) % 7 or 7)
            elif mention.rel == "next":
                sat = sat + dt.timedelta(days=7)
            return f"{sat.year:04d}-{sat.month:02d}"
    if mention.kind == "season":
        start = mention.month
        if mention.rel == "this":
            return f"{y:04d}"
        if mention.rel == "last":
            return f"{(y if start < mo else y - 1):04d}"
        if mention.rel == "next":
            return f"{(y if start > mo else y + 1):04d}"
        if future:
            return f"{(y if mo <= start + 2 else y + 1):04d}"
        return f"{(y if mo >= start else y - 1):04d}"
    return None


def _nearest_month_day(mention: DateMention, year: int, anchor: dt.date, future: bool | None) -> str | None:
    """The year of a month-day written without one: the next such day from ``anchor`` for what
    is planned, the last one for what happened, else the nearest."""
    cands = [x for x in (_safe_date(year + k, mention.month, mention.day) for k in (-1, 0, 1)) if x]
    if not cands:
        return None
    nearest = min(cands, key=lambda x: abs((x - anchor).days))
    if future:
        best = min((x for x in cands if x >= anchor), default=nearest)
    elif future is False:
        best = max((x for x in cands if x <= anchor), default=nearest)
    else:
        best = nearest
    return best.isoformat()


def _resolve_partial(mention: DateMention, pub: PubDate, future: bool | None) -> str | None:
    """Relative expressions against a publication date known to the month or the year only."""
    y, mo = pub.year, pub.month
    if mo is None:  # year only: what needs a month or a day cannot resolve
        if mention.kind == "monthrel":
            return f"{y + {'last': -1, 'this': 0, 'next': 1}[mention.rel]:04d}-{mention.month:02d}"
        if mention.kind == "rel" and mention.unit == "year":
            return f"{y + {'last': -1, 'this': 0, 'next': 1}[mention.rel]:04d}"
        if mention.kind == "season" and mention.rel == "this":
            return f"{y:04d}"
        if mention.kind in ("month", "monthday") and "last" not in mention.prep and "next" not in mention.prep:
            if mention.kind == "monthday":
                x = _safe_date(y, mention.month, mention.day)
                return x.isoformat() if x else None
            return f"{y:04d}-{mention.month:02d}"
        return None
    if mention.kind in ("deictic", "weekday"):
        return f"{y:04d}-{mo:02d}"  # the day is unknown; "next Friday" might even cross a month end
    if mention.kind == "rel" and mention.unit in ("week", "weekend"):
        return f"{y:04d}-{mo:02d}"
    if mention.kind == "monthday":
        if mention.month == mo and _safe_date(y, mention.month, mention.day):
            return f"{y:04d}-{mo:02d}-{mention.day:02d}"  # a day of the publication month itself
        return _nearest_month_day(mention, y, pub.midpoint(), future)
    # months, seasons, "last year", "next month": the month is enough
    return resolve(mention, pub.midpoint(), future)
