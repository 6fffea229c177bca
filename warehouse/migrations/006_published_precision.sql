-- 006: how precisely an article's publication date is known: 'day', 'month' (a page dated only
-- to the month: `published` then holds the first of that month) or NULL (no date, or an article
-- stored before 006, whose date is a day). The extractor resolves relative dates only as far as
-- this allows ("next Friday" in a page dated 2025-05 gives 2025-05, never an invented day), and a
-- re-extraction reads it back.
ALTER TABLE articles ADD COLUMN published_precision VARCHAR;
