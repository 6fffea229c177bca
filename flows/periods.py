"""Lengths of time as people type them ("12h", "30d", "15m"): one parser for report periods and serve intervals."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from flows.errors import ConfigError

_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def duration_seconds(text: str | None, units: str, *, default_unit: str | None = None,
                     max_digits: int | None = None, ignore_case: bool = False) -> int | None:
    """``text`` as a positive whole number followed by one of ``units`` (or by nothing, meaning
    ``default_unit``), in seconds; None when it is not that."""
    digits = r"\d+" if max_digits is None else rf"\d{{1,{max_digits}}}"
    unit = f"[{units}]" + ("?" if default_unit else "")
    m = re.fullmatch(rf"\s*({digits})\s*({unit})\s*", text or "", re.I if ignore_case else 0)
    if not m or int(m.group(1)) == 0:
        return None
    return int(m.group(1)) * _SECONDS[(m.group(2) or default_unit or "").lower()]


def parse_period(text: str) -> timedelta:
    """A report or digest period: ``"12h"``, ``"30d"`` or ``"2w"`` as a timedelta."""
    seconds = duration_seconds(text, "hdw", max_digits=6, ignore_case=True)
    if seconds is None:
        raise ConfigError(
            f"invalid period {text!r}: use a positive whole number followed by h (hours), d (days) "
            f"or w (weeks), for example 12h, 30d or 2w."
        )
    return timedelta(seconds=seconds)


def parse_interval(text: str) -> int:
    """A schedule's interval in seconds: ``"90s"``, ``"15m"``, ``"1h"``, ``"1d"`` (a bare number is seconds)."""
    seconds = duration_seconds(text, "smhd", default_unit="s")
    if seconds is None:
        raise ConfigError(f"--every {text!r}: use a number with a unit, such as 90s, 15m, 1h or 1d.")
    return seconds


def parse_moment(text: str, now: datetime, option: str = "--as-of") -> datetime:
    """A point in time as people type it: ``2026-12-05``, ``2026-12-05 14:30``, ``now``,
    ``today`` (its start), ``yesterday`` (its start), or an age such as ``7d``, ``12h``, ``2w``
    (that long before ``now``). Dates and times without a zone are UTC."""
    t = (text or "").strip().lower()
    midnight = now.astimezone(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    if t == "now":
        return now
    if t == "today":
        return midnight
    if t == "yesterday":
        return midnight - timedelta(days=1)
    seconds = duration_seconds(t, "mhdw", max_digits=6)
    if seconds is not None:
        return now - timedelta(seconds=seconds)
    m = re.fullmatch(r"(\d{4}-\d{2}-\d{2})(?:[ t](\d{2}:\d{2}(?::\d{2})?))?", t)
    if m:
        try:
            when = datetime.fromisoformat(f"{m.group(1)}T{m.group(2) or '00:00'}")
        except ValueError:
            when = None
        if when is not None:
            return when.replace(tzinfo=timezone.utc)
    raise ConfigError(f"{option} {text!r}: use YYYY-MM-DD[ HH:MM] (UTC), now, today, yesterday, "
                      f"or an age such as 7d, 12h or 2w.")
