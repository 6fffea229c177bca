"""Errors of the pipeline, tagged transient or terminal so retries are decided by type."""

from __future__ import annotations


class DefwatchError(Exception):
    """Base of every error defwatch raises on purpose; its message is for a person."""

    exit_code = 1


class BadInput(DefwatchError):
    """An argument, option or file the user gave is not what the command takes: nothing was done."""

    exit_code = 2


class ConfigError(DefwatchError):
    """Settings or the feed registry are wrong: nothing was touched."""

    exit_code = 2


class FetchError(DefwatchError):
    """One request failed. ``kind`` is a stable code; ``transient`` says whether retrying may help."""

    def __init__(self, kind: str, message: str, *, transient: bool, status: int | None = None,
                 retry_after_s: float | None = None):
        super().__init__(message)
        self.kind = kind
        self.transient = transient
        self.status = status
        self.retry_after_s = retry_after_s


# Stable error kinds recorded in feed_state.last_error_kind and run_errors.kind.
TRANSIENT_KINDS = frozenset({"timeout", "connect", "dns", "http_5xx", "http_429", "network", "slow_body"})
TERMINAL_KINDS = frozenset({
    "http_4xx", "too_large", "redirect_loop", "too_many_redirects", "bad_url", "blocked_address",
    "not_a_feed", "empty_feed", "empty_page", "not_html", "decode",
})
