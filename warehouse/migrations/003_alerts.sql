-- 003: alerts. An outbox written in the same transaction as the event change that caused it,
-- and one delivery row per (alert, channel) that records every attempt.

CREATE TABLE alerts (
    alert_id      VARCHAR PRIMARY KEY,   -- sha256(event_id | kind | value): a second insert is impossible
    event_id      VARCHAR NOT NULL,
    kind          VARCHAR NOT NULL,      -- partnership.new | partnership.status | summit.new | summit.status |
                                         -- summit.upcoming | summit.overdue
    value         VARCHAR,               -- the new status, or the summit date watched
    old_value     VARCHAR,
    rules         VARCHAR[] NOT NULL,    -- the alert rules that matched
    created_at    TIMESTAMPTZ NOT NULL,
    run_id        VARCHAR
);

CREATE TABLE alert_deliveries (
    alert_id        VARCHAR NOT NULL,
    channel_key     VARCHAR NOT NULL,    -- cfg:<name> for configured channels, url:<hash> for --notify URLs
    channel_label   VARCHAR NOT NULL,    -- for people: never contains a secret
    status          VARCHAR NOT NULL,    -- pending | sent | skipped (backfill marked as seen)
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      VARCHAR,
    last_attempt_at TIMESTAMPTZ,
    next_attempt_at TIMESTAMPTZ,
    sent_at         TIMESTAMPTZ,
    PRIMARY KEY (alert_id, channel_key)
);

ALTER TABLE runs ADD COLUMN alerts_new INTEGER DEFAULT 0;
ALTER TABLE runs ADD COLUMN alerts_sent INTEGER DEFAULT 0;
ALTER TABLE runs ADD COLUMN alerts_failed INTEGER DEFAULT 0;
