"""Feeds in: the registry, URL rules, fetching, feed parsing and per-feed polling state."""
