"""Alert routing as tables: which rules and channels a change reaches, and what the summit watch raises."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from flows.alerts.routing import Channels, route, summit_watch
from flows.settings import AlertRule, AlertSettings
from warehouse.alerts import alert_id

SETTINGS = AlertSettings(rules=[
    AlertRule(name="pacts", types=["partnership"], changes=["new", "status"], channels=["log"]),
    AlertRule(name="japan", types=["partnership", "summit"], changes=["new"], parties=["Japan"],
              channels=["prefect"]),
    AlertRule(name="signed-only", types=["partnership"], changes=["status"], statuses=["signed"],
              min_confidence=0.7, channels=["log"]),
    AlertRule(name="summit-watch", types=["summit"], changes=["upcoming", "overdue"], channels=["log"]),
])
LOG, PREFECT = "cfg:log", "cfg:prefect"


@pytest.mark.parametrize("event_type, change, parties, status, confidence, rules, keys", [
    # a new partnership: the pact rule; with Japan also the Japan rule and its channel
    ("partnership", "new", ["Canada", "European Union"], "planned", 0.8, ["pacts"], [LOG]),
    ("partnership", "new", ["Japan", "Philippines"], "planned", 0.8, ["pacts", "japan"], [LOG, PREFECT]),
    # a status change: signed and confident enough reaches the signed-only rule too (one channel once)
    ("partnership", "status", ["Japan", "Philippines"], "signed", 0.8, ["pacts", "signed-only"], [LOG]),
    ("partnership", "status", ["Japan", "Philippines"], "signed", 0.5, ["pacts"], [LOG]),
    ("partnership", "status", ["Japan", "Philippines"], "negotiating", 0.9, ["pacts"], [LOG]),
    # a confidence that was never given counts as 0
    ("partnership", "status", ["Chad", "France"], "signed", None, ["pacts"], [LOG]),
    # summits: a new one only when Japan takes part; the watch's own changes go to its rule
    ("summit", "new", ["European Union", "Japan"], "planned", 0.8, ["japan"], [PREFECT]),
    ("summit", "new", ["NATO"], "planned", 0.8, [], []),
    ("summit", "upcoming", ["NATO"], "planned", 0.8, ["summit-watch"], [LOG]),
    ("summit", "overdue", ["NATO"], None, 0.8, ["summit-watch"], [LOG]),
    ("summit", "status", ["NATO"], "held", 0.8, [], []),
])
def test_route(event_type, change, parties, status, confidence, rules, keys):
    chans = Channels.build(SETTINGS)
    assert route(SETTINGS, chans, event_type, change, parties, status, confidence) == (rules, keys)


def test_a_notify_url_joins_every_routed_alert_and_no_other():
    chans = Channels.build(SETTINGS, ["json://127.0.0.1:9/hook"])
    [adhoc] = chans.adhoc
    assert route(SETTINGS, chans, "partnership", "new", ["Chad", "France"], "planned", 0.8) == (["pacts"], [LOG, adhoc])
    assert route(SETTINGS, chans, "summit", "new", ["NATO"], "planned", 0.8) == ([], [])


TODAY = date(2025, 6, 10)
NOW = datetime(2025, 6, 10, 12, tzinfo=timezone.utc)


def _summit(event_id: str, when: str | None, status: str | None) -> dict:
    return {"event_id": event_id, "date": when, "status": status, "parties": ["NATO"], "confidence": 0.8}


@pytest.mark.parametrize("when, status, kind", [
    ("2025-06-10", "planned", "summit.upcoming"),   # today
    ("2025-06-17", "planned", "summit.upcoming"),   # the last day of the 7-day window
    ("2025-06-18", "planned", None),                # beyond it
    ("2025-06-12", None, "summit.upcoming"),        # no status stated counts as planned
    ("2025-06-12", "held", None),
    ("2025-06-12", "cancelled", None),
    ("2025-06-09", "planned", "summit.overdue"),    # its date passed without a report
    ("2025-06-09", None, "summit.overdue"),
    ("2025-06-09", "cancelled", None),              # reported cancelled: no "passed without a report"
    ("2025-06-09", "held", None),
    ("2025-06", "planned", None),                   # a month is no date to watch
    (None, "planned", None),
])
def test_summit_watch(when, status, kind):
    settings = AlertSettings(rules=SETTINGS.rules, summit_days_before=7)
    chans = Channels.build(settings)
    alerts, deliveries = summit_watch([_summit("e1", when, status)], settings, chans, "run1", NOW, TODAY)
    if kind is None:
        assert (alerts, deliveries) == ([], [])
        return
    aid = alert_id("e1", kind, when)
    assert alerts == [{"alert_id": aid, "event_id": "e1", "kind": kind, "value": when, "old_value": None,
                       "rules": ["summit-watch"], "created_at": NOW, "run_id": "run1"}]
    assert [(d["alert_id"], d["channel_key"], d["status"]) for d in deliveries] == [(aid, LOG, "pending")]
