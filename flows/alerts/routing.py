"""Alert routing: which change or watched summit becomes an alert, and for which channels.

Alerts are made from the event log's changes inside the transaction that writes them (see
``flows.ingest.store_batch_task``); delivery (``flows.alerts.delivery``) happens afterwards and is
retried with backoff until the channel takes the message. Nothing is ever dropped: a channel that
keeps failing keeps its alerts pending (see ``defwatch alerts list``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flows.alerts import channels as ch
from flows.errors import ConfigError
from flows.settings import AlertRule, AlertSettings
from warehouse import alerts as walerts
from warehouse.statuses import STATUS_RANK


@dataclass
class Channels:
    """Every channel a run can deliver to, and which rules route to which of them."""

    by_key: dict[str, ch.Channel] = field(default_factory=dict)
    by_name: dict[str, str] = field(default_factory=dict)   # configured name -> key
    adhoc: list[str] = field(default_factory=list)          # keys of --notify channels

    @classmethod
    def build(cls, settings: AlertSettings, notify: Sequence[str] = ()) -> Channels:
        out = cls()
        for d in settings.channels:
            c = ch.from_config(d)
            out.by_key[c.key] = c
            out.by_name[d.name] = c.key
        for rule in settings.rules:
            for name in rule.channels:
                if name in out.by_name:
                    continue
                builtin = ch.builtin(name)
                if builtin is None:
                    raise ConfigError(f"alert rule {rule.name!r} names channel {name!r}, which is not defined "
                                      f"under [[alerts.channels]] (built in: log, prefect).")
                out.by_key[builtin.key] = builtin
                out.by_name[name] = builtin.key
        for url in notify:
            c = ch.from_notify_url(url)
            out.by_key[c.key] = c
            out.adhoc.append(c.key)
        return out


def _rule_matches(rule: AlertRule, event_type: str, change: str, parties: Sequence[str], status: str | None,
                  confidence: float | None) -> bool:
    return (event_type in rule.types and change in rule.changes
            and (not rule.parties or any(p in parties for p in rule.parties))
            and (not rule.statuses or status in rule.statuses)
            and (confidence or 0.0) >= rule.min_confidence)


def route(settings: AlertSettings, chans: Channels, event_type: str, change: str, parties: Sequence[str],
          status: str | None, confidence: float | None) -> tuple[list[str], list[str]]:
    """(matching rule names, channel keys) for one candidate alert."""
    rules: list[str] = []
    keys: list[str] = []
    for rule in settings.rules:
        if _rule_matches(rule, event_type, change, parties, status, confidence):
            rules.append(rule.name)
            keys.extend(chans.by_name[n] for n in rule.channels if chans.by_name[n] not in keys)
    if rules:
        keys.extend(k for k in chans.adhoc if k not in keys)
    return rules, keys


def _delivery_rows(alert_id: str, keys: Sequence[str], chans: Channels, skipped: bool) -> list[dict]:
    return [{"alert_id": alert_id, "channel_key": k, "channel_label": chans.by_key[k].label,
             "status": "skipped" if skipped else "pending", "attempts": 0, "last_error": None,
             "last_attempt_at": None, "next_attempt_at": None, "sent_at": None} for k in keys]


def alerts_for_changes(changes, settings: AlertSettings, chans: Channels, run_id: str | None, now: datetime,
                       mark_seen: bool = False) -> tuple[list[dict], list[dict]]:
    """Alerts for an event log change set: a new event, or a status that advanced."""
    alerts, deliveries = [], []
    for c in changes:
        if getattr(c, "judgement", None) in ("rejected", "merged"):
            continue  # the analyst said it is not an event (or is another one): nothing more is sent
        if c.change == "created":
            change, value, old = "new", c.state.status, None
        elif c.change == "status":
            ranks = STATUS_RANK.get(c.type, {})
            if ranks.get(c.new_value, 0) <= ranks.get(c.old_value, 0):
                continue
            change, value, old = "status", c.new_value, c.old_value
        else:
            continue
        rules, keys = route(settings, chans, c.type, change, c.parties, c.state.status, c.state.confidence)
        if not rules:
            continue
        kind = f"{c.type}.{change}"
        aid = walerts.alert_id(c.event_id, kind, value if change == "status" else None)
        hold = None if mark_seen else corroboration_hold(settings, rules, now)
        alerts.append({"alert_id": aid, "event_id": c.event_id, "kind": kind, "value": value, "old_value": old,
                       "rules": rules, "created_at": now, "run_id": run_id, "hold": hold})
        rows = _delivery_rows(aid, keys, chans, mark_seen)
        if hold:
            for d in rows:
                d["status"] = "held"
        deliveries.extend(rows)
    return alerts, deliveries


def corroboration_hold(settings: AlertSettings, rule_names: Sequence[str], now: datetime) -> dict | None:
    """What an alert waits for, if a rule it matched asks for corroboration: the strictest
    counts and the longest window of those rules; dropped at the end if any of them says so."""
    needing = [r for r in settings.rules if r.name in rule_names and r.needs_corroboration]
    if not needing:
        return None
    hours = max(r.hold_hours for r in needing)
    return {"min_reports": max(r.min_reports for r in needing), "min_feeds": max(r.min_feeds for r in needing),
            "official_exempt": all(r.official_feeds for r in needing),
            "on_timeout": "drop" if any(r.on_timeout == "drop" for r in needing) else "send",
            "held_at": now, "hold_until": now + timedelta(hours=hours)}


def summit_watch(summits: Sequence[dict], settings: AlertSettings, chans: Channels, run_id: str | None,
                 now: datetime, today: date | None = None) -> tuple[list[dict], list[dict]]:
    """Upcoming planned summits (within summit_days_before) and planned summits whose date passed."""
    today = today or now.date()
    alerts, deliveries = [], []
    for s in summits:
        try:
            when = date.fromisoformat(s["date"])
        except (TypeError, ValueError):
            continue
        if s["status"] in (None, "planned") and today <= when <= today + timedelta(days=settings.summit_days_before):
            change = "upcoming"
        elif when < today and s["status"] in (None, "planned"):
            # A summit reported cancelled (or postponed, which the extractor files as cancelled)
            # had its report: "date passed without a report" would be wrong about it.
            change = "overdue"
        else:
            continue
        rules, keys = route(settings, chans, "summit", change, s["parties"], s["status"], s["confidence"])
        if not rules:
            continue
        kind = f"summit.{change}"
        aid = walerts.alert_id(s["event_id"], kind, s["date"])
        alerts.append({"alert_id": aid, "event_id": s["event_id"], "kind": kind, "value": s["date"],
                       "old_value": None, "rules": rules, "created_at": now, "run_id": run_id})
        deliveries.extend(_delivery_rows(aid, keys, chans, False))
    return alerts, deliveries
