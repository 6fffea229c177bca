-- 007: the analyst's judgement. Append-only: a judgement is never updated or deleted; a later
-- one (e.g. `confirm` after `reject`) takes effect over it. The event's judged state is also kept
-- on events (what listings read) and on every event_history row (what `--as-of` reads), written
-- by warehouse/judgements.py and carried forward by warehouse/eventlog.py.

CREATE TABLE judgements (
    judgement_id      VARCHAR PRIMARY KEY,  -- 16 hex digits
    event_id          VARCHAR NOT NULL,
    kind              VARCHAR NOT NULL,     -- confirm | reject | correct | merge | split
    fields            VARCHAR,              -- correct: JSON {"field": [old, new], ...}
    other_event_id    VARCHAR,              -- merge: the event this one is the same as
    judged_by         VARCHAR NOT NULL,
    note              VARCHAR,
    judged_at         TIMESTAMPTZ NOT NULL
);

-- The judged state: confirmed | rejected | corrected | merged (NULL: not judged).
ALTER TABLE events ADD COLUMN judgement VARCHAR;
ALTER TABLE events ADD COLUMN judged_at TIMESTAMPTZ;
ALTER TABLE events ADD COLUMN merged_into VARCHAR;
-- The type the extractor gave an event whose type was corrected: new mentions still find it.
ALTER TABLE events ADD COLUMN extracted_type VARCHAR;

ALTER TABLE event_history ADD COLUMN judgement VARCHAR;
ALTER TABLE event_history ADD COLUMN judgement_id VARCHAR;

-- Rejected events and events merged into another are not events of the log.
DROP VIEW partnerships;
DROP VIEW summits;
CREATE VIEW partnerships AS
    SELECT * FROM events WHERE type = 'partnership' AND retracted_at IS NULL
        AND judgement IS DISTINCT FROM 'rejected' AND merged_into IS NULL;
CREATE VIEW summits AS
    SELECT * FROM events WHERE type = 'summit' AND retracted_at IS NULL
        AND judgement IS DISTINCT FROM 'rejected' AND merged_into IS NULL;

DROP MACRO TABLE events_new_since;
CREATE MACRO events_new_since(since) AS TABLE
    SELECT * FROM events WHERE first_seen >= since AND retracted_at IS NULL
        AND judgement IS DISTINCT FROM 'rejected' AND merged_into IS NULL ORDER BY first_seen;

-- As 005's (the same columns), with the judged state then: an event rejected or merged by t is not
-- in the log at t.
DROP MACRO TABLE events_as_of;
CREATE MACRO events_as_of(t) AS TABLE
    WITH last AS (
        SELECT event_id, status, date, date_precision, location, learned_at, judgement FROM event_history
        WHERE learned_at <= t AND (superseded_at IS NULL OR superseded_at > t) AND NOT retracted
          AND judgement IS DISTINCT FROM 'rejected' AND judgement IS DISTINCT FROM 'merged'
    ),
    counts AS (
        SELECT event_id, count(*) AS mention_count FROM event_mentions
        WHERE extracted_at <= t AND (retracted_at IS NULL OR retracted_at > t) GROUP BY 1
    )
    SELECT e.event_id, e.type, e.parties, last.status, last.date, last.date_precision, last.location,
           coalesce(counts.mention_count, 0) AS mention_count, last.learned_at AS as_of_change
    FROM last JOIN events e USING (event_id) LEFT JOIN counts USING (event_id);

-- Alerts that wait for corroboration (an alert rule's min_reports / min_feeds / hold_hours): the
-- alert and its deliveries are written at once (deliveries 'held'), and each run decides: enough
-- independent outlets report the event -> 'pending' (sent); the window passed -> 'pending' saying
-- it is uncorroborated, or 'dropped' (recorded, never silent); the event rejected -> 'withdrawn'.
CREATE TABLE alert_holds (
    alert_id          VARCHAR PRIMARY KEY,
    min_reports       INTEGER NOT NULL,
    min_feeds         INTEGER NOT NULL,
    official_exempt   BOOLEAN NOT NULL,     -- a report from a feed tagged 'official' is enough
    on_timeout        VARCHAR NOT NULL,     -- send | drop
    held_at           TIMESTAMPTZ NOT NULL,
    hold_until        TIMESTAMPTZ NOT NULL,
    released_at       TIMESTAMPTZ,
    outcome           VARCHAR,              -- corroborated | official | uncorroborated | dropped | withdrawn
    reports           INTEGER,              -- articles reporting the event when it was released
    feeds             INTEGER               -- independent outlets (distinct feeds of original articles)
);
