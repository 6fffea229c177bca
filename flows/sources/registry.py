"""The feed registry: one TOML file of ``[[feed]]`` tables, validated before anything runs."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from flows.errors import ConfigError

BASE_URL_TOKEN = "{{BASE_URL}}"


class FeedDef(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")
    url: str
    tags: tuple[str, ...] = ()
    language: str | None = None
    enabled: bool = True
    trusted: bool = False  # exempt from the private-address guard (e.g. the loopback demo server)
    confirmed: bool | None = None  # the address was checked against published material
    # What the address is: an RSS/Atom feed, a (news) sitemap or sitemap index, or a listing page
    # whose article links are chosen by ``selector`` (CSS) or the site's own link pattern.
    kind: Literal["feed", "sitemap", "page"] = "feed"
    selector: str | None = None
    title: str | None = None       # a human title (kept from OPML or the feed itself)
    site_url: str | None = None    # the site's home page (OPML htmlUrl)

    @field_validator("url")
    @classmethod
    def _http_url(cls, v: str) -> str:
        parts = urlsplit(v)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an http:// or https:// address")
        return v

    @field_validator("selector")
    @classmethod
    def _css(cls, v: str | None) -> str | None:
        if v is None:
            return v
        from cssselect import SelectorError
        from lxml.cssselect import CSSSelector

        try:
            CSSSelector(v)
        except SelectorError as exc:
            raise ValueError(f"not a CSS selector ({exc})") from None
        return v

    @model_validator(mode="after")
    def _selector_needs_page(self) -> FeedDef:
        if self.selector is not None and self.kind != "page":
            raise ValueError('selector is only used by kind = "page"')
        return self

    @property
    def host(self) -> str:
        return (urlsplit(self.url).hostname or "").lower()

    def as_row(self) -> dict:
        return {"name": self.name, "url": self.url, "tags": list(self.tags), "language": self.language,
                "enabled": self.enabled, "trusted": self.trusted}


def _feed_header_lines(text: str) -> list[int]:
    return [i for i, line in enumerate(text.splitlines(), 1) if re.match(r"\s*\[\[\s*feed\s*\]\]", line)]


def parse_feeds(text: str, source: str = "feeds.toml", base_url: str | None = None) -> list[FeedDef]:
    if base_url is not None:
        text = text.replace(BASE_URL_TOKEN, base_url.rstrip("/"))
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}. Nothing was changed.") from None
    unknown = set(data) - {"feed"}
    if unknown:
        raise ConfigError(f"{source}: unknown top-level keys {sorted(unknown)}; only [[feed]] tables are allowed.")
    tables = data.get("feed", [])
    if not isinstance(tables, list):
        raise ConfigError(f"{source}: `feed` must be an array of tables written as [[feed]].")
    lines = _feed_header_lines(text)
    feeds: list[FeedDef] = []
    seen: dict[str, int] = {}
    for i, table in enumerate(tables):
        line = lines[i] if i < len(lines) else None
        where = f"{source}, line {line}" if line else f"{source}, feed #{i + 1}"
        try:
            feed = FeedDef(**table)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'feed'}: {e['msg']}" for e in exc.errors()
            )
            raise ConfigError(f"{where}: {problems}. Nothing was changed.") from None
        if feed.name in seen:
            raise ConfigError(f"{where}: feed name {feed.name!r} is used twice (first at feed #{seen[feed.name]}).")
        seen[feed.name] = i + 1
        feeds.append(feed)
    return feeds


def load_feeds(path: Path, base_url: str | None = None) -> list[FeedDef]:
    if not path.exists():
        raise ConfigError(
            f"Feed registry {path} not found. Pass --feeds PATH, set DEFWATCH_FEEDS_FILE, "
            f"or run from the project folder that has feeds.toml."
        )
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start}).") from None
    if BASE_URL_TOKEN in text and base_url is None:
        raise ConfigError(f"{path}: contains {BASE_URL_TOKEN}, which only `defwatch demo` fills in (it serves "
                          f"these samples on a temporary port). Run `defwatch demo`, or give a registry of real "
                          f"feeds (the project's feeds.toml).")
    return parse_feeds(text, str(path), base_url)
