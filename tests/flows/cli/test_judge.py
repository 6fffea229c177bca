"""`defwatch review` and `defwatch judge` on a real event log: what the analyst sees and types, the
one-line errors for bad input, and the judged state in events, --as-of, the digest and the report."""

from __future__ import annotations

from datetime import datetime, timezone

from tests.support.cli import defwatch
from tests.support.db import query_rows
from tests.support.eventlog import demo_log

# The demo log's events (ids are stable: a hash of type, parties and date).
CHAD = "3f75003c382c5e4b"        # France and Chad end defence cooperation (2024-11-28)
CANADA = "f8c1434e54df2bc2"      # Canada and the EU sign in Brussels
POLAND = "906c360f5f943a04"
PHILIPPINES = "baca91793c11e11a"
NATO = "7535b7435b6ffada"


def _log(tmp_path):
    db = tmp_path / "log.duckdb"
    demo_log(db)
    return db, ["--db", str(db)]


def _jid(db, event_id):
    return query_rows(db, f"SELECT judgement_id FROM judgements WHERE event_id = '{event_id}' "
                          "ORDER BY judged_at DESC LIMIT 1")[0][0]


def test_review_lists_unjudged_events_newest_first_with_their_evidence(tmp_path):
    db, at = _log(tmp_path)
    out = defwatch("review", "--limit", "2", *at)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        "df074e6c  partnership  Australia, Indonesia  signed  2025-06-28  Canberra  (1 report)",
        "    \u201cAustralia and Indonesia signed a defence cooperation treaty in Canberra.\u201d",
        "    https://news.example/a08",
        "3f75003c  partnership  Chad, France  cancelled  2024-11-28  (1 report)",
        "    \u201cChad ended its defence cooperation agreement with France.\u201d",
        "    https://news.example/a05",
        "7 events to review (2 shown: --limit 0 shows all). Judge one: defwatch judge ID confirm | reject | "
        "correct --status … | merge OTHER_ID",
    ]
    assert defwatch("judge", "df07", "confirm", "--by", "ann", *at).returncode == 0
    after = defwatch("review", "--limit", "1", *at).stdout.splitlines()
    assert after[0].startswith("3f75003c  partnership  Chad, France")
    assert after[-1].startswith("6 events to review (1 shown")


def test_judge_records_who_when_why_and_says_what_it_did(tmp_path):
    db, at = _log(tmp_path)
    out = defwatch("judge", "3f75", "reject", "--by", "alice", "--note", "old news, not a new event", *at)
    assert out.returncode == 0, out.stderr
    assert out.stdout == f"rejected {CHAD} (partnership: Chad, France), by alice (judgement {_jid(db, CHAD)})\n"
    out = defwatch("judge", "f8c1", "correct", "--status", "planned", "--location", "Ottawa", "--by", "bob", *at)
    assert out.stdout == (f"corrected {CANADA} (partnership: Canada, European Union): status signed -> planned; "
                          f"location Brussels -> Ottawa, by bob (judgement {_jid(db, CANADA)})\n")
    out = defwatch("judge", "906c", "merge", "baca", "--by", "alice", *at)
    assert out.stdout == (f"merged {POLAND} (partnership: Poland, South Korea) into {PHILIPPINES}, by alice "
                          f"(judgement {_jid(db, POLAND)})\n")
    out = defwatch("judge", "7535", "correct", "--parties", "NATO, Turkey", "--by", "bob", *at)
    assert out.stdout == (f"corrected {NATO} (summit: NATO, Turkey): parties NATO -> NATO, Turkey, by bob "
                          f"(judgement {_jid(db, NATO)})\n")

    rows = query_rows(db, "SELECT event_id, kind, fields, other_event_id, judged_by, note, judged_at FROM judgements "
                          "ORDER BY judged_at")
    assert [r[:6] for r in rows] == [
        (CHAD, "reject", None, None, "alice", "old news, not a new event"),
        (CANADA, "correct", '{"status": ["signed", "planned"], "location": ["Brussels", "Ottawa"]}', None, "bob", None),
        (POLAND, "merge", None, PHILIPPINES, "alice", None),
        (NATO, "correct", '{"parties": [["NATO"], ["NATO", "Turkey"]]}', None, "bob", None),
    ]
    assert all((datetime.now(timezone.utc) - r[6]).total_seconds() < 300 for r in rows)
    history = query_rows(db, "SELECT event_id, change, old_value, new_value, status, location, judgement, cause "
                             "FROM event_history WHERE cause = 'judgement' ORDER BY learned_at, change")
    assert history == [
        (CHAD, "rejected", None, None, "cancelled", None, "rejected", "judgement"),
        (CANADA, "location", "Brussels", "Ottawa", "planned", "Ottawa", "corrected", "judgement"),
        (CANADA, "status", "signed", "planned", "planned", "Ottawa", "corrected", "judgement"),
        (POLAND, "merged", None, PHILIPPINES, "negotiating", None, "merged", "judgement"),
        (NATO, "parties", "NATO", "NATO, Turkey", "planned", "Ankara", "corrected", "judgement"),
    ]
    # A judgement is appended, never updated: confirming the rejected event brings it back.
    defwatch("judge", CHAD, "confirm", "--by", "carol", *at)
    assert query_rows(db, f"SELECT kind, judged_by FROM judgements WHERE event_id = '{CHAD}' ORDER BY judged_at") == [
        ("reject", "alice"), ("confirm", "carol")]
    assert query_rows(db, f"SELECT judgement FROM events WHERE event_id = '{CHAD}'") == [("confirmed",)]
    listed = defwatch("judgements", "list", "--format", "csv", *at).stdout.splitlines()
    assert [line.split(",", 1)[1] for line in listed] == [
        "id,kind,what,by,note",
        '3f75003c,reject,,alice,"old news, not a new event"',
        "f8c1434e,correct,status signed -> planned; location Brussels -> Ottawa,bob,",
        "906c360f,merge,into baca9179,alice,",
        "7535b743,correct,\"parties NATO -> NATO, Turkey\",bob,",
        "3f75003c,confirm,,carol,",
    ]


