"""`defwatch events` SQL and events_as_of(t): the faster forms (warehouse/query.py, migrations 004
and 005) return exactly the rows, in the order, of the plain forms they replaced (kept below as
references).

The data is generated to hit the cases the rewrites must get right: many ties on (date, first_seen)
so the event_id tiebreak decides the cut at LIMIT, undated events, year/month/day dates, retracted
events, several history rows per event (some learned at the same instant as 'created', some
retracting or restoring), and mentions extracted or retracted at various times.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest

from warehouse import db as wdb
from warehouse import query as wq
from warehouse.db import read_connection, schema_version, write_connection

T0 = datetime(2025, 1, 1, tzinfo=timezone.utc)
PARTIES = ["Canada", "European Union", "France", "Germany", "Japan", "Poland", "United Kingdom"]

# Migration 002's events_as_of, verbatim: the reference for 004's.
AS_OF_002 = """
CREATE TEMP MACRO events_as_of_002(t) AS TABLE
    WITH last AS (
        SELECT * FROM event_history WHERE learned_at <= t
        QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY learned_at DESC, change = 'created') = 1
    ),
    counts AS (
        SELECT event_id, count(*) AS mention_count FROM event_mentions
        WHERE extracted_at <= t AND (retracted_at IS NULL OR retracted_at > t) GROUP BY 1
    )
    SELECT e.event_id, e.type, e.parties, last.status, last.date, last.date_precision, last.location,
           coalesce(counts.mention_count, 0) AS mention_count, last.learned_at AS as_of_change
    FROM last JOIN events e USING (event_id) LEFT JOIN counts USING (event_id)
    WHERE NOT last.retracted;
