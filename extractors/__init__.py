"""Rule-based event extraction (partnership and summit events, see docs/EVENTS.md).

Public API::

    from extractors import extract, Event, PubDate, RULESET_VERSION
    events = extract(text, published=datetime.date(2025, 6, 10))
    events = extract(text, "2025-06")          # a page dated only to the month
    events = extract(text, None)               # no date: relative dates stay unresolved

The rules propose candidates (``extractors.engine.extract_candidates``); the candidate filter
(``extractors.filter``, weights trained on the blind corpus's tune half) scores each one: its
score is the event's ``confidence``.

Rules live in versioned data files under ``extractors/data`` and are loaded once at
import; ``RULESET_VERSION`` is derived from a hash of those files, of the extractor's own
modules and of the installed pycountry version (see ``extractors.rules.compute_version``).
"""

from __future__ import annotations

from . import errors, scoring
from .engine import extract
from .errors import RuleDataError
from .model import Event
from .pubdate import PubDate
from .rules import get_rules

__all__ = ["extract", "Event", "PubDate", "RULESET_VERSION", "RuleDataError", "errors", "scoring"]

#: version of the rules ("rules-<12 hex of sha256 over the data files, the source and pycountry's version>")
RULESET_VERSION: str = get_rules().version
