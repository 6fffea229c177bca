"""The analyst report: one self-contained HTML file with a timeline, a partnership network and
the evidence behind every event.

Everything that came from a feed or a page (titles, evidence, party names, links, site names) is
hostile input. It reaches the page only through Jinja2 with autoescaping on; only http(s) links
become clickable; the charts are SVG rendered by Vega-Lite (altair + vl-convert), whose renderer
escapes every label, and each SVG is checked for active content before it is inlined; and a strict
Content-Security-Policy (no network at all, only our own hashed script) stands behind all that, so
even a missed escape could neither load nor run anything.

The database is only read (``warehouse.reports.report_data``).
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import os
import re
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from flows.errors import DefwatchError
from warehouse.reports import as_utc, report_data
from warehouse.statuses import PAIR_TIE_STRENGTH, STATUSES, UNKNOWN

TEMPLATES = Path(__file__).resolve().parent / "templates"

# One colour per status, shared by the timeline, the network and the table; listed in the order
# of warehouse.statuses.STATUSES, which the legend follows.
STATUS_COLOURS = dict(zip((*STATUSES, UNKNOWN), (
    "#4c78a8",  # planned
    "#f58518",  # negotiating
    "#54a24b",  # signed
    "#72b7b2",  # extended
    "#b279a2",  # held
    "#9d755d",  # suspended
    "#e45756",  # cancelled
    "#bab0ac",  # unknown
), strict=True))
_EXTRA_COLOURS = ["#eeca3b", "#ff9da6", "#79706e", "#d67195", "#439894", "#83bcb6"]

MAX_NETWORK_NODES = 150



@dataclass
class ReportSummary:
    """What the report shows, for the CLI to print."""

    out: Path
    period_start: datetime | None   # None: all time
    period_end: datetime
    events: int                     # events shown (learned of or changed in the period)
    new_events: int
    changed_events: int
    retracted_events: int
    parties: int
    mentions: int
    feeds: int
    feeds_failing: int
    last_successful_run: datetime | None
    empty: bool                     # the "nothing yet" page was written


def safe_url(url: Any) -> str | None:
    """The URL if it may be a link: absolute http(s), no whitespace or control characters (which
    browsers strip, so ``java\\tscript:`` would otherwise slip through), no credentials."""
    if not isinstance(url, str) or len(url) > 4000:
        return None
    if any(ord(c) <= 0x20 or ord(c) == 0x7F or c == "\\" for c in url):
        return None
    m = re.match(r"(?i)https?://([^/?#]+)", url)
    if not m or "@" in m.group(1):
        return None
    return url


# -- charts ---------------------------------------------------------------------------------------

def _status(s: str | None) -> str:
    return s or UNKNOWN


def _colour_scale(statuses: set[str]):
    import altair as alt

    domain = [s for s in STATUS_COLOURS if s in statuses]
    extras = sorted(statuses - set(STATUS_COLOURS))
    colours = [STATUS_COLOURS[s] for s in domain] + [_EXTRA_COLOURS[i % len(_EXTRA_COLOURS)] for i in range(len(extras))]
    return alt.Scale(domain=domain + extras, range=colours)


def _jitter(key: str) -> float:
    """A stable offset in [0.15, 0.85] so events on the same day do not hide each other."""
    return 0.15 + 0.7 * (int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF)


# Room for the browser's fonts, which may run wider than those vl-convert measured labels with.
_PADDING = {"left": 5, "top": 5, "right": 40, "bottom": 5}
TIMELINE_LOOKBACK = timedelta(days=5 * 366)


def timeline_spec(events: list[dict], today: date) -> tuple[dict | None, int]:
    """Vega-Lite: events by their own date, one band per type, coloured by status. Events dated
    more than five years back are left out (one old treaty would squash the rest): the count of
    them is returned with the spec."""
    import altair as alt

    data = []
    for e in events:
        if e["date_start"] is None:
            continue
        data.append({
            "when": e["date_start"].isoformat(),
            "type": "summit" if e["type"] == "summit" else "partnership",
            "status": _status(e["status"]),
            "parties": " – ".join(e["parties"]),
            "mentions": int(e["mention_count"] or 0),
            "jitter": _jitter(e["event_id"]),
        })
    if not data:
        return None, 0
    cutoff = (today - TIMELINE_LOOKBACK).isoformat()
    recent = [d for d in data if d["when"] >= cutoff]
    older = len(data) - len(recent) if recent else 0
    data = recent or data
    colour = _colour_scale({d["status"] for d in data})
    base = alt.Chart(alt.Data(values=data))
    points = base.mark_point(filled=True, opacity=0.85, stroke="#333", strokeWidth=0.5).encode(
        x=alt.X("when:T", title="event date", axis=alt.Axis(format="%Y-%m", labelAngle=0)),
        y=alt.Y("type:N", title=None, sort=["summit", "partnership"]),
        yOffset=alt.YOffset("jitter:Q", scale=alt.Scale(domain=[0, 1]), title=None),
        color=alt.Color("status:N", scale=colour, title="status"),
        shape=alt.Shape("type:N", legend=None, scale=alt.Scale(domain=["summit", "partnership"],
                                                               range=["diamond", "circle"])),
        size=alt.Size("mentions:Q", title="reports", scale=alt.Scale(range=[50, 300]), legend=None),
    )
    today_rule = alt.Chart(alt.Data(values=[{"when": today.isoformat(), "label": "today"}])).mark_rule(
        strokeDash=[4, 3], color="#444").encode(x="when:T")
    today_text = alt.Chart(alt.Data(values=[{"when": today.isoformat(), "label": "today"}])).mark_text(
        align="left", dx=4, dy=-4, baseline="bottom", color="#444", fontSize=11).encode(
        x="when:T", y=alt.value(0), text="label:N")
    chart = (today_rule + points + today_text).properties(width=820, height=240, padding=_PADDING)
    return (chart.configure_view(stroke=None).configure_axis(grid=True, gridColor="#eee")
            .configure_legend(labelLimit=220).to_dict(), older)


def _pair_status_rank(status: str) -> int:
    return PAIR_TIE_STRENGTH.index(status) if status in PAIR_TIE_STRENGTH else 0


def _size_legend_values(top: int) -> list[int]:
    """Whole numbers of reports for the size legend, ending at the largest count there is (a
    legend of 0-14 next to counts of at most 3 says nothing)."""
    if top <= 4:
        return list(range(1, top + 1))
    step = max(1, round(top / 4))
    return sorted({*range(step, top, step), top})[-4:]


def network_spec(events: list[dict]) -> dict | None:
    """Vega-Lite: parties as nodes (sized by the mentions of their partnerships), partnerships as
    edges coloured by status; layout by networkx's spring layout with a fixed seed."""
    import altair as alt
    import networkx as nx

    g = nx.Graph()
    mentions: dict[str, int] = {}
    for e in events:
        if e["type"] != "partnership":
            continue
        parties = list(e["parties"])
        status = _status(e["status"])
        for p in parties:
            mentions[p] = mentions.get(p, 0) + int(e["mention_count"] or 0)
            g.add_node(p)
        for a, b in itertools.combinations(parties, 2):
            d = g.get_edge_data(a, b)
            # Several partnerships between the same two parties: one edge, the latest-dated status
            # (or, on equal dates, the furthest along), and the count of them.
            key = (e["date_start"] or date.min, _pair_status_rank(status))
            if d is None:
                g.add_edge(a, b, status=status, key=key, n=1)
            else:
                d["n"] += 1
                if key > d["key"]:
                    d["status"], d["key"] = status, key
    if g.number_of_nodes() == 0:
        return None
    if g.number_of_nodes() > MAX_NETWORK_NODES:
        # Beyond this the labels are unreadable (and the layout needs scipy): keep the most reported.
        keep = sorted(g.nodes, key=lambda n: (-mentions.get(n, 0), n))[:MAX_NETWORK_NODES]
        g = g.subgraph(keep).copy()
    pos = _layout(g)
    nodes = [{"party": n, "x": float(pos[n][0]), "y": float(pos[n][1]), "mentions": mentions.get(n, 0)}
             for n in sorted(g.nodes)]
    edges = [{"a": a, "b": b, "x": float(pos[a][0]), "y": float(pos[a][1]), "x2": float(pos[b][0]),
              "y2": float(pos[b][1]), "status": d["status"], "count": d["n"]}
             for a, b, d in sorted(g.edges(data=True))]
    top = max([n["mentions"] for n in nodes] + [1])
    xs = [n["x"] for n in nodes]
    ys = [n["y"] for n in nodes]
    xdom = [min(xs) - 0.25, max(xs) + 0.25]
    ydom = [min(ys) - 0.15, max(ys) + 0.2]
    width = 820
    height = int(max(260, min(640, width * (ydom[1] - ydom[0]) / (xdom[1] - xdom[0]))))
    x = dict(scale=alt.Scale(domain=xdom), axis=None)
    y = dict(scale=alt.Scale(domain=ydom), axis=None)
    colour = _colour_scale({e["status"] for e in edges} or {"unknown"})
    layers = []
    if edges:
        layers.append(alt.Chart(alt.Data(values=edges)).mark_rule(opacity=0.8).encode(
            x=alt.X("x:Q", **x), y=alt.Y("y:Q", **y), x2="x2:Q", y2="y2:Q",
            color=alt.Color("status:N", scale=colour, title="status"),
            strokeWidth=alt.StrokeWidth("count:Q", scale=alt.Scale(range=[2, 5]), legend=None)))
    layers.append(alt.Chart(alt.Data(values=nodes)).mark_circle(
        color="#2f3e55", opacity=0.9, stroke="white", strokeWidth=1).encode(
        x=alt.X("x:Q", **x), y=alt.Y("y:Q", **y),
        size=alt.Size("mentions:Q", scale=alt.Scale(domain=[0, top], range=[60, 900], nice=False), title="reports",
                      legend=alt.Legend(values=_size_legend_values(top), format="d"))))
    layers.append(alt.Chart(alt.Data(values=nodes)).mark_text(
        dy=-11, fontSize=11, color="#1b1b1b", baseline="bottom").encode(
        x=alt.X("x:Q", **x), y=alt.Y("y:Q", **y), text="party:N"))
    chart = alt.layer(*layers).properties(width=width, height=height, padding=_PADDING)
    return chart.configure_view(stroke=None).configure_legend(labelLimit=220).to_dict()


