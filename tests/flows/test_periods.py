"""Periods and intervals as people type them (flows/periods.py): what is read, and what is refused in one line."""

from __future__ import annotations

from datetime import timedelta

import pytest

from flows.errors import DefwatchError
from flows.periods import parse_period


# -- parse_period -----------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("30d", timedelta(days=30)), ("12h", timedelta(hours=12)), ("2w", timedelta(weeks=2)),
    (" 7D ", timedelta(days=7)), ("1h", timedelta(hours=1)),
])
def test_parse_period(text, expected):
    assert parse_period(text) == expected


@pytest.mark.parametrize("text", ["", "30", "d", "0d", "-3d", "3.5d", "30m", "3 days", "1y", "9999999d"])
def test_parse_period_refuses_bad_input(text):
    with pytest.raises(DefwatchError, match="invalid period .*12h, 30d or 2w"):
        parse_period(text)
