"""The analyst's judgement through real runs: an ingest (a Prefect flow, alerts to a webhook on
loopback), `defwatch judge` run as a user runs it (reject one event, correct another, merge two),
then a re-extraction that reads every article again and a second ingest bringing new reports: the
judged state holds everywhere, event_history has each judgement, and alerts go out as judged."""

from __future__ import annotations

import duckdb
import pytest

from tests.support.cli import defwatch
from tests.support.db import query_rows
from tests.support.receiver import Receiver

ARTICLES = {
    # path: (published, lead)
    "/a/talks": ("2025-05-20", "The European Union and Norway are negotiating a security and defence partnership, "
                               "diplomats said on Tuesday."),
    "/a/manila": ("2025-07-09", "Japan and the Philippines signed a reciprocal access agreement in Manila on 8 July 2025."),
    "/a/march": ("2025-04-01", "France and India signed a submarine agreement in March 2025."),
    "/a/delhi": ("2025-11-16", "France and India signed a submarine agreement in New Delhi on 15 November 2025."),
    # The second ingest: more outlets on the rejected and the corrected event.
    "/b/oslo": ("2025-06-03", "Norway and the European Union signed a security and defence partnership on Monday in Oslo."),
    "/b/oslo2": ("2025-06-04", "The EU and Norway inked a defence pact in Oslo on June 2."),
    "/b/manila": ("2025-07-10", "Japan and the Philippines signed a reciprocal access agreement in Manila on 8 July 2025."),
}
FILLER = ("Officials said the text had been agreed by negotiators last month and approved by ministers in both "
          "capitals, and that a separate energy dialogue would continue in the autumn as planned.")


def page(path: str) -> bytes:
    published, lead = ARTICLES[path]
    return (f'<html lang="en"><head><title>{path}</title>'
            f'<meta property="article:published_time" content="{published}T09:00:00Z"></head><body>'
            f"<article><h1>Report {path}</h1><p>{lead}</p><p>{FILLER}</p></article></body></html>").encode()


def rss(base: str, paths: list[str]) -> bytes:
    items = "".join(f"<item><title>{p}</title><link>{base}{p}</link></item>" for p in paths)
    return f'<rss version="2.0"><channel><title>t</title><link>{base}/</link>{items}</channel></rss>'.encode()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.stop()


def event_of(db, parties: list[str], date_like: str = "%") -> str:
    rows = query_rows(db, f"SELECT event_id FROM events WHERE parties = {parties!r}::VARCHAR[] "
                          f"AND coalesce(date, '') LIKE '{date_like}'")
    assert len(rows) == 1, rows
    return rows[0][0]


