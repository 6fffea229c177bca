"""Alerts through real channels on loopback: an HTTP webhook receiver and an SMTP server
(aiosmtpd). Exactly once per alert and channel, nothing lost when a channel is down or the
process is killed."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import duckdb
import pytest

from flows.alerts.channels import SIGNATURE_HEADER, verify_signature
from tests.conftest import REPO
from tests.support.cli import defwatch, defwatch_killable
from tests.support.db import query_rows
from tests.support.receiver import Receiver

SECRET = "s3cret-for-tests"


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.stop()


def test_demo_notify_delivers_each_alert_exactly_once(receiver, tmp_path):
    db = tmp_path / "demo.duckdb"
    hook = receiver.url("/hook", scheme="json")
    first = defwatch("demo", "--db", str(db), "--json", "--notify", hook)
    assert first.returncode == 0, first.stderr[-3000:]
    run1 = json.loads(first.stdout)
    assert run1["alerts_new"] > 0 and run1["alerts_sent"] >= run1["alerts_new"]

    partnership_events = query_rows(db, "SELECT count(*) FROM partnerships")[0][0]
    key = query_rows(db, "SELECT DISTINCT channel_key FROM alert_deliveries WHERE channel_key LIKE 'url:%'")
    assert len(key) == 1
    alerts_for_hook = query_rows(db, f"SELECT count(*) FROM alert_deliveries WHERE channel_key = '{key[0][0]}'")[0][0]
    assert len(receiver.received) == alerts_for_hook
    # One message per alert: every alert id appears once in the titles' bodies.
    ids = [m.json()["message"].rsplit("alert ", 1)[1] for m in receiver.received]
    assert max(Counter(ids).values()) == 1
    partnership_alerts = query_rows(db, "SELECT count(DISTINCT event_id) FROM alerts WHERE kind LIKE 'partnership.%'")[0][0]
    assert partnership_alerts == partnership_events, "every partnership new to the database alerts"
    assert query_rows(db, "SELECT count(*) FROM alert_deliveries WHERE status <> 'sent'") == [(0,)]

    second = defwatch("demo", "--db", str(db), "--json", "--notify", hook)
    assert second.returncode == 0, second.stderr[-3000:]
    run2 = json.loads(second.stdout)
    assert run2["alerts_new"] == 0 and run2["alerts_sent"] == 0
    assert len(receiver.received) == alerts_for_hook


@pytest.mark.usefixtures("prefect_harness")
def test_webhook_down_then_back_delivers_each_alert_once(receiver, tmp_path, db_path, monkeypatch):
    from flows.ingest import ingest_flow

    config = tmp_path / "defwatch.toml"
    config.write_text(
        f'[[alerts.channels]]\nname = "ops"\ntype = "webhook"\nurl = "{receiver.url()}"\n'
        f'[[alerts.rules]]\nname = "eu"\ntypes = ["partnership"]\nchanges = ["new", "status"]\n'
        f'parties = ["European Union"]\nchannels = ["ops"]\n')
    monkeypatch.setenv("DEFWATCH_CONFIG", str(config))
    monkeypatch.setenv("DEFWATCH_WEBHOOK_SECRET", SECRET)
    feeds = _site(tmp_path)
    receiver.fail_with = 503
    with _serve(REPO / "samples") as base:
        first = ingest_flow(db=str(db_path), feeds_file=str(feeds), base_url=base, force=True,
                            settings_overrides={"workers": 1})
    assert first["alerts_new"] > 0 and first["alerts_sent"] == 0 and first["alerts_failed"] == first["alerts_new"]
    pending = query_rows(db_path, "SELECT status, attempts, last_error, next_attempt_at IS NOT NULL FROM alert_deliveries")
    assert all(p[0] == "pending" and p[1] == 1 and "HTTP 503" in p[2] and p[3] for p in pending)
    assert receiver.received == []
    # Every alert is about the EU: the rule's party filter holds.
    assert all("European Union" in r[0] for r in query_rows(db_path, "SELECT e.parties FROM alerts JOIN events e USING (event_id)"))

    receiver.fail_with = None
    with duckdb.connect(str(db_path)) as con:  # the backoff has not expired yet: make them due now
        con.execute("UPDATE alert_deliveries SET next_attempt_at = NULL")
    with _serve(REPO / "samples") as base:
        second = ingest_flow(db=str(db_path), feeds_file=str(feeds), base_url=base, force=True,
                             settings_overrides={"workers": 1})
        third = ingest_flow(db=str(db_path), feeds_file=str(feeds), base_url=base, force=True,
                            settings_overrides={"workers": 1})
    assert second["alerts_sent"] == first["alerts_new"] and third["alerts_sent"] == 0
    assert len(receiver.received) == first["alerts_new"]
    assert len({m.headers["x-defwatch-alert-id"] for m in receiver.received}) == first["alerts_new"]
    msg = receiver.received[0]
    assert verify_signature(SECRET, msg.body, msg.headers[SIGNATURE_HEADER.lower()])
    assert not verify_signature("wrong", msg.body, msg.headers[SIGNATURE_HEADER.lower()])
    payload = msg.json()
    assert {"alert_id", "kind", "title", "text", "event", "articles"} <= set(payload)
    assert payload["event"]["evidence"] in payload["text"]
    assert SECRET not in json.dumps(query_rows(db_path, "SELECT * FROM alert_deliveries"), default=str)


@pytest.mark.usefixtures("prefect_harness")
def test_email_arrives_with_subject_and_evidence(tmp_path, db_path, monkeypatch):
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message as MessageHandler

    inbox = []

    class Inbox(MessageHandler):
        def handle_message(self, message):
            inbox.append(message)

    import socket

    with socket.socket() as sock:  # aiosmtpd checks its own start by connecting: it needs a real port
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    smtp = Controller(Inbox(), hostname="127.0.0.1", port=port)
    smtp.start()
    try:
        config = tmp_path / "defwatch.toml"
        config.write_text(
            f'[[alerts.channels]]\nname = "mail"\ntype = "email"\nhost = "127.0.0.1"\nport = {port}\n'
            f'sender = "defwatch@example.org"\nrecipients = ["analyst@example.org"]\n'
            f'[[alerts.rules]]\nname = "uk"\ntypes = ["partnership"]\nparties = ["United Kingdom"]\n'
            f'statuses = ["signed"]\nchannels = ["mail"]\n')
        monkeypatch.setenv("DEFWATCH_CONFIG", str(config))
        from flows.ingest import ingest_flow

        with _serve(REPO / "samples") as base:
            run = ingest_flow(db=str(db_path), feeds_file=str(_site(tmp_path)), base_url=base, force=True,
                              settings_overrides={"workers": 1})
    finally:
        smtp.stop()
    assert run["alerts_sent"] == len(inbox) > 0
    evidence = dict(query_rows(db_path, "SELECT a.alert_id, e.evidence FROM alerts a JOIN events e USING (event_id)"))
    for mail in inbox:
        assert mail["Subject"].startswith(("New partnership:", "Partnership update:"))
        assert "United Kingdom" in mail["Subject"]
        alert = mail["X-Defwatch-Alert-Id"]
        assert mail["Message-ID"] == f"<{alert}@defwatch>"
        assert evidence[alert] in mail.get_payload(decode=True).decode()


@pytest.mark.parametrize("kill_at", ["before-delivery", "after-send"])
def test_kill_between_event_write_and_delivery_loses_nothing(receiver, tmp_path, kill_at):
    db = tmp_path / "k.duckdb"
    hook = receiver.url("/hook", scheme="json")
    config = tmp_path / "only-notify.toml"  # alerts go to the --notify channel only: sends are countable
    config.write_text('[[alerts.rules]]\nname = "partnerships"\ntypes = ["partnership"]\nchannels = []\n')
    rc, stderr = defwatch_killable("demo", "--db", str(db), "--json", "--notify", hook, tmp_path=tmp_path,
                                   env={"DEFWATCH_KILL_AT": kill_at, "DEFWATCH_CONFIG": str(config),
                                        "DEFWATCH_KILL_AFTER": "3" if kill_at == "after-send" else "0"})
    assert rc == -9, stderr[-2000:]
    before = len(receiver.received)
    alerts = query_rows(db, "SELECT count(*) FROM alert_deliveries WHERE channel_key LIKE 'url:%'")[0][0]
    assert alerts > 0, "the alerts were committed with their events before the kill"
    again = defwatch("demo", "--db", str(db), "--json", "--notify", hook, env={"DEFWATCH_CONFIG": str(config)})
    assert again.returncode == 0, again.stderr[-3000:]
    ids = [m.json()["message"].rsplit("alert ", 1)[1] for m in receiver.received]
    counts = Counter(ids)
    assert len(counts) == alerts, "every alert arrived"
    # A kill after the channel took a message but before it was marked sent re-sends that one
    # message (at-least-once at the wire, deduplicable by alert id); a kill before delivery none.
    repeats = sum(c - 1 for c in counts.values())
    assert repeats == (1 if kill_at == "after-send" else 0)
    assert before == (4 if kill_at == "after-send" else 0)
    assert query_rows(db, "SELECT count(*) FROM alert_deliveries WHERE status <> 'sent'") == [(0,)]


@pytest.mark.usefixtures("prefect_harness")
def test_alerts_go_out_while_later_pages_are_still_being_fetched(receiver, server, tmp_path, db_path, monkeypatch):
    """A stored batch's alerts are delivered while the flow waits for the next batch's pages, not
    at the end of the run; each still exactly once."""
    from flows.ingest import ingest_flow
    from tests.flows.test_eventlog_flow import build_site, registry

    config = tmp_path / "defwatch.toml"
    config.write_text(f'[[alerts.channels]]\nname = "ops"\ntype = "webhook"\nurl = "{receiver.url()}"\n'
                      f'[[alerts.rules]]\nname = "all"\nchanges = ["new", "status"]\nchannels = ["ops"]\n')
    monkeypatch.setenv("DEFWATCH_CONFIG", str(config))
    # 3 feeds x 8 slow pages, 4 pages per batch: article 0 (talks begin) is in the first batch.
    feeds = registry(tmp_path, server, build_site(server, n_feeds=3, per_feed=8, delay=0.3))
    run = ingest_flow(db=str(db_path), feeds_file=str(feeds), force=True,
                      settings_overrides={"workers": 1, "batch_size": 4, "fetch": {"per_host": 1}})
    assert run["articles_new"] == 24 and run["alerts_new"] >= 1 and run["alerts_sent"] == run["alerts_new"]
    last_store = query_rows(db_path, "SELECT epoch(max(fetched_at)) FROM articles")[0][0]
    first_alert = min(m.at for m in receiver.received)
    assert first_alert < last_store, "the first alert waited for the end of the run"
    ids = [m.headers["x-defwatch-alert-id"] for m in receiver.received]
    assert len(ids) == len(set(ids)) == run["alerts_new"]
    assert query_rows(db_path, "SELECT count(*) FROM alert_deliveries WHERE status <> 'sent'") == [(0,)]


# -- helpers ---------------------------------------------------------------------------------------

from contextlib import contextmanager  # noqa: E402


@contextmanager
def _serve(root: Path):
    from flows.runtime.sample_server import serve_directory

    with serve_directory(root) as server:
        yield server.base_url


def _site(tmp_path: Path) -> Path:
    """The demo's registry: the bundled samples (served by _serve)."""
    return REPO / "samples" / "feeds.toml"