def test_bad_event_ids_and_judgements_get_one_line_and_exit_2(tmp_path):
    db, at = _log(tmp_path)
    cases = [
        (("judge", "9", "confirm"), "error: event id '9' is ambiguous: 2 events have ids starting with it "
                                    "(901dd417409d4e94, 906c360f5f943a04); give more of the id."),
        (("judge", "0000", "confirm"), "error: no event has an id starting with '0000': `defwatch review` and "
                                       "`defwatch events --all` list the ids."),
        (("judge", "zz", "reject"), "error: 'zz' is not an event id: ids are hex digits, e.g. 3f01a2b4 "
                                    "(`defwatch review` and `defwatch events --all` list them)."),
        (("judge", "df07", "approve"), "error: unknown judgement 'approve': use confirm, reject, correct or merge."),
        (("judge", "df07", "correct"), "error: correct needs at least one of --status, --date, --location, "
                                       "--parties, --type."),
        (("judge", "df07", "correct", "--status", "signed"),
         "error: nothing to correct: event df074e6c24bbb6f3 already has status signed."),
        (("judge", "df07", "correct", "--date", "June 2025"), "error: --date 'June 2025': use YYYY, YYYY-MM or YYYY-MM-DD."),
        (("judge", "df07", "correct", "--type", "treaty"), "error: --type 'treaty': use partnership or summit."),
        (("judge", "df07", "merge"), "error: merge needs the id of the event this one is the same as: "
                                     "`defwatch judge EVENT_ID merge OTHER_ID`."),
        (("judge", "df07", "merge", "df074e"), "error: an event cannot be merged with itself (df074e6c24bbb6f3)."),
        (("judge", "df07", "reject", "baca"), "error: reject takes no second event id ('baca'); only merge does."),
        (("judge", "df07", "reject", "--status", "signed"),
         "error: --status, --date, --location, --parties and --type go with correct, not reject."),
    ]
    for args, message in cases:
        out = defwatch(*args, "--by", "ann", *at)
        assert (out.returncode, out.stdout, out.stderr) == (2, "", message + "\n"), args
    assert query_rows(db, "SELECT count(*) FROM judgements") == [(0,)]
    missing = tmp_path / "missing.duckdb"
    out = defwatch("judge", "df07", "confirm", "--db", str(missing))
    assert (out.returncode, out.stderr) == (2, f"error: No database at {missing}. Run `defwatch demo` or `defwatch "
                                               f"ingest` first, or point --db / DEFWATCH_DB at an existing file.\n")
    assert not missing.exists()