@pytest.mark.usefixtures("prefect_harness")
def test_judgements_hold_through_reextraction_and_new_reports(server, receiver, tmp_path, db_path, monkeypatch):
    from flows.ingest import ingest_flow
    from flows.reextract import reextract_flow

    for path in ARTICLES:
        server.route(path, body=page(path))
    server.route("/feeds/one", content_type="application/rss+xml",
                 body=rss(server.base_url, [p for p in ARTICLES if p.startswith("/a/")]))
    server.route("/feeds/two", content_type="application/rss+xml",
                 body=rss(server.base_url, [p for p in ARTICLES if p.startswith("/b/")]))
    feeds = tmp_path / "feeds.toml"
    feeds.write_text(f'[[feed]]\nname = "one"\nurl = "{server.url("/feeds/one")}"\ntrusted = true\n')
    config = tmp_path / "defwatch.toml"
    config.write_text(f'[[alerts.channels]]\nname = "ops"\ntype = "webhook"\nurl = "{receiver.url()}"\n'
                      f'[[alerts.rules]]\nname = "all"\ntypes = ["partnership"]\nchanges = ["new", "status"]\n'
                      f'channels = ["ops"]\n')
    monkeypatch.setenv("DEFWATCH_CONFIG", str(config))
    env = {"DEFWATCH_CONFIG": str(config)}

    first = ingest_flow(db=str(db_path), feeds_file=str(feeds), force=True, settings_overrides={"workers": 1})
    assert first["events_new"] == 4 and first["alerts_new"] == 4 and first["alerts_sent"] == 4
    talks = event_of(db_path, ["European Union", "Norway"])
    manila = event_of(db_path, ["Japan", "Philippines"])
    march, delhi = event_of(db_path, ["France", "India"], "2025-03"), event_of(db_path, ["France", "India"], "2025-11%")

    # The analyst judges, through the CLI, with short ids.
    db = ["--db", str(db_path)]
    out = defwatch("judge", talks[:6], "reject", "--by", "alice", "--note", "a rumour", *db, env=env)
    assert out.returncode == 0, out.stderr
    jid = query_rows(db_path, f"SELECT judgement_id FROM judgements WHERE event_id = '{talks}'")[0][0]
    assert out.stdout == (f"rejected {talks} (partnership: European Union, Norway), by alice (judgement {jid})\n")
    out = defwatch("judge", manila[:6], "correct", "--location", "Quezon City", "--by", "bob", *db, env=env)
    jid = query_rows(db_path, f"SELECT judgement_id FROM judgements WHERE event_id = '{manila}'")[0][0]
    assert out.stdout == (f"corrected {manila} (partnership: Japan, Philippines): location Manila -> Quezon City, "
                          f"by bob (judgement {jid}); correction notice queued for 1 channel(s)\n"), out.stderr
    out = defwatch("judge", march[:6], "merge", delhi[:6], "--by", "alice", *db, env=env)
    assert out.returncode == 0 and out.stdout.startswith(f"merged {march} (partnership: France, India) into {delhi}, by alice")
    out = defwatch("judge", delhi, "confirm", "--by", "alice", *db, env=env)
    assert out.returncode == 0 and out.stdout.startswith(f"confirmed {delhi} ")

    # A re-extraction that reads every article again (as after a rule change; the old rules had
    # read the Manila report without its place) and a second ingest with three more reports.
    with duckdb.connect(str(db_path)) as con:
        con.execute("UPDATE article_extractions SET ruleset_version = 'rules-old'")
        con.execute("UPDATE event_mentions SET ruleset_version = 'rules-old', location = NULL")
    totals = reextract_flow(db=str(db_path))
    assert totals["articles"] == 4 and totals["events_created"] == 0
    feeds.write_text(feeds.read_text() + f'[[feed]]\nname = "two"\nurl = "{server.url("/feeds/two")}"\ntrusted = true\n')
    second = ingest_flow(db=str(db_path), feeds_file=str(feeds), force=True, settings_overrides={"workers": 1})
    assert second["articles_new"] == 3 and second["events_new"] == 0

    # The judged state holds: the rejected event stays rejected and counts its new reports (the
    # signing advanced its status, which alerts nobody), the correction stands, the merge too.
    state = dict((r[0], r[1:]) for r in query_rows(
        db_path, "SELECT event_id, judgement, status, location, mention_count, merged_into FROM events"))
    assert state[talks] == ("rejected", "signed", "Oslo", 3, None)
    assert state[manila] == ("corrected", "signed", "Quezon City", 2, None)
    assert state[march] == ("merged", "signed", None, 1, delhi)
    assert state[delhi] == ("confirmed", "signed", "New Delhi", 1, None)
    shown = defwatch("events", "--format", "csv", *db, env=env).stdout.splitlines()
    assert [line.split(",")[0] for line in shown[1:]] == [delhi, manila]
    everything = defwatch("events", "--all", "--format", "csv", *db, env=env).stdout.splitlines()
    assert sorted(line.split(",")[0] for line in everything[1:]) == sorted([talks, manila, march, delhi])
    assert {line.split(",")[0]: line.rsplit(",", 1)[1] for line in everything[1:]}[talks] == "rejected"

    # event_history has each judgement as a change, with who made it in judgements.
    judged = query_rows(db_path, "SELECT h.event_id, h.change, h.old_value, h.new_value, j.kind, j.judged_by "
                                 "FROM event_history h JOIN judgements j USING (judgement_id) ORDER BY h.learned_at")
    assert judged == [(talks, "rejected", None, None, "reject", "alice"),
                      (manila, "location", "Manila", "Quezon City", "correct", "bob"),
                      (march, "merged", None, delhi, "merge", "alice"),
                      (delhi, "confirmed", None, None, "confirm", "alice")]
    # Later rows carry the judged state on (what --as-of reads).
    assert query_rows(db_path, f"SELECT DISTINCT judgement FROM event_history WHERE event_id = '{talks}' "
                               f"AND learned_at > (SELECT judged_at FROM judgements WHERE event_id = '{talks}')") == [("rejected",)]

    # Alerts: none for the rejected event after its rejection, one correction notice, none twice.
    kinds = query_rows(db_path, "SELECT event_id, kind FROM alerts ORDER BY created_at, kind")
    assert sorted(kinds) == sorted([(talks, "partnership.new"), (manila, "partnership.new"), (march, "partnership.new"),
                                    (delhi, "partnership.new"), (manila, "partnership.correction")])
    assert query_rows(db_path, "SELECT count(*) FROM alert_deliveries WHERE status <> 'sent'") == [(0,)]
    ids = [m.headers["x-defwatch-alert-id"] for m in receiver.received]
    assert len(ids) == len(set(ids)) == 5
    notice = [m.json() for m in receiver.received if m.json()["kind"] == "partnership.correction"]
    assert len(notice) == 1
    assert notice[0]["text"].splitlines()[0] == "Corrected by an analyst: location: Manila -> Quezon City"


