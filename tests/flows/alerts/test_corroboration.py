"""Alerts that wait for corroboration, through real ingest runs and a webhook on loopback: with
min_feeds = 2 a pact reported by one feed alerts only when a second independent feed reports it (a
syndicated copy does not count); when the window passes it goes out as uncorroborated, or is
recorded as dropped, as the rule says; an official feed's report alerts at once."""

from __future__ import annotations

import duckdb
import pytest

from tests.support.db import query_rows
from tests.support.receiver import Receiver

LEADS = {
    "/one/oslo": ("2025-06-03", "Norway and the European Union signed a security and defence partnership on Monday in Oslo."),
    "/one/manila": ("2025-07-09", "Japan and the Philippines signed a reciprocal access agreement in Manila on 8 July 2025."),
    "/one/santiago": ("2025-06-04", "Chile and Brazil signed a defence cooperation agreement in Santiago on 3 June 2025."),
    "/gov/delhi": ("2025-11-16", "France and India signed a submarine agreement in New Delhi on 15 November 2025."),
    "/two/oslo": ("2025-06-04", "The EU and Norway inked a defence pact in Oslo on June 2."),
}
FILLER = ("Officials said the text had been agreed by negotiators last month and approved by ministers in both "
          "capitals, and that a separate energy dialogue would continue in the autumn as planned.")


def page(path: str) -> bytes:
    published, lead = LEADS[path]
    return (f'<html lang="en"><head><title>{path}</title>'
            f'<meta property="article:published_time" content="{published}T09:00:00Z"></head><body>'
            f"<article><h1>Report</h1><p>{lead}</p><p>{FILLER}</p></article></body></html>").encode()


def rss(base: str, paths: list[str]) -> bytes:
    items = "".join(f"<item><title>{p}</title><link>{base}{p}</link></item>" for p in paths)
    return f'<rss version="2.0"><channel><title>t</title><link>{base}/</link>{items}</channel></rss>'.encode()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.stop()


def deliveries(db) -> dict[tuple[str, ...], tuple]:
    rows = query_rows(db, "SELECT e.parties, d.status, h.outcome, h.feeds, d.last_error FROM alert_deliveries d "
                          "JOIN alerts a USING (alert_id) JOIN events e USING (event_id) "
                          "LEFT JOIN alert_holds h USING (alert_id)")
    return {tuple(r[0]): r[1:] for r in rows}


@pytest.mark.usefixtures("prefect_harness")
def test_alerts_wait_for_a_second_independent_outlet(server, receiver, tmp_path, db_path, monkeypatch):
    from flows.ingest import ingest_flow

    for path in LEADS:
        server.route(path, body=page(path))
    server.route("/syn/oslo-copy", body=page("/one/oslo"))  # the same text on another site: a syndicated copy
    server.route("/feeds/one", content_type="application/rss+xml",
                 body=rss(server.base_url, ["/one/oslo", "/one/manila", "/one/santiago"]))
    server.route("/feeds/syn", content_type="application/rss+xml", body=rss(server.base_url, ["/syn/oslo-copy"]))
    server.route("/feeds/gov", content_type="application/rss+xml", body=rss(server.base_url, ["/gov/delhi"]))
    server.route("/feeds/two", content_type="application/rss+xml", body=rss(server.base_url, ["/two/oslo"]))
    feeds = tmp_path / "feeds.toml"

    def registry(*names: str) -> str:
        tags = {"gov": 'tags = ["official"]\n'}
        feeds.write_text("".join(f'[[feed]]\nname = "{n}"\nurl = "{server.url("/feeds/" + n)}"\ntrusted = true\n'
                                 f'{tags.get(n, "")}\n' for n in names))
        return str(feeds)

    config = tmp_path / "defwatch.toml"
    config.write_text(
        f'[[alerts.channels]]\nname = "ops"\ntype = "webhook"\nurl = "{receiver.url()}"\n'
        f'[[alerts.rules]]\nname = "pacts"\ntypes = ["partnership"]\nmin_feeds = 2\nhold_hours = 24\n'
        f'channels = ["ops"]\n'
        f'[[alerts.rules]]\nname = "chile"\ntypes = ["partnership"]\nparties = ["Chile"]\nmin_feeds = 2\n'
        f'hold_hours = 12\non_timeout = "drop"\nchannels = ["ops"]\n')
    monkeypatch.setenv("DEFWATCH_CONFIG", str(config))

    def run(*names: str) -> dict:
        return ingest_flow(db=str(db_path), feeds_file=registry(*names), force=True, settings_overrides={"workers": 1})

    # 1. One outlet (and a syndicated copy of it) report the Oslo pact; an official feed the Delhi one.
    first = run("one", "syn", "gov")
    assert first["alerts_new"] == 4
    assert query_rows(db_path, "SELECT count(*) FROM articles WHERE duplicate_of IS NOT NULL") == [(1,)]
    assert deliveries(db_path) == {
        ("European Union", "Norway"): ("held", None, None, None),
        ("Japan", "Philippines"): ("held", None, None, None),
        ("Brazil", "Chile"): ("held", None, None, None),
        ("France", "India"): ("sent", "official", 1, None),
    }
    assert [m.json()["text"].splitlines()[0] for m in receiver.received] == ["Reported by an official source."]

    # 2. A second, independent outlet reports the Oslo pact: its alert goes out, once.
    second = run("one", "syn", "gov", "two")
    assert second["articles_new"] == 1
    assert deliveries(db_path)[("European Union", "Norway")] == ("sent", "corroborated", 2, None)
    assert receiver.received[-1].json()["text"].splitlines()[0] == "Corroborated: reported by 2 independent outlet(s)."
    assert len(receiver.received) == 2

    # 3. The windows pass: Manila goes out saying it is uncorroborated; Santiago's rule drops it,
    #    and the drop is recorded.
    with duckdb.connect(str(db_path)) as con:
        con.execute("UPDATE alert_holds SET hold_until = held_at, held_at = held_at - INTERVAL 24 HOUR "
                    "WHERE released_at IS NULL")
    run("one", "syn", "gov", "two")
    got = deliveries(db_path)
    assert got[("Japan", "Philippines")] == ("sent", "uncorroborated", 1, None)
    assert got[("Brazil", "Chile")] == ("dropped", "dropped", 1,
                                        "uncorroborated when its window closed: 1 report(s) from 1 outlet(s)")
    assert receiver.received[-1].json()["text"].splitlines()[0] == (
        "Uncorroborated: only 1 outlet(s) report it after waiting 24 h.")
    assert len(receiver.received) == 3
    # Nothing twice, nothing more on a later run.
    run("one", "syn", "gov", "two")
    ids = [m.headers["x-defwatch-alert-id"] for m in receiver.received]
    assert len(ids) == len(set(ids)) == 3


