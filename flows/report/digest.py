"""`defwatch digest`: new and changed events of a period, as Markdown or HTML."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from markupsafe import escape

from warehouse.reports import changes_since


def render_digest(db: Path, period: timedelta, fmt: str = "md", now: datetime | None = None) -> str:
    now = now or datetime.now(timezone.utc)
    since = now - period
    rows = changes_since(db, since)
    # Events an analyst rejected or merged into another are listed apart: not events of the log.
    dismissed = [r for r in rows if r["judgement"] in ("rejected", "merged")]
    rows = [r for r in rows if r["judgement"] not in ("rejected", "merged")]
    new = [r for r in rows if "created" in r["changes"]]
    changed = [r for r in rows if "created" not in r["changes"]]
    title = f"defwatch digest: {since:%Y-%m-%d %H:%M} to {now:%Y-%m-%d %H:%M} UTC"

    def line(r: dict) -> tuple[str, str]:
        head = f"{r['type']}: {', '.join(r['parties'])} — {r['status'] or 'status not stated'}"
        head += f", {r['date']}" if r["date"] else ""
        head += f", {r['location']}" if r["location"] else ""
        notes = [_note(c, o, n, cause) for c, o, n, cause in zip(r["changes"], r["olds"], r["news"], r["causes"])
                 if c != "created"]
        # An event judged before the period still says so; one judged in it says so in its notes.
        judged = f" [{r['judgement']} by an analyst]" if r["judgement"] and "judgement" not in r["causes"] else ""
        return (head + (f" ({'; '.join(notes)})" if notes else "") + f" [{r['mention_count']} reports]" + judged,
                r["evidence"] or "")

    if fmt == "md":
        out = [f"# {title}", "", f"{len(new)} new events, {len(changed)} changed.", ""]
        for name, group in (("New", new), ("Changed", changed), ("Rejected or merged by an analyst", dismissed)):
            if group:
                out += [f"## {name}", ""]
                for r in group:
                    head, ev = line(r)
                    out += [f"- **{head}**", f"  > {ev}"]
                out.append("")
        if not rows and not dismissed:
            out.append("Nothing new or changed in this period.")
        return "\n".join(out) + "\n"
    parts = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{escape(title)}</title>"
             "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; style-src 'unsafe-inline'\">"
             "</head><body>", f"<h1>{escape(title)}</h1>", f"<p>{len(new)} new events, {len(changed)} changed.</p>"]
    for name, group in (("New", new), ("Changed", changed), ("Rejected or merged by an analyst", dismissed)):
        if group:
            parts.append(f"<h2>{name}</h2><ul>")
            for r in group:
                head, ev = line(r)
                parts.append(f"<li><strong>{escape(head)}</strong><blockquote>{escape(ev)}</blockquote></li>")
            parts.append("</ul>")
    if not rows and not dismissed:
        parts.append("<p>Nothing new or changed in this period.</p>")
    parts.append("</body></html>\n")
    return "".join(parts)


def _note(change: str, old: str | None, new: str | None, cause: str | None) -> str:
    """One change as the digest says it; the analyst's judgements say so."""
    if cause == "judgement":
        if change in ("confirmed", "rejected"):
            return f"{change} by an analyst"
        if change == "merged":
            return f"merged by an analyst into {new}"
        return f"{change} {old or '∅'} → {new or '∅'}, corrected by an analyst"
    return f"{change} {old or '∅'} → {new or '∅'}"
