"""`defwatch alerts list` on a real database: the exact rows, newest alert first, with each delivery."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from tests.support.cli import defwatch
from tests.support.db import query_rows
from tests.support.eventlog import NOW, demo_log
from warehouse import alerts as walerts
from warehouse.db import transaction, write_connection

SENT_AT = NOW - timedelta(days=2) + timedelta(minutes=1)
FAILED_AT = NOW - timedelta(days=1)


def _delivery(aid: str, key: str, label: str) -> dict:
    return {"alert_id": aid, "channel_key": key, "channel_label": label, "status": "pending", "attempts": 0,
            "last_error": None, "last_attempt_at": None, "next_attempt_at": None, "sent_at": None}


def alert_log(db: Path) -> dict[str, str]:
    """The demo log with two alerts: Australia-Indonesia's new pact (sent to the log) and
    Japan-Philippines' status change (the log still pending, a webhook failed once)."""
    demo_log(db)
    event_of = {parties: eid for parties, eid in query_rows(db, "SELECT array_to_string(parties, ', '), event_id FROM events")}
    ai = walerts.alert_id(event_of["Australia, Indonesia"], "partnership.new", None)
    jp = walerts.alert_id(event_of["Japan, Philippines"], "partnership.status", "signed")
    alerts = [
        {"alert_id": ai, "event_id": event_of["Australia, Indonesia"], "kind": "partnership.new", "value": "signed",
         "old_value": None, "rules": ["partnerships"], "created_at": NOW - timedelta(days=2), "run_id": "run1"},
        {"alert_id": jp, "event_id": event_of["Japan, Philippines"], "kind": "partnership.status", "value": "signed",
         "old_value": "planned", "rules": ["partnerships"], "created_at": NOW - timedelta(days=3), "run_id": "run1"},
    ]
    deliveries = [_delivery(ai, "cfg:log", "log"), _delivery(jp, "cfg:log", "log"),
                  _delivery(jp, "cfg:ops-hook", "ops-hook")]
    with write_connection(db) as con, transaction(con):
        assert walerts.insert_alerts(con, alerts, deliveries) == 2
        walerts.mark_sent(con, ai, "cfg:log", SENT_AT)
        walerts.mark_failed(con, jp, "cfg:ops-hook", FAILED_AT, "HTTP 503 from the receiver", 60, 3600)
    return {"ai": ai, "jp": jp}


def test_alerts_list_shows_every_delivery_newest_alert_first(tmp_path):
    db = tmp_path / "alerts.duckdb"
    ids = alert_log(db)
    out = defwatch("alerts", "list", "--db", str(db), "--format", "csv")
    assert out.returncode == 0, out.stderr
    retry_at = FAILED_AT + timedelta(seconds=60)  # the first retry waits retry_base_s
    assert out.stdout.splitlines() == [
        "alert_id,kind,parties,event_status,channel,status,attempts,last_error,next_attempt_at,sent_at",
        f'{ids["ai"]},partnership.new,"Australia, Indonesia",signed,log,sent,1,,,{SENT_AT}',
        f'{ids["jp"]},partnership.status,"Japan, Philippines",signed,log,pending,0,,,',
        f'{ids["jp"]},partnership.status,"Japan, Philippines",signed,ops-hook,pending,1,HTTP 503 from the receiver,'
        f'{retry_at},',
    ]


def test_alerts_list_filters_by_delivery_status_and_limits(tmp_path):
    db = tmp_path / "alerts.duckdb"
    ids = alert_log(db)
    pending = defwatch("alerts", "list", "--db", str(db), "--format", "csv", "--status", "pending", "--limit", "1")
    assert pending.returncode == 0, pending.stderr
    assert pending.stdout.splitlines() == [
        "alert_id,kind,parties,event_status,channel,status,attempts,last_error,next_attempt_at,sent_at",
        f'{ids["jp"]},partnership.status,"Japan, Philippines",signed,log,pending,0,,,',
    ]