def test_judge_while_an_ingest_writes(server, tmp_path):
    """`defwatch judge` from another process while an ingest is storing batches: it waits for the
    writer's hand-over, records the judgement, and the later batches' reports attach to the
    rejected event without undoing it."""
    import os
    import subprocess
    import sys
    import time

    from tests.conftest import REPO
    from tests.flows.test_eventlog_flow import build_site, registry

    db = tmp_path / "busy.duckdb"
    feeds = registry(tmp_path, server, build_site(server, n_feeds=4, per_feed=10, delay=0.25))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    env.update({"DEFWATCH_BATCH_SIZE": "4", "DEFWATCH_FETCH__PER_HOST": "2", "DEFWATCH_WORKERS": "1"})
    ingest = subprocess.Popen([sys.executable, "-m", "flows.cli", "ingest", "--db", str(db), "--feeds", str(feeds),
                               "--json"], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    judged = None
    try:
        while ingest.poll() is None and judged is None:
            time.sleep(0.3)
            if not db.exists():
                continue
            ids = subprocess.run([sys.executable, "-m", "flows.cli", "query", "--db", str(db), "--format", "csv",
                                  "select event_id, mention_count from events"], cwd=REPO, env=env,
                                 capture_output=True, text=True, timeout=120)
            rows = [line.split(",") for line in ids.stdout.splitlines()[1:]]
            if ids.returncode == 0 and rows:
                out = subprocess.run([sys.executable, "-m", "flows.cli", "judge", rows[0][0], "reject", "--by", "ann",
                                      "--db", str(db)], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
                assert out.returncode == 0, out.stderr
                judged = (rows[0][0], int(rows[0][1]))
    finally:
        stdout, stderr = ingest.communicate(timeout=300)
    assert ingest.returncode == 0, stderr[-3000:]
    assert judged is not None, "the ingest ended before an event could be judged"
    event_id, reports_then = judged
    final = query_rows(db, f"SELECT judgement, mention_count FROM events WHERE event_id = '{event_id}'")
    assert final[0][0] == "rejected"
    assert reports_then < 40 and final[0][1] == 40, (reports_then, final)  # judged mid-run; later reports attached
