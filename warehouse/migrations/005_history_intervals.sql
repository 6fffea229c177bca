-- 005: each event_history row says how long its state held, and carries what `--as-of` filters on.
--
-- The state of an event at t is its history row learned last by t. 004 found it by aggregating
-- every row learned by t (arg_max per event: a hash aggregate of ~1M groups at 1M events, 180-360
-- ms before any filter or LIMIT). Now a row also says when a later change replaced it
-- (superseded_at; NULL while it is the event's current state), so the states at t are a plain
-- filter, one row per event known at t:
--     learned_at <= t AND (superseded_at IS NULL OR superseded_at > t)
-- Rows of one write carry the same state; all but one of them are superseded the instant they
-- were learned (superseded_at = learned_at), so they are never the state. Which one stays follows
-- 004's key: the latest learned_at, a change before 'created' learned at the same instant.
--
-- The state's date as a range (date_start, date_end: what `--since/--until` filter and the
-- order sorts on) and the event's type and parties_key (its identity: they never change) are
-- copied onto the row, so the as-of filters and the top-N read event_history alone and only the
-- rows shown are joined with events. warehouse/eventlog.py writes all five with every row.

ALTER TABLE event_history ADD COLUMN superseded_at TIMESTAMPTZ;
ALTER TABLE event_history ADD COLUMN date_start DATE;
ALTER TABLE event_history ADD COLUMN date_end DATE;
ALTER TABLE event_history ADD COLUMN type VARCHAR;
ALTER TABLE event_history ADD COLUMN parties_key VARCHAR;

UPDATE event_history SET
    type = e.type,
    parties_key = e.parties_key,
    date_start = (CASE length(event_history.date) WHEN 4 THEN event_history.date || '-01-01'
                  WHEN 7 THEN event_history.date || '-01' ELSE event_history.date END)::DATE,
    date_end = (CASE length(event_history.date) WHEN 4 THEN event_history.date || '-12-31'
                WHEN 7 THEN last_day((event_history.date || '-01')::DATE)::VARCHAR ELSE event_history.date END)::DATE
FROM events e
WHERE event_history.event_id = e.event_id;

-- Rows are matched by rowid: nothing else is sure to tell two rows of one write apart.
UPDATE event_history SET superseded_at = n.next_learned_at
FROM (
    SELECT rowid AS rid,
           lead(learned_at) OVER (PARTITION BY event_id ORDER BY learned_at, change <> 'created', change, rowid)
               AS next_learned_at
    FROM event_history
) n
WHERE event_history.rowid = n.rid AND n.next_learned_at IS NOT NULL;

DROP MACRO TABLE events_as_of;

CREATE MACRO events_as_of(t) AS TABLE
    WITH last AS (
        SELECT event_id, status, date, date_precision, location, learned_at FROM event_history
        WHERE learned_at <= t AND (superseded_at IS NULL OR superseded_at > t) AND NOT retracted
    ),
    counts AS (
        SELECT event_id, count(*) AS mention_count FROM event_mentions
        WHERE extracted_at <= t AND (retracted_at IS NULL OR retracted_at > t) GROUP BY 1
    )
    SELECT e.event_id, e.type, e.parties, last.status, last.date, last.date_precision, last.location,
           coalesce(counts.mention_count, 0) AS mention_count, last.learned_at AS as_of_change
    FROM last JOIN events e USING (event_id) LEFT JOIN counts USING (event_id);
