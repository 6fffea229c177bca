-- 001: ingestion. Feeds, per-feed fetch state, articles, runs and their errors.

CREATE TABLE feeds (
    name        VARCHAR PRIMARY KEY,
    url         VARCHAR NOT NULL,
    tags        VARCHAR[] NOT NULL DEFAULT [],
    language    VARCHAR,
    enabled     BOOLEAN NOT NULL DEFAULT TRUE,
    trusted     BOOLEAN NOT NULL DEFAULT FALSE,
    updated_at  TIMESTAMPTZ NOT NULL
);

-- One row per feed: what happened last time, and when we may ask again.
CREATE TABLE feed_state (
    feed_name             VARCHAR PRIMARY KEY,
    etag                  VARCHAR,
    last_modified         VARCHAR,
    last_status           INTEGER,          -- HTTP status of the last attempt (NULL: no response)
    last_outcome          VARCHAR,          -- ok | not_modified | error
    last_error            VARCHAR,          -- human-readable message of the last failure
    last_error_kind       VARCHAR,          -- stable error kind (timeout, http_5xx, too_large, ...)
    last_warning          VARCHAR,          -- e.g. a malformed (bozo) feed that still yielded entries
    consecutive_failures  INTEGER NOT NULL DEFAULT 0,
    last_attempt_at       TIMESTAMPTZ,
    last_success_at       TIMESTAMPTZ,
    next_attempt_at       TIMESTAMPTZ,
    last_entry_at         TIMESTAMPTZ,      -- newest entry date seen in the feed
    typical_interval_s    DOUBLE,           -- median gap between entries: the feed's rhythm
    ttl_s                 INTEGER,          -- from <ttl> or Cache-Control max-age
    entries_last          INTEGER
);

CREATE TABLE articles (
    article_id        VARCHAR PRIMARY KEY,  -- sha256 of the canonical URL, 16 hex digits
    url               VARCHAR NOT NULL UNIQUE, -- canonical URL
    original_url      VARCHAR NOT NULL,     -- as found in the feed
    final_url         VARCHAR,              -- after redirects
    feed_name         VARCHAR NOT NULL,     -- first feed it came through
    title             VARCHAR,
    author            VARCHAR,
    site_name         VARCHAR,
    language          VARCHAR,
    published         TIMESTAMPTZ,
    published_source  VARCHAR,              -- page | feed | NULL
    text              VARCHAR,              -- NULL for a syndicated copy (see duplicate_of)
    text_source       VARCHAR NOT NULL,     -- page | feed_content | feed_summary
    content_hash      VARCHAR,              -- fingerprint of the normalised text
    duplicate_of      VARCHAR,              -- article_id of the first copy with the same text
    http_status       INTEGER,
    fetch_error       VARCHAR,              -- why the page itself could not be used, if it could not
    fetched_at        TIMESTAMPTZ NOT NULL,
    run_id            VARCHAR NOT NULL
);
CREATE INDEX articles_content_hash ON articles(content_hash);

-- The same article can arrive through several feeds: it is stored once, seen many times.
CREATE TABLE article_feeds (
    article_id   VARCHAR NOT NULL,
    feed_name    VARCHAR NOT NULL,
    first_seen   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (article_id, feed_name)
);

CREATE TABLE runs (
    run_id               VARCHAR PRIMARY KEY,
    flow_run_id          VARCHAR,
    started_at           TIMESTAMPTZ NOT NULL,
    finished_at          TIMESTAMPTZ,
    status               VARCHAR NOT NULL,  -- running | completed | failed
    feeds_total          INTEGER DEFAULT 0,
    feeds_due            INTEGER DEFAULT 0,
    feeds_ok             INTEGER DEFAULT 0,
    feeds_not_modified   INTEGER DEFAULT 0,
    feeds_failed         INTEGER DEFAULT 0,
    entries_seen         INTEGER DEFAULT 0,
    articles_known       INTEGER DEFAULT 0, -- entries whose article was already stored: not fetched
    pages_fetched        INTEGER DEFAULT 0,
    pages_failed         INTEGER DEFAULT 0,
    articles_new         INTEGER DEFAULT 0,
    duplicates           INTEGER DEFAULT 0, -- syndicated copies linked to a first copy
    fallbacks            INTEGER DEFAULT 0, -- articles whose text came from the feed, not the page
    errors               INTEGER DEFAULT 0,
    message              VARCHAR
);

-- Every failure of a feed or an article, with a message a person understands.
CREATE TABLE run_errors (
    run_id     VARCHAR NOT NULL,
    scope      VARCHAR NOT NULL,   -- feed | article
    subject    VARCHAR NOT NULL,   -- feed name or article URL
    kind       VARCHAR NOT NULL,
    message    VARCHAR NOT NULL,
    occurred_at TIMESTAMPTZ NOT NULL
);