def test_events_as_of_digest_and_report_show_the_judged_state(tmp_path):
    db, at = _log(tmp_path)
    defwatch("judge", CHAD[:5], "reject", "--by", "alice", *at)
    defwatch("judge", CANADA[:5], "correct", "--location", "Ottawa", "--by", "bob", *at)

    def ids(*args):
        out = defwatch("events", "--format", "csv", "--limit", "0", *args, *at)
        assert out.returncode == 0, out.stderr
        return {line.split(",")[0]: line.rsplit(",", 1)[1] for line in out.stdout.splitlines()[1:]}

    shown = ids()
    assert CHAD not in shown and shown[CANADA] == "corrected" and len(shown) == 6
    assert ids("--all")[CHAD] == "rejected"
    # As known before the judgements (the log was learned in 2025): as the extractor had it.
    then = ids("--as-of", "2026-01-01")
    assert then[CHAD] == "" and then[CANADA] == "" and len(then) == 7
    canada_then = defwatch("events", "--as-of", "2026-01-01", "--party", "Canada", "--format", "json", *at).stdout
    assert '"location": "Brussels"' in canada_then
    now = ids("--as-of", "2099-01-01")
    assert CHAD not in now and now[CANADA] == "corrected"
    assert '"location": "Ottawa"' in defwatch("events", "--as-of", "2099-01-01", "--party", "Canada",
                                              "--format", "json", *at).stdout
    assert ids("--as-of", "2099-01-01", "--all")[CHAD] == "rejected"

    digest = defwatch("digest", "--since", "1h", *at)
    assert digest.returncode == 0, digest.stderr
    lines = digest.stdout.splitlines()
    assert ("- **partnership: Canada, European Union — signed, 2025-06-23, Ottawa (location Brussels → Ottawa, "
            "corrected by an analyst) [1 reports]**") in lines
    assert lines[lines.index("## Rejected or merged by an analyst") + 2] == (
        "- **partnership: Chad, France — cancelled, 2024-11-28 (rejected by an analyst) [1 reports]**")

    page = tmp_path / "report.html"
    out = defwatch("report", "--since", "520w", "--out", str(page), *at)
    assert out.returncode == 0, out.stderr
    html = page.read_text()
    assert f'data-event-id="{CHAD}"' not in html
    row = html[html.index(f'data-event-id="{CANADA}"'):]
    row = row[:row.index("</tr>")]
    assert '<span class="tag judged" title="judged by an analyst">corrected</span>' in row


def test_judgements_export_gold_round_trips_through_eval(tmp_path):
    import json

    db, at = _log(tmp_path)
    defwatch("judge", CHAD[:5], "reject", "--by", "alice", *at)
    defwatch("judge", CANADA[:5], "correct", "--location", "Ottawa", "--by", "bob", *at)
    defwatch("judge", NATO[:5], "confirm", "--by", "bob", *at)
    gold = tmp_path / "judged.jsonl"
    out = defwatch("judgements", "export", "--gold", str(gold), *at)
    assert (out.returncode, out.stdout) == (0, f"wrote 3 judged articles to {gold}\n"), out.stderr
    docs = [json.loads(line) for line in gold.read_text().splitlines()]
    assert [(d["id"], d["text"], [(e["type"], e["parties"], e["status"], e["date"], e["location"]) for e in d["events"]])
            for d in docs] == [
        ("a01", "Canada and the EU sign security and defence partnership",
         [("partnership", ["Canada", "European Union"], "signed", "2025-06-23", "Ottawa")]),
        ("a04", "NATO leaders to meet in Ankara", [("summit", ["NATO"], "planned", "2026-07-07", "Ankara")]),
        ("a05", "France and Chad end defence cooperation", []),  # rejected: a negative
    ]
    scored = defwatch("eval", str(gold))
    assert scored.returncode == 0, scored.stderr
    table = scored.stdout.splitlines()[2:4]
    judged = defwatch("eval", "--judged", *at)
    assert judged.returncode == 0, judged.stderr
    assert judged.stdout.splitlines()[2:4] == table
    # 3 documents, 2 gold events: the titles' NATO summit is found (its date not: the title has
    # none), the Canada pact is not; nothing is found in the rejected one (no false positive).
    assert table == ["             docs gold     P     R    F1 partF1 summF1 status  date place",
                     "all             3    2 1.000 0.500 0.667  0.000  1.000  1.000 0.000 1.000"]
    from warehouse.db import write_connection

    with write_connection(tmp_path / "empty.duckdb"):
        pass  # an event log with nothing judged
    nothing = defwatch("eval", "--judged", "--db", str(tmp_path / "empty.duckdb"))
    assert (nothing.returncode, nothing.stderr) == (1, f"error: {tmp_path / 'empty.duckdb'} has no judged article yet: "
                                                       "judge its events with `defwatch review` and `defwatch judge` first.\n")