PREFECT_ONLY = ('[[alerts.rules]]\nname = "partnerships"\ntypes = ["partnership"]\nchanges = ["new", "status"]\n'
                'channels = ["prefect"]\n')


def _read_prefect_events(prefix: str, expect: int, timeout_s: float = 30.0) -> list[dict]:
    """Events the Prefect API stored under ``prefix``, polled: the server persists them in batches."""
    import time

    from prefect.client.orchestration import get_client

    deadline, events = time.monotonic() + timeout_s, []
    with get_client(sync_client=True) as client:
        while True:
            body = {"filter": {"event": {"prefix": [prefix]}}, "limit": 50}
            page = client.request("POST", "/events/filter", json=body).json()
            events = list(page["events"])
            while page.get("next_page"):
                page = client._client.get(page["next_page"]).json()
                events += page["events"]
            if len(events) >= expect or time.monotonic() > deadline:
                return events
            time.sleep(0.5)


@pytest.mark.usefixtures("prefect_harness")
def test_prefect_channel_puts_one_event_per_alert_on_the_prefect_api(tmp_path, db_path, monkeypatch):
    from flows.ingest import ingest_flow

    config = tmp_path / "defwatch.toml"
    config.write_text(PREFECT_ONLY)
    monkeypatch.setenv("DEFWATCH_CONFIG", str(config))
    with _serve(REPO / "samples") as base:
        run = ingest_flow(db=str(db_path), feeds_file=str(_site(tmp_path)), base_url=base, force=True,
                          settings_overrides={"workers": 1})
    assert run["alerts_sent"] == run["alerts_new"] > 0 and run["alerts_failed"] == 0
    alerts = dict(query_rows(db_path, "SELECT a.event_id, a.kind FROM alerts a JOIN alert_deliveries d USING (alert_id) "
                             "WHERE d.channel_key = 'cfg:prefect' AND d.status = 'sent'"))
    events = [e for e in _read_prefect_events("defwatch.", run["alerts_sent"])
              if e["resource"]["prefect.resource.id"].removeprefix("defwatch.event.") in alerts]
    # One Prefect event per alert, named by its kind, about the event it reports.
    assert len(events) == run["alerts_sent"]
    assert {e["resource"]["prefect.resource.id"] for e in events} == {f"defwatch.event.{k}" for k in alerts}
    for e in events:
        event_id = e["resource"]["prefect.resource.id"].removeprefix("defwatch.event.")
        assert e["event"] == f"defwatch.{alerts[event_id]}"
        assert e["payload"]["event"]["event_id"] == event_id
        # Linked to the flow run that sent it, as emit_event would have linked it.
        assert [r["prefect.resource.role"] for r in e["related"]][:1] == ["flow-run"]


