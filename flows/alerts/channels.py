"""Alert channels: log, webhook (JSON + HMAC-SHA256), e-mail (SMTP, STARTTLS when offered),
any apprise URL, and Prefect events. Each ``send`` either returns or raises ``DeliveryError``
with a message that contains no secret."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import re
import smtplib
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any, cast
from urllib.parse import urlsplit

from flows.errors import ConfigError, DefwatchError
from flows.settings import ChannelDef

log = logging.getLogger("defwatch.alerts")
SIGNATURE_HEADER = "X-Defwatch-Signature"


class DeliveryError(DefwatchError):
    """A channel refused or could not take the message; the delivery stays pending."""


ALERT_ID_HEADER = "X-Defwatch-Alert-Id"


@dataclass
class Message:
    alert_id: str
    kind: str
    title: str
    text: str
    payload: dict[str, Any] = field(default_factory=dict)


_SECRET_IN_URL = re.compile(r"(?<=://)[^/@\s]+@")


def redact(text: str, secrets: list[str] | None = None) -> str:
    """Remove credentials from URLs and any known secret value from a message."""
    text = _SECRET_IN_URL.sub("***@", text)
    for s in secrets or []:
        if s and len(s) >= 4:
            text = text.replace(s, "***")
    return text


def label_for_url(url: str) -> str:
    """What people see for a --notify URL: scheme and host only (paths often carry tokens)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}/…" if parts.path not in ("", "/") else f"{parts.scheme}://{host}{port}"


def url_key(url: str) -> str:
    return "url:" + hashlib.sha256(url.encode()).hexdigest()[:12]


class Channel:
    key: str
    label: str

    def send(self, msg: Message) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def flush(self) -> None:
        """Push out what ``send`` buffered (channels that buffer: ``LogChannel``)."""


class LogChannel(Channel):
    """Alerts as lines of the run's log: one line an alert (kind, title, the evidence cut to 160
    characters, event and alert ids), as a log reads; the whole message is in the alerts table
    and goes to the channels people read (e-mail, chat, webhooks). ``send`` buffers, ``flush``
    writes one log record for all buffered alerts: a Prefect log record costs ~2.6 ms of CPU
    between the console and the API server, a record of 50 alerts ~0.2 ms per alert (measured).
    The console renders every character with rich (wrapping, highlighting): the ten-line messages
    it wrote before cost 0.52 ms per alert, the single lines 0.16 ms (benchmarks/alert_channels.py:
    0.45 vs 0.14 s of CPU for a first run's 868 alerts)."""

    EVIDENCE_CHARS = 160

    def __init__(self, name: str = "log"):
        self.key, self.label = f"cfg:{name}", name
        self._pending: list[str] = []

    def send(self, msg: Message) -> None:
        ev = msg.payload.get("event", {})
        evidence = " ".join(str(ev.get("evidence") or "").split())
        if len(evidence) > self.EVIDENCE_CHARS:
            evidence = evidence[:self.EVIDENCE_CHARS - 1].rstrip() + "…"
        quoted = f" — \u201c{evidence}\u201d" if evidence else ""
        self._pending.append(f"ALERT {msg.kind} — {msg.title}{quoted} · event {ev.get('event_id')} · "
                             f"alert {msg.alert_id}")

    def flush(self) -> None:
        if not self._pending:
            return
        lines, self._pending = self._pending, []
        try:
            from prefect import get_run_logger

            logger = get_run_logger()
        except Exception:  # outside a flow run
            logger = log
        logger.info("%s", "\n".join(lines))


