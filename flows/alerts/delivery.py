"""Alert delivery: send each pending alert to its channels and record the result at once, so a
crash never loses or repeats one (a channel that keeps failing keeps its alerts pending)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from flows.alerts import channels as ch
from flows.alerts.routing import Channels
from flows.runtime.faults import checkpoint
from flows.settings import AlertSettings
from warehouse import alerts as walerts

KIND_TEXT = {
    "partnership.new": "New partnership",
    "partnership.status": "Partnership update",
    "summit.new": "New summit",
    "summit.status": "Summit update",
    "summit.upcoming": "Summit coming up",
    "summit.overdue": "Summit date passed without a report",
    "partnership.correction": "Correction of an earlier alert (analyst)",
    "summit.correction": "Correction of an earlier alert (analyst)",
}


def _hours(start, end) -> str:
    h = (end - start).total_seconds() / 3600 if start and end else 0.0
    return f"{h:.0f} h" if h >= 1 else f"{h * 60:.0f} min"


def format_message(row: dict[str, Any]) -> ch.Message:
    """A message a person reads in five seconds: what, who, when, where, evidence, links."""
    parties = " – ".join(row["parties"])
    what = KIND_TEXT.get(row["kind"], row["kind"])
    status = row["status"] or "status not stated"
    title = f"{what}: {parties} ({status}{', ' + row['date'] if row['date'] else ''})"
    lines = [
        f"What:  {row['type']} {status}" + (f" (was {row['old_value']})" if row.get("old_value") else ""),
        f"Who:   {', '.join(row['parties'])}",
        f"When:  {row['date'] or 'no date given'}",
        f"Where: {row['location'] or 'not given'}",
        f"Evidence: \u201c{row['evidence']}\u201d",
    ]
    outcome = row.get("hold_outcome")
    if outcome == "corroborated":
        lines.insert(0, f"Corroborated: reported by {row['hold_feeds']} independent outlet(s).")
    elif outcome == "official":
        lines.insert(0, "Reported by an official source.")
    elif outcome == "uncorroborated":
        lines.insert(0, f"Uncorroborated: only {row['hold_feeds']} outlet(s) report it after waiting "
                        f"{_hours(row['held_at'], row['hold_released_at'])}.")
    if row["kind"].endswith(".correction"):  # warehouse/judgements.py: value says what changed
        lines.insert(0, f"Corrected by an analyst: {row['value']}")
    arts = [a for a in (row.get("articles") or []) if a and a.get("url")]
    if arts:
        lines.append(f"Reported by {row['mention_count']} article(s):")
        lines.extend(f"  - {a.get('title') or a['url']}\n    {a['url']}{_local_note(a['url'])}" for a in arts)
    lines.append(f"Event {row['event_id']} · alert {row['alert_id']}")
    payload = {
        "event": {k: row[k] for k in ("event_id", "type", "parties", "status", "date", "date_precision",
                                      "location", "evidence", "confidence", "mention_count")},
        "articles": [{"url": a["url"], "title": a.get("title"), "site": a.get("site")} for a in arts],
        "change": {"kind": row["kind"], "value": row["value"], "old_value": row.get("old_value")},
    }
    return ch.Message(alert_id=row["alert_id"], kind=row["kind"], title=title, text="\n".join(lines), payload=payload)


def _local_note(url: str) -> str:
    """Say so when a link points at this machine (the demo's server on a temporary port, or a test
    server): it works only while that server runs, and a reader should not expect it to open later."""
    from urllib.parse import urlsplit

    host = (urlsplit(url).hostname or "").lower()
    if host in ("localhost", "::1") or host.startswith("127."):
        return " (local demo link: it opens only while the server that served it runs)"
    return ""


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0
    waiting: int = 0
    errors: list[str] = field(default_factory=list)


def deliver(db: Path, chans: Channels, settings: AlertSettings, now: datetime, logger=None,
            writer=None) -> DeliveryReport:
    """Send every due pending delivery whose channel this run knows; record each result at once.
    ``writer`` (a ``warehouse.db.HeldWriter``) lends the run's connection; it is released before
    any message goes over the network."""
    from warehouse.db import HeldWriter, transaction

    if writer is None:
        with HeldWriter(db) as own:
            return deliver(db, chans, settings, now, logger, own)
    report = DeliveryReport()
    with writer.connection() as con:
        rows = walerts.pending(con, now)
    if not rows:
        return report
    # Local channels (log, Prefect events) answer at once and a repeat costs nothing but a log
    # line: their results are committed in chunks. A message over the network is committed on
    # its own right after the send, with the database closed during the send, so a slow receiver
    # never holds the database (and readers) hostage.
    local_rows, remote_rows = [], []
    for row in rows:
        channel = chans.by_key.get(row["channel_key"])
        if channel is None:
            # A --notify channel of an earlier run: its URL is not stored (it may hold a token).
            report.waiting += 1
        elif isinstance(channel, (ch.LogChannel, ch.PrefectEventChannel)):
            local_rows.append((row, channel))
        else:
            remote_rows.append((row, channel))

    def attempt(row, channel) -> str | None:
        try:
            channel.send(format_message(row))
        except Exception as exc:  # any channel failure leaves the alert pending
            return _failure_text(exc)
        checkpoint("after-send")
        return None

    def record(con, row, channel, error: str | None) -> None:
        stamp = datetime.now(now.tzinfo)
        if error is None:
            walerts.mark_sent(con, row["alert_id"], row["channel_key"], stamp)
            report.sent += 1
            return
        walerts.mark_failed(con, row["alert_id"], row["channel_key"], stamp, error,
                            settings.retry_base_s, settings.retry_cap_s)
        report.failed += 1
        report.errors.append(f"{channel.label}: {error}")
        if logger is not None:
            logger.warning("alert %s via %s not delivered: %s (will retry)", row["alert_id"], channel.label, error)

    for start in range(0, len(local_rows), LOCAL_CHUNK):
        chunk = local_rows[start:start + LOCAL_CHUNK]
        results = [(row, channel, attempt(row, channel)) for row, channel in chunk]
        # Flushed before the chunk is marked sent: sent means written out. A channel whose flush
        # fails (the Prefect API refused the batch) leaves every alert it buffered pending.
        flush_errors = {}
        for channel in {id(c): c for _, c in chunk}.values():
            try:
                channel.flush()
            except Exception as exc:
                flush_errors[id(channel)] = _failure_text(exc)
        results = [(row, channel, error or flush_errors.get(id(channel))) for row, channel, error in results]
        with writer.connection() as con, transaction(con):
            sent = [(r["alert_id"], r["channel_key"]) for r, _, e in results if e is None]
            walerts.mark_sent_many(con, sent, datetime.now(now.tzinfo))
            report.sent += len(sent)
            for row, channel, error in results:
                if error is not None:
                    record(con, row, channel, error)
    for row, channel in remote_rows:
        writer.release()
        error = attempt(row, channel)
        with writer.connection() as con, transaction(con):
            record(con, row, channel, error)
    return report


LOCAL_CHUNK = 200


def _failure_text(exc: Exception) -> str:
    """What a delivery's last_error says: a channel's own message, else the exception's type too."""
    return ch.redact(str(exc)) if isinstance(exc, ch.DeliveryError) else f"{type(exc).__name__}: {ch.redact(str(exc))}"