def test_prefect_events_that_the_api_refuses_stay_pending_until_it_takes_them(receiver, tmp_path):
    """The Prefect API is a real HTTP receiver here (it stands in for POST /api/events). The
    ingest runs on its own embedded Prefect and is killed after its alerts are committed and
    before they are sent (DEFWATCH_KILL_AT=before-delivery): every alert is left pending. Then
    `alerts retry` against an API that answers 503 keeps them pending; against one that takes
    them, each alert is sent once."""
    db = tmp_path / "p.duckdb"
    config = tmp_path / "defwatch.toml"
    config.write_text(PREFECT_ONLY)
    env = {"DEFWATCH_CONFIG": str(config)}
    first = defwatch("demo", "--db", str(db), "--json", env={**env, "DEFWATCH_KILL_AT": "before-delivery"})
    assert first.returncode == -9, first.stderr[-3000:]
    run = {"alerts_new": query_rows(db, "SELECT count(*) FROM alerts")[0][0]}
    assert run["alerts_new"] > 0
    assert query_rows(db, "SELECT DISTINCT channel_key, status FROM alert_deliveries") == [("cfg:prefect", "pending")]

    api = {**env, "PREFECT_API_URL": receiver.url("/api")}
    # What a Prefect server with CSRF protection off (its default) answers the client's first ask.
    receiver.get_answers["/api/csrf-token"] = (422, b'{"detail": "CSRF protection is disabled."}')
    receiver.fail_with = 503
    # Prefect's client retries a 503 with backoff (a minute in all): once is enough here.
    refused = defwatch("alerts", "retry", "--db", str(db), env={**api, "PREFECT_CLIENT_MAX_RETRIES": "0"})
    assert refused.returncode == 1
    assert f"0 delivered, {run['alerts_new']} failed (still pending)" in refused.stdout
    errors = query_rows(db, "SELECT DISTINCT last_error FROM alert_deliveries")
    assert len(errors) == 1 and errors[0][0].startswith(f"the Prefect API did not take {run['alerts_new']} event(s): "
                                                        "PrefectHTTPStatusError: Server error '503 Service Unavailable'")
    assert receiver.received == []

    receiver.fail_with = None
    taken = defwatch("alerts", "retry", "--db", str(db), env=api)
    assert taken.returncode == 0, taken.stderr[-3000:]
    assert f"{run['alerts_new']} delivered, 0 failed" in taken.stdout
    posts = [m for m in receiver.received if m.path == "/api/events"]
    assert len(posts) == 1  # one request for the whole batch
    sent = posts[0].json()
    alert_events = {r[0] for r in query_rows(db, "SELECT event_id FROM alerts")}
    assert len(sent) == run["alerts_new"]
    assert {e["resource"]["prefect.resource.id"] for e in sent} == {f"defwatch.event.{e}" for e in alert_events}
    assert query_rows(db, "SELECT DISTINCT status FROM alert_deliveries") == [("sent",)]


