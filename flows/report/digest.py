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
    new = [r for r in rows if "created" in r["changes"]]
    changed = [r for r in rows if "created" not in r["changes"]]
    title = f"defwatch digest: {since:%Y-%m-%d %H:%M} to {now:%Y-%m-%d %H:%M} UTC"

    def line(r: dict) -> tuple[str, str]:
        head = f"{r['type']}: {', '.join(r['parties'])} — {r['status'] or 'status not stated'}"
        head += f", {r['date']}" if r["date"] else ""
        head += f", {r['location']}" if r["location"] else ""
        notes = [f"{c} {o or '∅'} → {n or '∅'}" for c, o, n in zip(r["changes"], r["olds"], r["news"]) if c != "created"]
        return head + (f" ({'; '.join(notes)})" if notes else "") + f" [{r['mention_count']} reports]", r["evidence"] or ""

    if fmt == "md":
        out = [f"# {title}", "", f"{len(new)} new events, {len(changed)} changed.", ""]
        for name, group in (("New", new), ("Changed", changed)):
            if group:
                out += [f"## {name}", ""]
                for r in group:
                    head, ev = line(r)
                    out += [f"- **{head}**", f"  > {ev}"]
                out.append("")
        if not rows:
            out.append("Nothing new or changed in this period.")
        return "\n".join(out) + "\n"
    parts = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{escape(title)}</title>"
             "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; style-src 'unsafe-inline'\">"
             "</head><body>", f"<h1>{escape(title)}</h1>", f"<p>{len(new)} new events, {len(changed)} changed.</p>"]
    for name, group in (("New", new), ("Changed", changed)):
        if group:
            parts.append(f"<h2>{name}</h2><ul>")
            for r in group:
                head, ev = line(r)
                parts.append(f"<li><strong>{escape(head)}</strong><blockquote>{escape(ev)}</blockquote></li>")
            parts.append("</ul>")
    if not rows:
        parts.append("<p>Nothing new or changed in this period.</p>")
    parts.append("</body></html>\n")
    return "".join(parts)