class PrefectEventChannel(Channel):
    """Alerts as Prefect events (``defwatch.partnership.new``, …) so Prefect automations can act on
    them: one event per alert, since an automation triggers per event.

    ``send`` builds the event (serialised once) and ``flush`` posts the buffered ones in one
    request to the Prefect API's ``POST /events``. Why not ``emit_event`` per alert: it only
    queues the event for a background thread, so a delivery was marked sent while the event could
    still be lost (API down, process ending); a POST answers, and a refused batch raises
    ``DeliveryError`` so its alerts stay pending and are retried. CPU is about the same either
    way: the server's own work, ~1.7-2 ms per event, dominates; the client's share falls from
    ~0.3 to ~0.14 ms per alert (benchmarks/alert_channels.py). Prefect Cloud takes events over its
    websocket only, so there each event still goes through ``emit_event``'s worker."""

    def __init__(self, name: str = "prefect"):
        self.key, self.label = f"cfg:{name}", name
        self._pending: list[tuple[Any, str]] = []  # (event, its JSON)
        self._related_cache: tuple[tuple, list[Any]] = ((), [])  # (run ids, their resources)

    def _related(self) -> list[Any]:
        """The flow run (and task run) an alert is sent from, as Prefect's events worker would
        attach them (automations filter on them, the UI links the event to the run); built once
        per run, not once per alert."""
        from prefect.context import FlowRunContext, TaskRunContext
        from prefect.events.related import object_as_related_resource

        flow_run = getattr(FlowRunContext.get(), "flow_run", None)
        task_run = getattr(TaskRunContext.get(), "task_run", None)
        ids = (getattr(flow_run, "id", None), getattr(task_run, "id", None))
        if ids != self._related_cache[0]:
            runs = (("flow-run", flow_run), ("task-run", task_run))
            self._related_cache = (ids, [object_as_related_resource(kind, kind, run) for kind, run in runs if run])
        return self._related_cache[1]

    def send(self, msg: Message) -> None:
        from prefect.events import Event
        from prefect.settings import get_current_settings

        ev = msg.payload.get("event", {})
        event = Event(
            event=f"defwatch.{msg.kind}",
            resource={"prefect.resource.id": f"defwatch.event.{ev.get('event_id')}",
                      "prefect.resource.name": msg.title[:200]},
            related=self._related(),
            payload=msg.payload,
        )
        body = event.model_dump_json()  # once: its size is checked here, and it is what flush posts
        limit, size = get_current_settings().server.events.maximum_size_bytes, len(body.encode())
        if size > limit:
            raise DeliveryError(f"the Prefect event for this alert is {size:,} bytes; "
                                f"the Prefect API takes at most {limit:,} (PREFECT_SERVER_EVENTS_MAXIMUM_SIZE_BYTES)")
        self._pending.append((event, body))

    def flush(self) -> None:
        if not self._pending:
            return
        events, self._pending = self._pending, []
        from prefect.events.worker import EventsWorker, emit_events_to_cloud, should_emit_events

        if not should_emit_events():
            raise DeliveryError("Prefect events are not enabled in this process (no Prefect API to send to)")
        if emit_events_to_cloud():
            worker = EventsWorker.instance()
            for event, _ in events:
                worker.send(event)
            return
        from prefect.client.orchestration import get_client

        body = ("[" + ",".join(b for _, b in events) + "]").encode()
        try:
            with get_client(sync_client=True) as client:
                client.request("POST", "/events", content=body, headers={"Content-Type": "application/json"})
        except Exception as exc:  # HTTP status, connection, or an API without the route
            raise DeliveryError(f"the Prefect API did not take {len(events)} event(s): "
                                f"{type(exc).__name__}: {redact(str(exc))[:300]}") from None


class WebhookChannel(Channel):
    def __init__(self, key: str, label: str, url: str, secret: str | None, timeout_s: float = 15.0):
        self.key, self.label, self.url, self.secret, self.timeout_s = key, label, url, secret, timeout_s

    def send(self, msg: Message) -> None:
        import httpx

        body = json.dumps({"alert_id": msg.alert_id, "kind": msg.kind, "title": msg.title, "text": msg.text,
                           **msg.payload}, ensure_ascii=False, sort_keys=True).encode()
        headers = {"Content-Type": "application/json", ALERT_ID_HEADER: msg.alert_id,
                   "User-Agent": "defwatch-alerts/0.1"}
        if self.secret:
            sig = hmac.new(self.secret.encode(), body, hashlib.sha256).hexdigest()
            headers[SIGNATURE_HEADER] = f"sha256={sig}"
        try:
            resp = httpx.post(self.url, content=body, headers=headers, timeout=self.timeout_s)
        except httpx.HTTPError as exc:
            raise DeliveryError(f"webhook {self.label}: {type(exc).__name__}: {redact(str(exc), [self.secret or ''])}") from None
        if resp.status_code >= 300:
            raise DeliveryError(f"webhook {self.label} answered HTTP {resp.status_code}")