def test_log_channel_writes_one_line_per_alert_to_the_run_log(tmp_path):
    db = tmp_path / "l.duckdb"
    config = tmp_path / "defwatch.toml"
    config.write_text('[[alerts.rules]]\nname = "partnerships"\ntypes = ["partnership"]\n'
                      'changes = ["new", "status"]\nchannels = ["log"]\n')
    out = defwatch("demo", "--db", str(db), "--json", env={"DEFWATCH_CONFIG": str(config)})
    assert out.returncode == 0, out.stderr[-3000:]
    run = json.loads(out.stdout)
    assert run["alerts_new"] == run["alerts_sent"] > 0
    lines = [line[line.index("ALERT "):] for line in out.stderr.splitlines() if "ALERT " in line]
    alerts = query_rows(db, "SELECT a.alert_id, a.kind, e.event_id, e.evidence FROM alerts a JOIN events e USING (event_id)")
    assert len(lines) == len(alerts) == run["alerts_sent"]
    by_id = {line.rsplit("· alert ", 1)[1]: line for line in lines}
    for alert_id, kind, event_id, evidence in alerts:
        line = by_id[alert_id]
        assert line.startswith(f"ALERT {kind} — New partnership: ") or line.startswith(f"ALERT {kind} — Partnership")
        assert f"· event {event_id} ·" in line
        shown = line.split("\u201c", 1)[1].split("\u201d", 1)[0]
        flat = " ".join(evidence.split())
        if len(flat) <= 160:
            assert shown == flat
        else:  # cut at 160 characters, the cut marked
            assert shown.endswith("…") and len(shown) <= 160 and flat.startswith(shown[:-1])


