-- 002: the event log. One row per real-world event, one per article that reports it, and every
-- change of an event with the time defwatch learned it.

CREATE TABLE events (
    event_id          VARCHAR PRIMARY KEY,  -- sha256(type | parties | anchor date), 16 hex digits
    type              VARCHAR NOT NULL,     -- partnership | summit
    parties           VARCHAR[] NOT NULL,   -- canonical names, sorted
    parties_key       VARCHAR NOT NULL,     -- the same, joined with '|': the identity key
    status            VARCHAR,
    date              VARCHAR,              -- YYYY | YYYY-MM | YYYY-MM-DD
    date_precision    VARCHAR,              -- year | month | day
    date_start        DATE,                 -- the date as a range, for SQL filters
    date_end          DATE,
    location          VARCHAR,
    evidence          VARCHAR,              -- the clearest sentence among its mentions
    evidence_article_id VARCHAR,
    confidence        DOUBLE,               -- highest of its mentions
    mention_count     INTEGER NOT NULL,     -- articles reporting it (active mentions)
    first_reported    TIMESTAMPTZ,          -- earliest publication date among its articles
    first_seen        TIMESTAMPTZ NOT NULL, -- when defwatch first learned of it
    last_seen         TIMESTAMPTZ NOT NULL, -- when defwatch last saw a new report of it
    retracted_at      TIMESTAMPTZ,          -- set when a rule change left it with no mention
    updated_at        TIMESTAMPTZ NOT NULL
);

CREATE TABLE event_mentions (
    event_id          VARCHAR NOT NULL,
    article_id        VARCHAR NOT NULL,
    evidence          VARCHAR NOT NULL,
    evidence_start    INTEGER,              -- character offsets of the evidence in articles.text
    evidence_end      INTEGER,
    status            VARCHAR,              -- as this article states them
    date              VARCHAR,
    date_text         VARCHAR,
    location          VARCHAR,
    confidence        DOUBLE,
    rule              VARCHAR,
    ruleset_version   VARCHAR NOT NULL,
    published         TIMESTAMPTZ,
    extracted_at      TIMESTAMPTZ NOT NULL,
    retracted_at      TIMESTAMPTZ,          -- a later rule set no longer finds it
    PRIMARY KEY (event_id, article_id)
);

-- Every change of an event, with the state after it: "as of" queries read the latest row per
-- event learned before a given time.
CREATE TABLE event_history (
    event_id          VARCHAR NOT NULL,
    learned_at        TIMESTAMPTZ NOT NULL,
    change            VARCHAR NOT NULL,     -- created | status | date | location | retracted | restored
    old_value         VARCHAR,
    new_value         VARCHAR,
    status            VARCHAR,
    date              VARCHAR,
    date_precision    VARCHAR,
    location          VARCHAR,
    retracted         BOOLEAN NOT NULL DEFAULT FALSE,
    article_id        VARCHAR,              -- the mention that caused it
    ruleset_version   VARCHAR,
    cause             VARCHAR NOT NULL      -- ingest | reextract
);

-- Which rule set last read each article (also for articles with no event).
CREATE TABLE article_extractions (
    article_id        VARCHAR PRIMARY KEY,
    ruleset_version   VARCHAR NOT NULL,
    events            INTEGER NOT NULL,
    extracted_at      TIMESTAMPTZ NOT NULL
);

CREATE VIEW partnerships AS
    SELECT * FROM events WHERE type = 'partnership' AND retracted_at IS NULL;

CREATE VIEW summits AS
    SELECT * FROM events WHERE type = 'summit' AND retracted_at IS NULL;

-- SELECT * FROM events_new_since(TIMESTAMPTZ '2025-06-01')
CREATE MACRO events_new_since(since) AS TABLE
    SELECT * FROM events WHERE first_seen >= since AND retracted_at IS NULL ORDER BY first_seen;

-- SELECT * FROM events_as_of(TIMESTAMPTZ '2025-06-01'): the log as it was known then.
CREATE MACRO events_as_of(t) AS TABLE
    WITH last AS (
        SELECT * FROM event_history WHERE learned_at <= t
        QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY learned_at DESC, change = 'created') = 1
    ),
    counts AS (
        SELECT event_id, count(*) AS mention_count FROM event_mentions
        WHERE extracted_at <= t AND (retracted_at IS NULL OR retracted_at > t) GROUP BY 1
    )
    SELECT e.event_id, e.type, e.parties, last.status, last.date, last.date_precision, last.location,
           coalesce(counts.mention_count, 0) AS mention_count, last.learned_at AS as_of_change
    FROM last JOIN events e USING (event_id) LEFT JOIN counts USING (event_id)
    WHERE NOT last.retracted;

ALTER TABLE runs ADD COLUMN events_new INTEGER DEFAULT 0;
ALTER TABLE runs ADD COLUMN mentions_new INTEGER DEFAULT 0;
