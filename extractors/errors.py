"""Errors raised for bad rule data. Codes are stable; tests and tools may rely on them.

E100  a data file is missing or unreadable
E101  a data file does not parse (TOML syntax, TSV shape)
E102  unknown key (typo protection: every key must be known)
E103  a required key is missing
E104  a value has the wrong type
E105  an empty pattern group (would otherwise silently match nothing or everything)
E106  duplicate rule / actor id
E107  invalid value (unknown status, bad enum, empty string, bad number)
E108  conflicting definitions (one surface form mapped to two different actors)
E109  reference to an unknown actor (e.g. a bloc member or a person's country)
E110  a pattern does not compile (patterns.toml: bad regular expression or flag)
E111  a rule id the engine refers to does not exist in the data (a trigger, pattern or word set id)
"""

from __future__ import annotations

__all__ = ["RuleDataError", "ERROR_CODES"]

ERROR_CODES = {
    "E100": "data file missing or unreadable",
    "E101": "data file does not parse",
    "E102": "unknown key",
    "E103": "missing required key",
    "E104": "wrong value type",
    "E105": "empty pattern group",
    "E106": "duplicate id",
    "E107": "invalid value",
    "E108": "conflicting definitions",
    "E109": "unknown actor reference",
    "E110": "pattern does not compile",
    "E111": "unknown rule id referenced by the engine",
}


class RuleDataError(Exception):
    """Bad rule data. ``code`` is one of ERROR_CODES; ``path`` names the file and key."""

    def __init__(self, code: str, message: str, path: str | None = None) -> None:
        if code not in ERROR_CODES:  # pragma: no cover - programming error
            raise ValueError(f"unknown error code {code!r}")
        self.code = code
        self.message = message
        self.path = path
        where = f" [{path}]" if path else ""
        super().__init__(f"{code} {ERROR_CODES[code]}{where}: {message}")