def test_a_notify_json_url_carries_the_alert_id_as_a_field_and_a_header(receiver):
    """`--notify json://…` (apprise): the receiver gets the alert id in the JSON body and in the
    X-Defwatch-Alert-Id header, not only inside the message text."""
    from flows.alerts.channels import Message, from_notify_url

    chan = from_notify_url(receiver.url("/hook", scheme="json"))
    chan.send(Message(alert_id="a1b2c3d4e5f60718", kind="partnership.new", title="New pact",
                      text="Japan and the Philippines signed. alert a1b2c3d4e5f60718"))
    [got] = receiver.received
    assert got.path == "/hook"
    assert got.headers["x-defwatch-alert-id"] == "a1b2c3d4e5f60718"
    body = got.json()
    assert body["alert_id"] == "a1b2c3d4e5f60718"
    assert (body["title"], body["message"]) == ("New pact", "Japan and the Philippines signed. alert a1b2c3d4e5f60718")


def test_a_link_to_a_local_server_is_called_a_demo_link():
    from flows.alerts.delivery import format_message

    row = {"alert_id": "a1", "event_id": "e1", "kind": "partnership.new", "type": "partnership",
           "parties": ["Japan", "Philippines"], "status": "signed", "date": "2025-07-08", "date_precision": "day",
           "location": None, "evidence": "Japan and the Philippines signed.", "confidence": 0.8,
           "mention_count": 2, "value": "signed", "old_value": None,
           "articles": [{"url": "http://127.0.0.1:40123/articles/a.html", "title": "Pact signed"},
                        {"url": "https://news.example/a", "title": "Pact signed (wire)"}]}
    lines = format_message(row).text.splitlines()
    assert lines[5:10] == [
        "Reported by 2 article(s):",
        "  - Pact signed",
        "    http://127.0.0.1:40123/articles/a.html (local demo link: it opens only while the server that served it runs)",
        "  - Pact signed (wire)",
        "    https://news.example/a",
    ]
