"""Rule-based event extraction (partnership and summit events, see EVENTS.md).

Public API::

    from extractors import extract, Event, RULESET_VERSION
    events = extract(text, published=datetime.date(2025, 6, 10))

Rules live in versioned data files under ``extractors/data`` and are loaded once at
import; ``RULESET_VERSION`` is derived from a hash of those files, of the extractor's own
modules and of the installed pycountry version (see ``extractors.rules.compute_version``).
"""

from __future__ import annotations

from . import errors, scoring
from .engine import extract
from .errors import RuleDataError
from .model import Event
from .rules import get_rules

__all__ = ["extract", "Event", "RULESET_VERSION", "RuleDataError", "errors", "scoring"]

#: version of the rules ("rules-<12 hex of sha256 over the data files, the source and pycountry's version>")
RULESET_VERSION: str = get_rules().version