def _layout(g) -> dict:
    """networkx spring layout (fixed seed) of the largest connected component in [-1, 1]²; the
    smaller components (pairs, triples) each laid out the same way in a small cell of a grid to
    its right, so that they neither fly off to the edges nor squash the main cluster."""
    import math

    import networkx as nx

    comps = sorted((sorted(c) for c in nx.connected_components(g)), key=lambda c: (-len(c), c))
    main, rest = comps[0], comps[1:]
    sub = g.subgraph(main)
    k = 2.2 / math.sqrt(max(1, len(main)))
    pos = {n: tuple(p) for n, p in nx.spring_layout(sub, seed=7, k=k, iterations=300, scale=1.0).items()}
    if len(main) == 1:
        pos = {main[0]: (0.0, 0.0)}
    rows, cell_w, cell_h = 5, 0.75, 0.4
    for i, comp in enumerate(rest):
        cx = 1.6 + (i // rows) * cell_w
        cy = 0.8 - (i % rows) * cell_h
        if len(comp) == 1:
            pos[comp[0]] = (cx, cy)
            continue
        small = nx.spring_layout(g.subgraph(comp), seed=7, scale=0.18 if len(comp) > 2 else 0.2)
        for n, (x, y) in small.items():
            pos[n] = (cx + x, cy + y * 0.6)
    return pos


_SVG_NS = "{http://www.w3.org/2000/svg}"
_FORBIDDEN_TAGS = {"script", "foreignobject", "iframe", "object", "embed", "a", "image", "use",
                   "animate", "set", "animatemotion", "animatetransform", "handler", "listener"}

# Attributes whose url(...) would be fetched; anywhere else (aria-label: data) it is only text.
_PAINT_ATTRIBUTES = {"fill", "stroke", "clip-path", "mask", "filter", "marker-start", "marker-mid", "marker-end",
                     "style", "cursor", "src"}


def check_svg(svg: str) -> None:
    """Refuse an SVG that could run or load anything: scripts, foreign HTML, links, event handler
    attributes, references outside the document. The renderer escapes labels, so this never fires
    on a well-behaved renderer; it is the belt to its braces."""
    try:
        root = ET.fromstring(svg)
    except ET.ParseError as exc:
        raise DefwatchError(f"chart rendering produced invalid SVG ({exc}); report not written") from None
    for el in root.iter():
        tag = el.tag.rsplit("}", 1)[-1].lower() if isinstance(el.tag, str) else ""
        if not isinstance(el.tag, str) or not el.tag.startswith(_SVG_NS) or tag in _FORBIDDEN_TAGS:
            raise DefwatchError(f"chart rendering produced a <{tag}> element; report not written")
        for name, value in el.attrib.items():
            local = name.rsplit("}", 1)[-1].lower()
            external_ref = local in _PAINT_ATTRIBUTES and "url(" in value.lower() \
                and not re.fullmatch(r"url\(#[\w-]+\)", value.strip())
            if local.startswith("on") or (local == "href" and not value.startswith("#")) or external_ref:
                raise DefwatchError(f"chart rendering produced an unsafe attribute {local!r}; report not written")


def render_svg(spec: dict, prefix: str) -> str:
    """Vega-Lite spec → inline SVG (offline, via vl-convert), ids made unique per chart."""
    import vl_convert as vlc

    svg = vlc.vegalite_to_svg(spec)
    svg = re.sub(r"^<\?xml[^>]*>\s*", "", svg)
    # Two charts on one page: keep their clip-path and gradient ids apart.
    svg = re.sub(r'\bid="([^"]+)"', lambda m: f'id="{prefix}-{m.group(1)}"', svg)
    svg = re.sub(r'url\(#([^)]+)\)', lambda m: f"url(#{prefix}-{m.group(1)})", svg)
    svg = re.sub(r'href="#([^"]+)"', lambda m: f'href="#{prefix}-{m.group(1)}"', svg)
    check_svg(svg)
    return svg


# -- page -----------------------------------------------------------------------------------------

def _environment():
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["safe_url"] = safe_url
    env.filters["ts"] = lambda dt: as_utc(dt).strftime("%Y-%m-%d %H:%M UTC") if dt else "never"
    env.filters["day"] = lambda dt: as_utc(dt).strftime("%Y-%m-%d") if isinstance(dt, datetime) else (dt or "")
    return env


def _script() -> tuple[str, str]:
    """Our one inline script and its CSP hash. It carries no data (it reads the DOM), so the hash
    is the same for every report."""
    js = (TEMPLATES / "report.js").read_text(encoding="utf-8")
    if "</" in js:
        raise DefwatchError("report.js must not contain '</'")
    digest = base64.b64encode(hashlib.sha256(js.encode("utf-8")).digest()).decode()
    return js, f"sha256-{digest}"


def _period_label(since: timedelta | None) -> str:
    if since is None:
        return "all time"
    secs = int(since.total_seconds())
    for unit, n in (("week", 604800), ("day", 86400), ("hour", 3600)):
        if secs % n == 0 and secs >= n:
            k = secs // n
            return f"the last {k} {unit}{'s' if k != 1 else ''}"
    return f"the last {since}"


def _write_atomic(out: Path, text: str) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def render_report(db: Path, since: timedelta | None, out: Path, now: datetime | None = None) -> ReportSummary:
    """Write the analyst report of ``db`` for the period ``since`` before ``now`` (None: all time)
    to ``out``. A missing database raises ``WarehouseError`` (from ``report_data``); an empty
    database or period writes a "nothing yet" page."""
    from markupsafe import Markup

    now = as_utc(now) or datetime.now(timezone.utc)
    start = now - since if since is not None else None
    db, out = Path(db), Path(out)
    data = report_data(db, start, now)

    events = data["events"]
    by_event: dict[str, list[dict]] = {}
    for m in data["mentions"]:
        by_event.setdefault(m["event_id"], []).append(m)
    rows = []
    for e in events:
        eid = e["event_id"]
        tag = "new" if eid in data["new"] else ("changed" if eid in data["changed"] else "")
        rows.append({**e, "status_label": _status(e["status"]), "tag": tag,
                     "changes": data["changed"].get(eid, []),
                     "colour": STATUS_COLOURS.get(_status(e["status"]), "#999"),
                     "mentions": by_event.get(eid, [])})
    parties = sorted({p for e in events for p in e["parties"]})
    today = now.date()
    upcoming = sorted(
        (e for e in events if e["type"] == "summit" and e["date_end"] is not None and e["date_end"] >= today
         and e["status"] not in ("cancelled", "held")),
        key=lambda e: e["date_start"])
    feeds = data["feeds"]
    failing = [f for f in feeds if (f["consecutive_failures"] or 0) > 0]

    timeline_svg = network_svg = None
    older = 0
    if events:
        spec, older = timeline_spec(events, today)
        timeline_svg = Markup(render_svg(spec, "tl")) if spec else None
        spec = network_spec(events)
        network_svg = Markup(render_svg(spec, "net")) if spec else None

    js, js_hash = _script()
    csp = (f"default-src 'none'; script-src '{js_hash}'; style-src 'unsafe-inline'; "
           f"base-uri 'none'; form-action 'none'")
    page = _environment().get_template("report.html").render(
        csp=csp, script=Markup(js), now=now, start=start, period_label=_period_label(since),
        db_name=db.name, total_events=data["total_events"], events=rows,
        new_count=len(data["new"]), changed_count=len(data["changed"]),
        retracted_count=len(data["retracted"]), parties=parties, upcoming=upcoming, feeds=feeds,
        failing=failing, last_ok=data["last_ok"], last_run=data["last_run"],
        latest_learned=data["latest_learned"], articles=data["articles"],
        timeline_svg=timeline_svg, network_svg=network_svg,
        statuses=[s for s in STATUS_COLOURS if any(r["status_label"] == s for r in rows)]
        + sorted({r["status_label"] for r in rows} - set(STATUS_COLOURS)),
        older=older, lookback_year=(today - TIMELINE_LOOKBACK).year,
        undated=sum(1 for e in events if e["date_start"] is None),
    )
    _write_atomic(out, page)
    return ReportSummary(
        out=out, period_start=start, period_end=now, events=len(events), new_events=len(data["new"]),
        changed_events=len(data["changed"]), retracted_events=len(data["retracted"]), parties=len(parties),
        mentions=len(data["mentions"]), feeds=len(feeds), feeds_failing=len(failing),
        last_successful_run=data["last_ok"], empty=not events,
    )