def test_a_correction_notice_goes_out_once_even_when_its_delivery_is_killed(receiver, tmp_path):
    """The notice goes through the outbox like any alert: a kill after the channel took it and
    before it was marked sent repeats that one message (same alert id), and never more."""
    from tests.support.cli import defwatch, defwatch_killable

    db, hook = tmp_path / "k.duckdb", receiver.url("/hook", scheme="json")
    config = tmp_path / "only-notify.toml"
    config.write_text('[[alerts.rules]]\nname = "partnerships"\ntypes = ["partnership"]\nchannels = []\n')
    env = {"DEFWATCH_CONFIG": str(config)}
    first = defwatch("demo", "--db", str(db), "--json", "--notify", hook, env=env)
    assert first.returncode == 0, first.stderr[-3000:]
    sent = len(receiver.received)
    corrected, rejected = [r[0] for r in query_rows(db, "SELECT event_id FROM alerts WHERE kind = 'partnership.new' "
                                                        "ORDER BY event_id LIMIT 2")]
    out = defwatch("judge", corrected, "correct", "--location", "Atlantis", "--by", "ann", "--db", str(db), env=env)
    assert out.stdout.endswith("; correction notice queued for 1 channel(s)\n"), out.stderr
    out = defwatch("judge", rejected, "reject", "--by", "ann", "--db", str(db), env=env)
    assert out.returncode == 0 and "withdrawn" not in out.stdout  # its alert had gone out already

    rc, stderr = defwatch_killable("alerts", "retry", "--db", str(db), "--notify", hook, tmp_path=tmp_path,
                                   env={**env, "DEFWATCH_KILL_AT": "after-send", "DEFWATCH_KILL_AFTER": "0"})
    assert rc == -9, stderr[-2000:]
    assert len(receiver.received) == sent + 1
    again = defwatch("alerts", "retry", "--db", str(db), "--notify", hook, env=env)
    assert again.stdout.splitlines()[0].startswith("1 delivered, 0 failed"), again.stderr
    third = defwatch("alerts", "retry", "--db", str(db), "--notify", hook, env=env)
    assert third.stdout.splitlines()[0].startswith("0 delivered, 0 failed"), third.stderr
    notices = [m.json()["message"] for m in receiver.received[sent:]]
    assert len(notices) == 2 and notices[0] == notices[1]  # the one repeat, deduplicable by its alert id
    assert notices[0].splitlines()[0].startswith("Corrected by an analyst: location: ")
    assert query_rows(db, "SELECT kind, count(*) FROM alerts WHERE kind LIKE '%.correction' GROUP BY 1") == [
        ("partnership.correction", 1)]
    assert query_rows(db, "SELECT count(*) FROM alert_deliveries WHERE status <> 'sent'") == [(0,)]
