"""An article page a run plans to fetch: one per canonical URL, with the feed entry that named it."""

from __future__ import annotations

from dataclasses import dataclass, field

from flows.sources.parse import FeedEntry


@dataclass
class PlannedArticle:
    article_id: str
    url: str            # canonical
    original_url: str
    feed_name: str
    trusted: bool
    entry: FeedEntry
    also_in: list[str] = field(default_factory=list)  # other feeds listing the same article this run
