"""A publication date known to the day, the month, or only the year.

Real pages often give the publication date only to the month (or not at all); relative dates
then resolve only as far as the publication date allows: "next Friday" against 2025-05 gives
the month, never an invented day (docs/EVENTS.md, "Dates").
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

__all__ = ["PubDate"]

_ISO = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")


@dataclass(frozen=True, slots=True)
class PubDate:
    year: int
    month: int | None = None
    day: int | None = None

    def __post_init__(self) -> None:
        if self.day is not None and self.month is None:
            raise ValueError("a publication date with a day needs a month")
        # validates the calendar (month 13, February 30 ...)
        dt.date(self.year, self.month or 1, self.day or 1)

    @classmethod
    def parse(cls, value: PubDate | dt.date | str | None) -> PubDate | None:
        """None, a date, or 'YYYY-MM-DD' / 'YYYY-MM' / 'YYYY' (an ISO timestamp keeps its date).

        Raises ValueError with a message a person can act on for anything else."""
        if value is None or isinstance(value, PubDate):
            return value
        if isinstance(value, dt.datetime):
            value = value.date()
        if isinstance(value, dt.date):
            return cls(value.year, value.month, value.day)
        if not isinstance(value, str):
            raise ValueError(f"publication date {value!r} is not a date; use YYYY-MM-DD, YYYY-MM or YYYY")
        v = value.strip()
        if not v:
            return None
        if len(v) > 10 and v[10:11] in ("T", " "):
            v = v[:10]
        m = _ISO.match(v)
        if not m:
            raise ValueError(f"publication date {value!r} is not a date; use YYYY-MM-DD, YYYY-MM or YYYY")
        y, mo, d = int(m.group(1)), m.group(2), m.group(3)
        try:
            return cls(y, int(mo) if mo else None, int(d) if d else None)
        except ValueError:
            raise ValueError(f"publication date {value!r} is not a real date; use YYYY-MM-DD, YYYY-MM or YYYY") from None

    @property
    def precision(self) -> str:
        return "day" if self.day else "month" if self.month else "year"

    def as_date(self) -> dt.date | None:
        """The day, when known."""
        return dt.date(self.year, self.month, self.day) if self.day and self.month else None

    def midpoint(self) -> dt.date:
        """The middle of the period the date covers: the anchor for choosing a bare month-day's year."""
        if self.day and self.month:
            return dt.date(self.year, self.month, self.day)
        if self.month:
            return dt.date(self.year, self.month, (calendar.monthrange(self.year, self.month)[1] + 1) // 2)
        return dt.date(self.year, 7, 1)

    def isoformat(self) -> str:
        if self.day and self.month:
            return f"{self.year:04d}-{self.month:02d}-{self.day:02d}"
        if self.month:
            return f"{self.year:04d}-{self.month:02d}"
        return f"{self.year:04d}"

    __str__ = isoformat