"""


def reference_events_sql(type_=None, parties=(), status=None, since=None, until=None, as_of=None, limit=100,
                         columns=wq.EVENT_LIST_COLUMNS):
    """events_sql as it was before the rewrite: one ORDER BY … LIMIT over the filtered rows."""
    where, params = [], []
    if as_of:
        # (e.judgement: nothing is judged in these logs, so the judged state then is the current one.)
        source = ("(SELECT a.*, e.evidence, e.confidence, e.first_seen, e.date_start, e.date_end, e.judgement "
                  "FROM events_as_of_002(CAST(? AS TIMESTAMPTZ)) a JOIN events e USING (event_id))")
        params.append(as_of)
        date_start = "(CASE length(date) WHEN 4 THEN date || '-01-01' WHEN 7 THEN date || '-01' ELSE date END)::DATE"
        date_end = ("(CASE length(date) WHEN 4 THEN date || '-12-31' WHEN 7 THEN last_day((date || '-01')::DATE)::VARCHAR "
                    "ELSE date END)::DATE")
    else:
        source = "events"
        where.append("retracted_at IS NULL")
        date_start, date_end = "date_start", "date_end"
    if type_:
        where.append("type = ?")
        params.append(type_)
    for p in parties:
        where.append("list_contains(parties, ?)")
        params.append(p)
    if status:
        where.append("status = ?")
        params.append(status)
    if since:
        where.append(f"{date_end} >= CAST(? AS DATE)")
        params.append(since)
    if until:
        where.append(f"{date_start} <= CAST(? AS DATE)")
        params.append(until)
    sql = f"SELECT {', '.join(columns)} FROM {source}"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += f" ORDER BY {date_end} DESC NULLS LAST, first_seen DESC, event_id"
    if limit:
        sql += f" LIMIT {int(limit)}"
    return sql, params


def _date(rng: random.Random) -> str | None:
    # Few distinct dates, so that many events tie on date_end.
    day = datetime(2024, 1, 1) + timedelta(days=rng.randrange(0, 500, 25))
    return rng.choice([None, day.strftime("%Y"), day.strftime("%Y-%m"), day.strftime("%Y-%m-%d"),
                       day.strftime("%Y-%m-%d")])


def _range(d: str | None):
    if d is None:
        return None, None
    if len(d) == 4:
        return f"{d}-01-01", f"{d}-12-31"
    if len(d) == 7:
        start = datetime.strptime(d + "-01", "%Y-%m-%d")
        nxt = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
        return start.date().isoformat(), (nxt - timedelta(days=1)).date().isoformat()
    return d, d


def populate(con, n: int = 600, seed: int = 7) -> None:
    rng = random.Random(seed)
    events, history, mentions = [], [], []
    batches = [T0 + timedelta(days=i) for i in range(12)]  # one learned_at per batch: many ties on first_seen
    for i in range(n):
        type_ = rng.choice(["partnership", "summit"])
        parties = sorted(rng.sample(PARTIES, rng.choice([2, 2, 3])))
        seen = rng.choice(batches)
        states = []  # (learned_at, change, status, date, location, retracted)
        status, date = rng.choice(["planned", "signed", "held", None]), _date(rng)
        states.append((seen, "created", status, date, rng.choice(["Paris", None]), False))
        t = seen
        for _ in range(rng.choice([0, 0, 1, 2, 3])):
            t = t + timedelta(days=rng.choice([0, 1, 3]))  # 0: the same instant as the previous row
            change = rng.choice(["status", "date", "location", "retracted", "restored"])
            status = rng.choice(["planned", "signed", "held", "cancelled"]) if change == "status" else status
            date = _date(rng) if change == "date" else date
            retracted = change == "retracted"
            if t == states[-1][0]:  # rows learned together carry the same state (one write)
                states = [(s[0], s[1], status, date, states[-1][4], retracted) if s[0] == t else s for s in states]
            states.append((t, change, status, date, states[-1][4], retracted))
        last = states[-1]
        start, end = _range(last[3])
        eid = f"{i:04x}{rng.getrandbits(32):08x}"
        events.append((eid, type_, parties, "|".join(parties), last[2], last[3],
                       {4: "year", 7: "month", 10: "day"}.get(len(last[3] or "")), start, end, last[4],
                       f"evidence {i}", rng.random(), rng.randint(1, 3), seen, seen, states[-1][0],
                       states[-1][0] if last[5] else None, states[-1][0]))
        for s in states:
            history.append((eid, s[0], s[1], s[2], s[3], s[4], s[5]))
        for j in range(rng.randint(0, 3)):
            extracted = seen + timedelta(days=rng.choice([0, 1, 5]))
            retracted = extracted + timedelta(days=rng.choice([1, 4])) if rng.random() < 0.3 else None
            mentions.append((eid, f"a{i}-{j}", extracted, retracted))
    con.executemany("INSERT INTO events (event_id, type, parties, parties_key, status, date, date_precision, "
                    "date_start, date_end, location, evidence, confidence, mention_count, first_seen, last_seen, "
                    "updated_at, retracted_at, first_reported) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                    "?, ?, ?)", events)
    con.executemany("INSERT INTO event_history (event_id, learned_at, change, status, date, location, retracted, "
                    "cause) VALUES (?, ?, ?, ?, ?, ?, ?, 'ingest')", history)
    con.executemany("INSERT INTO event_mentions (event_id, article_id, evidence, ruleset_version, extracted_at, "
                    "retracted_at) VALUES (?, ?, 'x', 'v1', ?, ?)", mentions)


def migrated_after_populate(path, n: int = 600) -> None:
    """populate() writes history rows as schema 004 had them; migration 005 then derives their
    validity, date range and identity columns, as it does for a user's existing database."""
    import duckdb

    all_migrations = wdb._migrations()
    con = duckdb.connect(str(path))
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(wdb, "_migrations", lambda: [m for m in all_migrations if m[0] <= 4])
            wdb.migrate(con)
        assert schema_version(con) == 4
        populate(con, n=n)
        wdb.migrate(con)
        assert schema_version(con) == wdb.SCHEMA_VERSION >= 5
    finally:
        con.close()


@pytest.fixture(scope="module")
def log_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("events") / "events.duckdb"
    migrated_after_populate(path)
    return path


CASES = [
    dict(),
    dict(type_="partnership"),
    dict(parties=["France"]),
    dict(parties=["France", "Japan"], type_="summit"),
    dict(parties=["Nowhere"]),
    dict(status="signed"),
    dict(since="2024-06-01"),
    dict(until="2024-03-31"),
    dict(since="2024-03-01", until="2024-09-30", type_="partnership"),
]
AS_OFS = [None, "2024-12-31", "2025-01-03", "2025-01-06 12:00", "2025-01-09", "2026-01-01"]


