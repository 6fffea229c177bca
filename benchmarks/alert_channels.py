"""Alert channels that answer at once (log, Prefect events): CPU per alert, against the plain call.

    python benchmarks/alert_channels.py            # 868 alerts (a first run of the e2e corpus)
    python benchmarks/alert_channels.py --quick    # 100 alerts (CI)

Inside one real Prefect flow run (ephemeral server, as `defwatch ingest` has it), the same
alerts go out four ways:
- `log`, as shipped: ``flows.alerts.channels.LogChannel``, one line an alert, one log record per 200;
- `log`, whole messages: the ten-line text of each alert, one record per 200 (what it did before);
- `prefect`, as shipped: ``flows.alerts.channels.PrefectEventChannel``, one event an alert, posted in
  one request per 200;
- `prefect`, the plain call (the floor): Prefect's ``emit_event`` once per alert, waiting until
  its worker has sent them all.
Figures: CPU seconds of this process and of the Prefect server process (read from /proc), and
the total per alert. Medians of --repeat rounds.
"""

from __future__ import annotations

import argparse
import os
import time

import _lib
from _lib import median, result, section

CHUNK = 200  # what flows.alerts.delivery delivers per chunk to local channels


def _server_cpu() -> float:
    """CPU seconds of this process's children: the ephemeral Prefect server."""
    tick, total, me = os.sysconf("SC_CLK_TCK"), 0.0, os.getpid()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                st = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(st[1]) == me:
            total += (int(st[11]) + int(st[12])) / tick
    return total


def _self_cpu() -> float:
    t = os.times()
    return t.user + t.system


def messages(n: int):
    from flows.alerts.delivery import format_message

    out = []
    for i in range(n):
        row = {"alert_id": f"{i:016x}", "event_id": f"{i * 7919:016x}", "kind": "partnership.new",
               "type": "partnership", "parties": ["Canada", "European Union"], "status": "signed",
               "date": "2025-06-23", "date_precision": "day", "location": "Brussels", "confidence": 0.9,
               "mention_count": 2, "value": "signed", "old_value": None,
               "evidence": f"The European Union and Canada signed a security and defence partnership at "
                           f"their summit in Brussels on Monday, officials said ({i}).",
               "articles": [{"url": f"http://127.0.0.12/articles/eu-canada-{i}.html", "title": "EU and Canada sign",
                             "site": "example"},
                            {"url": f"http://127.0.0.13/articles/canada-eu-{i}.html", "title": "Canada joins",
                             "site": "example"}]}
        out.append(format_message(row))
    return out


def run_round(msgs) -> dict[str, tuple[float, float]]:
    from prefect import get_run_logger
    from prefect.events import emit_event
    from prefect.events.worker import EventsWorker

    from flows.alerts.channels import LogChannel, PrefectEventChannel

    def settle() -> None:
        """Wait until the server is idle: it persists events in the background after a request."""
        last = _server_cpu()
        while True:
            time.sleep(0.5)
            now = _server_cpu()
            if now - last < 0.02:
                return
            last = now

    def measure(fn) -> tuple[float, float]:
        settle()
        c0, s0 = _self_cpu(), _server_cpu()
        fn()
        settle()
        return _self_cpu() - c0, _server_cpu() - s0

    def shipped(channel):
        def go():
            for k in range(0, len(msgs), CHUNK):
                for m in msgs[k:k + CHUNK]:
                    channel.send(m)
                channel.flush()
        return go

    def whole_messages():
        logger = get_run_logger()
        for k in range(0, len(msgs), CHUNK):
            logger.info("%s", "\n\n".join(f"ALERT {m.kind} — {m.title}\n{m.text}" for m in msgs[k:k + CHUNK]))

    def emit_each():
        for m in msgs:
            emit_event(event=f"defwatch.{m.kind}",
                       resource={"prefect.resource.id": f"defwatch.event.{m.payload['event']['event_id']}",
                                 "prefect.resource.name": m.title[:200]},
                       payload=m.payload)
        EventsWorker.instance().wait_until_empty()

    return {"log": measure(shipped(LogChannel())), "log_whole": measure(whole_messages),
            "prefect": measure(shipped(PrefectEventChannel())), "prefect_emit_each": measure(emit_each)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--alerts", type=int, default=868)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    if a.quick:
        a.alerts, a.repeat = 100, 1
    _lib.print_machine()
    with _lib.workdir("alerts") as tmp:
        os.environ.update(_lib.bench_env(tmp))
        from prefect import flow

        msgs = messages(a.alerts)

        @flow(name="alert-channels-bench")
        def rounds_in_a_flow_run() -> list[dict]:
            return [run_round(msgs) for _ in range(a.repeat)]

        rounds = rounds_in_a_flow_run()
    section(f"{a.alerts} alerts, chunks of {CHUNK}, medians of {a.repeat}")
    per = {}
    for key in rounds[0]:
        cli, server = median([r[key][0] for r in rounds]), median([r[key][1] for r in rounds])
        per[key] = (cli, server)
        print(f"{key:18s} CPU here {cli:.3f} s, Prefect server {server:.3f} s", flush=True)
    for shipped, floor, what in (("log", "log_whole", "one line an alert vs the whole ten-line message"),
                                 ("prefect", "prefect_emit_each", "batched POST vs emit_event per alert")):
        v = sum(per[shipped]) / a.alerts * 1000
        f = sum(per[floor]) / a.alerts * 1000
        result(f"alert_channels.{shipped}_cpu_ms_per_alert", v, "ms", floor=f, ratio=f / v if v else None,
               note=f"{what}; this process + Prefect server")


if __name__ == "__main__":
    main()
