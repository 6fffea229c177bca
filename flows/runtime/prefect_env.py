"""Prefect defaults for an offline, embedded run. Imported before prefect itself."""

from __future__ import annotations

import os

# No internet: telemetry would log an ERROR on every run.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
# The ephemeral server takes 8-15 s to start here; the 20 s default is too tight on a busy machine.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")


def quiet_heartbeats():
    """Flow heartbeats add ~1 s to every run of a short flow; ingest runs report progress themselves."""
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    return temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None})