def verify_signature(secret: str, body: bytes, header: str) -> bool:
    """For receivers (and tests): check X-Defwatch-Signature."""
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header or "")


class EmailChannel(Channel):
    def __init__(self, d: ChannelDef):
        self.key, self.label, self.d = f"cfg:{d.name}", f"{d.name} (smtp {d.host}:{d.port})", d
        if not d.host or not d.recipients:
            raise ConfigError(f"alert channel {d.name!r}: e-mail needs `host` and `recipients`.")
        self.password = os.environ.get(d.password_env) if d.username else None
        if d.username and not self.password:
            raise ConfigError(f"alert channel {d.name!r}: username given but ${d.password_env} is not set.")

    def send(self, msg: Message) -> None:
        d = self.d
        em = EmailMessage()
        em["Subject"] = msg.title
        em["From"] = d.sender
        em["To"] = ", ".join(d.recipients)
        em["Date"] = formatdate(localtime=False)
        # A stable Message-ID: a re-sent alert is recognisably the same message.
        em["Message-ID"] = f"<{msg.alert_id}@defwatch>"
        em[ALERT_ID_HEADER] = msg.alert_id
        em.set_content(msg.text)
        try:
            with smtplib.SMTP(cast(str, d.host), d.port, timeout=d.timeout_s) as smtp:
                smtp.ehlo()
                if d.starttls and smtp.has_extn("starttls"):
                    import ssl

                    smtp.starttls(context=ssl.create_default_context())
                    smtp.ehlo()
                if d.username:
                    smtp.login(d.username, self.password or "")
                smtp.send_message(em)
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"e-mail via {d.host}:{d.port}: {redact(str(exc), [self.password or ''])}") from None


class AppriseChannel(Channel):
    def __init__(self, key: str, label: str, url: str):
        self.key, self.label, self.url = key, label, url

    def send(self, msg: Message) -> None:
        import apprise

        ap = apprise.Apprise()
        plugin = apprise.Apprise.instantiate(self.url)
        if plugin is None or not ap.add(plugin):
            raise DeliveryError(f"{self.label}: not a URL apprise understands")
        # The alert id as structured data wherever the service allows it (apprise's own
        # `+Header=` and `:field=` URL options): a header on every HTTP-posting and e-mail service
        # that takes extra headers (json://, form://, xml://, mailto://), and a field of the JSON
        # body of json:// (next to apprise's version, title, message and type). Elsewhere (Slack,
        # Telegram, …) it is in the message text only.
        if isinstance(getattr(plugin, "headers", None), dict):
            plugin.headers[ALERT_ID_HEADER] = msg.alert_id
        if isinstance(getattr(plugin, "payload_extras", None), dict):
            plugin.payload_extras["alert_id"] = msg.alert_id
        with apprise.LogCapture(level=logging.WARNING) as captured:
            ok = ap.notify(body=msg.text, title=msg.title)
        if not ok:
            detail = redact(captured.getvalue().strip().replace("\n", " "), [self.url])[:300]
            raise DeliveryError(f"{self.label}: delivery failed ({detail or 'no detail from apprise'})")


def from_config(d: ChannelDef) -> Channel:
    if d.type == "log":
        return LogChannel(d.name)
    if d.type == "prefect":
        return PrefectEventChannel(d.name)
    url = d.url or (os.environ.get(d.url_env) if d.url_env else None)
    if d.type in ("webhook", "apprise") and not url:
        where = f"${d.url_env}" if d.url_env else "`url`"
        raise ConfigError(f"alert channel {d.name!r}: no address ({where} is empty).")
    if d.type == "email":
        return EmailChannel(d)
    address = cast(str, url)  # webhook and apprise: refused above when empty
    if d.type == "webhook":
        return WebhookChannel(f"cfg:{d.name}", d.name, address, os.environ.get(d.secret_env), d.timeout_s)
    return AppriseChannel(f"cfg:{d.name}", d.name, address)


def from_notify_url(url: str) -> Channel:
    """A channel given on the command line (--notify / DEFWATCH_NOTIFY), in apprise's URL syntax."""
    return AppriseChannel(url_key(url), label_for_url(url), url)


def builtin(name: str) -> Channel | None:
    return {"log": LogChannel, "prefect": PrefectEventChannel}.get(name, lambda: None)()