@pytest.mark.parametrize("limit", [1, 100, None])
@pytest.mark.parametrize("as_of", AS_OFS)
def test_events_sql_returns_what_the_plain_query_returned(log_db, as_of, limit):
    checked = 0
    with read_connection(log_db) as con:  # the connection `defwatch events` uses, with its settings
        con.execute(AS_OF_002)
        for kw in CASES:
            for columns in (wq.EVENT_LIST_COLUMNS, wq.EVENT_TABLE_COLUMNS):
                want = con.execute(*reference_events_sql(as_of=as_of, limit=limit, columns=columns, **kw)).fetchall()
                got = con.execute(*wq.events_sql(as_of=as_of, limit=limit, columns=columns, **kw)).fetchall()
                assert got == want, (kw, columns)
                checked += len(want)
    # Before T0 nothing was known yet; at every other time some rows are.
    assert (checked == 0) if as_of == "2024-12-31" else (checked > 0)


def test_ties_at_the_limit_are_cut_by_event_id(log_db):
    """The data ties at the cut (else the test above would not exercise the tie step), and the
    first rows are those of a sort in Python."""
    with read_connection(log_db) as con:
        ties = con.execute("SELECT max(n) FROM (SELECT count(*) AS n FROM events WHERE retracted_at IS NULL "
                           "GROUP BY date_end, first_seen)").fetchone()[0]
        live = con.execute("SELECT date_end, first_seen, event_id FROM events WHERE retracted_at IS NULL").fetchall()
        rows = con.execute(*wq.events_sql(limit=7, columns=("date_end", "first_seen", "event_id"))).fetchall()
    assert ties >= 10
    dated = sorted((r for r in live if r[0] is not None), key=lambda r: (-r[0].toordinal(), -r[1].timestamp(), r[2]))
    undated = sorted((r for r in live if r[0] is None), key=lambda r: (-r[1].timestamp(), r[2]))
    assert rows == (dated + undated)[:7]


@pytest.mark.parametrize("as_of", AS_OFS[2:])
def test_events_as_of_macro_matches_migration_002(log_db, as_of):
    with write_connection(log_db) as con:
        con.execute(AS_OF_002)
        want = con.execute("SELECT * FROM events_as_of_002(CAST(? AS TIMESTAMPTZ)) ORDER BY event_id", [as_of]).fetchall()
        got = con.execute("SELECT * FROM events_as_of(CAST(? AS TIMESTAMPTZ)) ORDER BY event_id", [as_of]).fetchall()
    assert got == want and len(want) > 0


def test_migration_004_applies_to_a_version_3_database(tmp_path, monkeypatch):
    import duckdb

    path = tmp_path / "v3.duckdb"
    all_migrations = wdb._migrations()
    con = duckdb.connect(str(path))
    try:
        monkeypatch.setattr(wdb, "_migrations", lambda: [m for m in all_migrations if m[0] <= 3])
        assert wdb.migrate(con) and schema_version(con) == 3
        populate(con, n=50)
        con.execute(AS_OF_002)
        want = con.execute("SELECT * FROM events_as_of(TIMESTAMPTZ '2025-01-06') ORDER BY event_id").fetchall()
        monkeypatch.setattr(wdb, "_migrations", lambda: all_migrations)
        wdb.migrate(con)
        assert schema_version(con) == wdb.SCHEMA_VERSION >= 4
        got = con.execute("SELECT * FROM events_as_of(TIMESTAMPTZ '2025-01-06') ORDER BY event_id").fetchall()
    finally:
        con.close()
    assert got == want and len(want) > 0


def test_each_event_has_one_state_at_any_time_after_migration_005(log_db):
    """superseded_at as 005 derived it: an event known at t has exactly one history row that holds
    at t, and it is the row 002's window ranked first."""
    with read_connection(log_db) as con:
        for t in ("2025-01-01", "2025-01-03 00:00", "2025-01-06 12:00", "2025-01-20"):
            counts = con.execute(
                "SELECT count(*) FROM event_history WHERE learned_at <= CAST(? AS TIMESTAMPTZ) "
                "AND (superseded_at IS NULL OR superseded_at > CAST(? AS TIMESTAMPTZ)) GROUP BY event_id "
                "HAVING count(*) <> 1", [t, t]).fetchall()
            assert counts == []
        assert con.execute("SELECT count(*) FROM event_history WHERE type IS NULL OR parties_key IS NULL "
                           "OR (date IS NOT NULL AND date_end IS NULL)").fetchone() == (0,)
