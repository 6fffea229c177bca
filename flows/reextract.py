"""The ``reextract`` Prefect flow: re-run the extractor over stored article text when the rule set
changed, and reconcile mentions and events without duplicates (``warehouse.eventlog``)."""

from __future__ import annotations

import flows.runtime.prefect_env  # noqa: F401  (must precede the prefect import)

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from extractors import RULESET_VERSION
from flows.runtime import progress
from flows.ingest import extract_rows
from flows.runtime.runlock import run_lock
from warehouse import eventlog, store
from warehouse.db import transaction, write_connection

@task(name="reextract-batch", cache_policy=NO_CACHE)
def reextract_batch(db: str, article_ids: list[str], ruleset_version: str) -> dict[str, int]:
    now = datetime.now(timezone.utc)
    with write_connection(db) as con:
        rows = store.article_texts(con, article_ids)
        extractions = extract_rows(rows)
        with transaction(con):
            res = eventlog.apply_extractions(con, extractions, ruleset_version, now, cause="reextract")
    progress.advance("reextract", len(article_ids))
    return {"articles": len(rows), "events_created": res.events_created, "mentions_added": res.mentions_added,
            "mentions_retracted": res.mentions_retracted, "changes": len(res.changes)}


@flow(name="reextract", validate_parameters=False)
def reextract_flow(db: str = "defwatch.duckdb", all_articles: bool = False, batch_size: int = 500,
                   lock_wait_s: float = 0.0) -> dict[str, Any]:
    """Re-read every article whose stored extraction came from another rule-set version
    (or every article with ``all_articles``) and reconcile the event log."""
    log = get_run_logger()
    with run_lock(Path(db), wait_s=lock_wait_s):
        with write_connection(db) as con:
            pending = store.articles_to_reextract(con, all_articles, RULESET_VERSION)
        log.info("rule set %s: %d articles to re-read", RULESET_VERSION, len(pending))
        progress.start("reextract", len(pending))
        totals: dict[str, Any] = {"articles": 0, "events_created": 0, "mentions_added": 0, "mentions_retracted": 0, "changes": 0}
        for i in range(0, len(pending), batch_size):
            part = reextract_batch(db, pending[i:i + batch_size], RULESET_VERSION)
            for k, v in part.items():
                totals[k] += v
    totals["ruleset_version"] = RULESET_VERSION
    log.info("re-extraction done: %s", totals)
    return totals
