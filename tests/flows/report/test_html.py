"""The analyst report, rendered from a real event log and opened in headless Chromium.

The databases are written through the project's own write path (``apply_extractions`` and
``bulk_insert``); the page is loaded from disk by Debian's Chromium, which reports its console
messages and every request it makes. Hostile feed content comes from our own attacks and from the
feedparser sanitizer corpus in ``../shared`` (parsed with sanitizing off, so the raw markup stays).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from flows.errors import DefwatchError
from flows.periods import parse_period
from flows.report.html import check_svg, network_spec, render_report, render_svg, safe_url
from tests.conftest import REPO
from tests.support.browser import Browser, BrowserUnavailable
from tests.support.eventlog import DEMO_EVENTS, DEMO_PARTIES, NOW, T0, article, demo_log, ev, write_log
from warehouse.db import WarehouseError, write_connection
from warehouse.eventlog import ArticleExtraction

SANITIZE = REPO.parent / "shared" / "feed-corpus" / "feedparser" / "wellformed" / "sanitize"


# -- browser ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def browser():
    try:
        b = Browser()
    except BrowserUnavailable as exc:
        pytest.skip(f"headless Chromium unavailable: {exc}")
    yield b
    b.close()


def only_the_file(load) -> None:
    assert load.requests, "the browser logged no request at all: the network log is not working"
    assert set(load.requests) == {load.url}, f"requests outside the file: {set(load.requests) - {load.url}}"


# -- safety units -------------------------------------------------------------------------------------

@pytest.mark.parametrize("url, ok", [
    ("https://example.com/a?b=1", True), ("http://example.com", True), ("HTTPS://EXAMPLE.COM/", True),
    ("javascript:alert(1)", False), ("JaVaScRiPt:alert(1)", False), (" javascript:alert(1)", False),
    ("java\tscript:alert(1)", False), ("data:text/html,<script>alert(1)</script>", False),
    ("vbscript:msgbox(1)", False), ("//evil.example/x", False), ("/relative", False), ("ftp://x/y", False),
    ("http://user:pw@evil.example/", False), ("https://ex ample.com", False), (None, False), ("", False),
    ("http:\\\\evil.example", False),
])
def test_only_http_links_are_links(url, ok):
    assert (safe_url(url) is not None) is ok


def test_chart_labels_are_escaped_in_the_svg():
    evil = '<script>alert(1)</script><img src=x onerror=alert(2)>'
    spec = network_spec([{"event_id": "e1", "type": "partnership", "parties": [evil, "Japan"], "status": "signed",
                          "date_start": None, "mention_count": 1}])
    svg = render_svg(spec, "t")
    assert "<script" not in svg and "<img" not in svg
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;" in svg


def test_network_size_legend_ends_at_the_largest_count():
    events = [{"event_id": f"e{i}", "type": "partnership", "parties": ["Japan", p], "status": "signed",
               "date_start": None, "mention_count": 1} for i, p in enumerate(["Philippines", "Australia", "India"])]
    spec = network_spec(events)
    [size] = [layer["encoding"]["size"] for layer in spec["layer"] if "size" in layer.get("encoding", {})]
    assert size["legend"]["values"] == [1, 2, 3]  # Japan: 3 reports, the others 1
    assert size["scale"]["domain"] == [0, 3]
    svg = render_svg(spec, "t")
    legend_labels = re.findall(r">(\d+)</text>", svg)
    assert legend_labels and max(map(int, legend_labels)) == 3


@pytest.mark.parametrize("svg", [
    '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
    '<svg xmlns="http://www.w3.org/2000/svg"><g onload="alert(1)"/></svg>',
    '<svg xmlns="http://www.w3.org/2000/svg" xmlns:x="http://www.w3.org/1999/xlink"><a x:href="javascript:1"/></svg>',
    '<svg xmlns="http://www.w3.org/2000/svg"><foreignObject><div xmlns="http://www.w3.org/1999/xhtml"/></foreignObject></svg>',
    '<svg xmlns="http://www.w3.org/2000/svg"><rect fill="url(https://evil.example/x)"/></svg>',
])
def test_svg_check_refuses_active_content(svg):
    with pytest.raises(DefwatchError):
        check_svg(svg)


# -- test 1: a demo-like log ------------------------------------------------------------------------

def test_report_of_a_demo_like_log(tmp_path, browser):
    db = tmp_path / "demo.duckdb"
    demo_log(db)
    out = tmp_path / "report.html"
    summary = render_report(db, parse_period("7d"), out, now=NOW)
    # In the last week: one partnership learned of, one (Japan–Philippines) changed status.
    assert (summary.events, summary.new_events, summary.changed_events) == (2, 1, 1)
    assert (summary.feeds, summary.feeds_failing) == (2, 1) and not summary.empty

    summary = render_report(db, None, out, now=NOW)
    assert (summary.events, summary.parties, summary.empty) == (len(DEMO_EVENTS) + 1, len(DEMO_PARTIES) + 2, False)

    load = browser.open(out)
    assert load.console_errors == []
    only_the_file(load)
    page = browser.js("""return {
        count: document.getElementById('event-count').textContent.trim(),
        rows: document.querySelectorAll('#events tr.ev').length,
        table: document.getElementById('events').innerText,
        networkLabels: Array.from(document.querySelectorAll('#network svg text')).map(t => t.textContent),
        timelineMarks: document.querySelectorAll('#timeline svg .role-mark path').length,
        filtersShown: !document.getElementById('filters').hidden,
        upcoming: document.getElementById('upcoming').innerText,
        failing: document.getElementById('feed-health').innerText,
        lastRun: document.getElementById('last-run').textContent,
        scripts: document.scripts.length}""")
    assert page["count"] == str(len(DEMO_EVENTS) + 1) and page["rows"] == len(DEMO_EVENTS) + 1
    for party in DEMO_PARTIES + ["Australia", "Indonesia"]:
        assert party in page["table"]
    partnership_parties = {p for *_, e in DEMO_EVENTS if e["type"] == "partnership" for p in e["parties"]}
    assert partnership_parties | {"Australia", "Indonesia"} <= set(page["networkLabels"])
    assert page["timelineMarks"] >= len(DEMO_EVENTS) + 1
    assert page["filtersShown"], "the inline script did not run (CSP hash mismatch?)"
    assert "NATO" in page["upcoming"] and "Ankara" in page["upcoming"]
    assert "gazette" in page["failing"] and "timeout" in page["failing"]
    assert page["lastRun"].startswith((NOW - timedelta(minutes=59)).strftime("%Y-%m-%d %H:%M"))
    assert page["scripts"] == 1

    # The filters and the evidence behind a row.
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    Select(browser.driver.find_element(By.ID, "f-type")).select_by_value("summit")
    assert browser.js("return document.querySelectorAll('#events tr.ev:not([hidden])').length") == 2
    Select(browser.driver.find_element(By.ID, "f-type")).select_by_value("")
    browser.driver.find_element(By.ID, "f-text").send_keys("philipp")
    assert browser.js("return Array.from(document.querySelectorAll('#events tr.ev:not([hidden])'))"
                      ".map(r => r.dataset.status)") == ["signed"]
    browser.driver.find_element(By.ID, "expand-all").click()
    evidence = browser.js("""const d = document.querySelector('#events tr.ev:not([hidden]) details');
        return {open: d.open, text: d.innerText,
                links: Array.from(d.querySelectorAll('a')).map(a => [a.href, a.textContent])}""")
    assert evidence["open"]
    assert "signed the reciprocal access agreement in Manila" in evidence["text"]
    assert "plan to conclude a reciprocal access agreement" in evidence["text"]
    assert ["https://news.example/a07", "Japan and the Philippines sign the access pact"] in evidence["links"]

    load = browser.collect(load)
    assert load.console_errors == []
    only_the_file(load)
    browser.driver.find_element(By.ID, "collapse-all").click()
    shot = browser.screenshot(tmp_path / "report.png")
    assert shot.stat().st_size > 10_000


def test_update_readme_screenshot(tmp_path, browser):
    """With DEFWATCH_UPDATE_SCREENSHOT=1, render the demo database (DEFWATCH_DEMO_DB, or a fresh
    `defwatch demo`) and write docs/report.png."""
    if os.environ.get("DEFWATCH_UPDATE_SCREENSHOT") != "1":
        pytest.skip("set DEFWATCH_UPDATE_SCREENSHOT=1 to rewrite docs/report.png")
    db = Path(os.environ.get("DEFWATCH_DEMO_DB") or tmp_path / "demo.duckdb")
    if not db.exists():
        subprocess.run([str(Path(sys.executable).parent / "defwatch"), "demo", "--db", str(db)],
                       check=True, capture_output=True, timeout=300)
    out = tmp_path / "report.html"
    render_report(db, None, out)
    load = browser.open(out)
    assert load.console_errors == []
    only_the_file(load)
    browser.js("document.querySelector('#events details').open = true")
    browser.screenshot(REPO / "docs" / "report.png", max_height=2300)


# -- test 2: hostile feed content -------------------------------------------------------------------

OWN_ATTACKS = [
    "<script>window.__pwned = 1</script>",
    '<img src=x onerror="window.__pwned = 2">',
    "<svg onload=\"window.__pwned = 3\"><circle r=5 /></svg>",
    '"><script>window.__pwned = 4</script>',
    "' onmouseover='window.__pwned = 5' x='",
    "</textarea></title></style><script>window.__pwned = 6</script>",
    '<iframe src="javascript:top.__pwned = 7"></iframe>',
    '<a href="javascript:window.__pwned = 8">click</a>',
    '<meta http-equiv="refresh" content="0;url=javascript:window.__pwned=9">',
    "]]><script>window.__pwned = 10</script><![CDATA[",
    "<details open ontoggle=\"window.__pwned = 11\">x</details>",
    '<svg><foreignObject><img src=x onerror="window.__pwned=12"></foreignObject></svg>',
    "{{ 7 * 7 }} {% raw %}",
    '<object data="data:text/html,<script>top.__pwned=13</script>"></object>',
    "<base href=\"https://evil.example/\"><link rel=stylesheet href=https://evil.example/x.css>",
    '<style>body{background:url("https://evil.example/track.png")}</style>',
    "<script>document.title = 'pwned'</script>",
]
HOSTILE_URLS = [
    "javascript:window.__pwned=20", "JaVaScRiPt:window.__pwned=21", " javascript:window.__pwned=22",
    "java\tscript:window.__pwned=23", "data:text/html;base64,PHNjcmlwdD50b3AuX19wd25lZD0yNDwvc2NyaXB0Pg==",
    "vbscript:msgbox(25)", '"><script>window.__pwned=26</script>',
    'http://evil.example/"onmouseover="window.__pwned=27"x', "//evil.example/28",
]


def corpus_strings(limit: int = 160) -> list[str]:
    """Raw (unsanitized) strings from the feedparser sanitizer corpus: script, event-handler,
    frame/object/embed, meta and link attacks in titles, summaries, contents and links."""
    import feedparser

    if not SANITIZE.is_dir():
        return []
    pick = re.compile(r"(script\w*|on[a-z]+|i?frame|embed|object|meta|link|applet|crazy|unacceptable_uri|"
                      r"style_tag)\.xml$")
    out: list[str] = []
    for path in sorted(SANITIZE.glob("*.xml")):
        if path.name.startswith(("acceptable_", "style_")) or not pick.search(path.name):
            continue
        d = feedparser.parse(path.read_bytes(), sanitize_html=False, resolve_relative_uris=False)
        values = [d.feed.get(k) for k in ("title", "subtitle", "info", "rights")]
        for e in d.entries:
            values += [e.get("title"), e.get("summary"), e.get("link")]
            values += [c.get("value") for c in e.get("content", [])]
        for v in values:
            if isinstance(v, str) and v.strip() and v not in out:
                out.append(v)
    return out[:limit] if len(out) > limit else out


def hostile_log(db: Path, strings: list[str]) -> None:
    rows, extractions = [], []
    for i, s in enumerate(strings):
        aid = f"h{i:04d}"
        url = HOSTILE_URLS[i % len(HOSTILE_URLS)] + f"#{i}"
        if i % 4 == 3:
            url = f"https://news.example/{i}?q={s[:40]}"  # a real link whose query carries the attack
        rows.append(article(aid, title=s, url=url, published=T0, site_name=s[:120], original_url=url))
        party = s.strip()[:80] or f"party {i}"
        other = OWN_ATTACKS[i % len(OWN_ATTACKS)][:80]
        typ = "summit" if i % 3 == 0 else "partnership"
        extractions.append(ArticleExtraction(aid, T0, [
            ev(typ, [party, other], ["signed", "planned", "held"][i % 3] if typ == "summit" else "signed",
               f"2025-0{1 + i % 9}", evidence=s, location=s[:60])]))
    write_log(db, [(T0, rows, extractions)])


def test_hostile_feed_content_stays_text(tmp_path, browser):
    corpus = corpus_strings()
    if SANITIZE.is_dir():
        assert any("<script" in s.lower() for s in corpus), "feedparser sanitized the corpus: attacks lost"
        assert any(re.search(r"\bon[a-z]+\s*=", s, re.I) for s in corpus)
    strings = OWN_ATTACKS + HOSTILE_URLS + corpus
    db = tmp_path / "hostile.duckdb"
    hostile_log(db, strings)
    out = tmp_path / "report.html"
    summary = render_report(db, None, out, now=NOW)
    assert summary.events > len(OWN_ATTACKS)
    load = browser.open(out)
    # (No find_element here: if an attack had broken the page, the checks below should say how.)
    browser.js("const b = document.getElementById('expand-all'); if (b) { b.click(); }")
    # Hover over and click every evidence area, in case anything slipped through as a handler.
    browser.js("document.querySelectorAll('#events td, #events summary, svg text').forEach(el => {"
               "  el.dispatchEvent(new MouseEvent('mouseover', {bubbles: true}));"
               "  el.dispatchEvent(new Event('toggle')); })")
    load = browser.collect(load)
    state = browser.js("""
        const all = Array.from(document.querySelectorAll('*'));
        return {
          pwned: typeof window.__pwned,
          title: document.title,
          href: location.href,
          scripts: document.scripts.length,
          handlers: all.filter(el => Array.from(el.attributes).some(a => /^on/i.test(a.name)))
                       .map(el => el.outerHTML.slice(0, 120)),
          foreign: Array.from(document.querySelectorAll(
              'img, iframe, frame, object, embed, applet, base, link, form, video, audio, foreignObject, textarea'))
              .map(el => el.tagName),
          metas: document.querySelectorAll('meta').length,
          styles: document.querySelectorAll('style').length,
          badLinks: Array.from(document.querySelectorAll('[href], [src], [action], [formaction], [xlink\\\\:href]'))
              .filter(el => !(el.tagName === 'A' && /^https?:$/.test(el.protocol))).map(el => el.outerHTML.slice(0, 120)),
          plainUrls: Array.from(document.querySelectorAll('code.unsafe-url')).map(c => c.textContent),
          text: document.body.innerText,
          svgText: Array.from(document.querySelectorAll('svg text')).map(t => t.textContent).join('\\n'),
          rows: document.querySelectorAll('#events tr.ev').length,
        }""")
    assert state["pwned"] == "undefined"
    assert state["title"].startswith("defwatch report")
    assert state["href"] == load.url
    assert state["scripts"] == 1
    assert state["handlers"] == []
    assert state["foreign"] == []
    assert state["metas"] == 4 and state["styles"] == 1
    assert state["badLinks"] == []
    # The attacks are there, as text: in the table, the evidence and the chart labels.
    assert "<script>window.__pwned = 1</script>" in state["text"]
    assert '<img src=x onerror="window.__pwned = 2">' in state["text"]
    assert "<script>window.__pwned = 1</script>" in state["svgText"]
    assert any(u.startswith("javascript:window.__pwned=20") for u in state["plainUrls"])
    assert any(u.lower().startswith("vbscript:") for u in state["plainUrls"])
    assert any(u.startswith("data:text/html") for u in state["plainUrls"])
    if corpus:
        assert any("location.href='http:/'+'/example.com/'" in s for s in corpus)
        assert "location.href='http:/'+'/example.com/'" in state["text"]
    # Nothing ran, so nothing was blocked either: a CSP violation would be a console error.
    assert load.console_errors == []
    only_the_file(load)
    html = out.read_text(encoding="utf-8")
    assert html.count("<script") == 1 and "window.__pwned = 1</script>" not in html


# -- test 3: nothing yet ------------------------------------------------------------------------------

def test_empty_database_gives_nothing_yet_page(tmp_path, browser):
    db = tmp_path / "empty.duckdb"
    with write_connection(db):
        pass
    out = tmp_path / "empty.html"
    summary = render_report(db, parse_period("30d"), out, now=NOW)
    assert summary.empty and summary.events == 0 and summary.last_successful_run is None
    load = browser.open(out)
    text = browser.js("return document.getElementById('nothing-yet').innerText")
    assert "Nothing yet" in text and "no events yet" in text and "defwatch ingest" in text
    assert browser.js("return document.getElementById('event-count').textContent") == "0"
    assert load.console_errors == []
    only_the_file(load)


def test_empty_period_gives_nothing_yet_page(tmp_path, browser):
    db = tmp_path / "demo.duckdb"
    demo_log(db)
    out = tmp_path / "quiet.html"
    summary = render_report(db, parse_period("12h"), out, now=NOW + timedelta(days=60))
    assert summary.empty and (summary.new_events, summary.changed_events) == (0, 0)
    load = browser.open(out)
    text = browser.js("return document.getElementById('nothing-yet').innerText")
    assert "No event was learned of or changed in the last 12 hours" in text
    assert f"holds {len(DEMO_EVENTS) + 1} events" in text
    assert load.console_errors == []
    only_the_file(load)


def test_missing_database_is_a_warehouse_error(tmp_path):
    with pytest.raises(WarehouseError, match="No database at"):
        render_report(tmp_path / "nope.duckdb", None, tmp_path / "r.html")
    assert not (tmp_path / "r.html").exists()
