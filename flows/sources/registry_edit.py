"""Changes to feeds.toml that keep its comments and layout: add, remove, enable and disable entries.

tomlkit alone attaches a comment written above a ``[[feed]]`` header to the *previous* table, so
editing one entry moves or deletes its neighbour's comments. Here the file is cut into one text
segment per ``[[feed]]`` table (the header, its keys and the comments among them; a comment block
directly above the header, with no blank line between, goes with it); tomlkit edits or renders one
segment at a time, and everything else stays byte for byte. The new text is validated as a whole
(``parse_feeds``) and written atomically (temporary file, then rename): nothing is half-written.
"""

from __future__ import annotations

import os
import re
import tempfile
import tomllib
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomlkit

from flows.errors import ConfigError
from flows.sources.registry import FeedDef, parse_feeds
from flows.sources.urls import canonical_url

_HEADER = re.compile(r"\s*\[\[\s*feed\s*\]\]")
_KEY_ORDER = ("name", "url", "kind", "selector", "title", "site_url", "tags", "language", "enabled", "trusted",
              "confirmed")


@dataclass
class _Segment:
    start: int  # first line (0-based), the attached comments included
    end: int    # one past the last line
    name: str


def _segments(lines: list[str]) -> list[_Segment]:
    heads = [i for i, line in enumerate(lines) if _HEADER.match(line)]
    out: list[_Segment] = []
    for n, h in enumerate(heads):
        limit = heads[n + 1] if n + 1 < len(heads) else len(lines)
        end = h + 1
        for i in range(h + 1, limit):
            stripped = lines[i].strip()
            if stripped and not stripped.startswith("#"):
                end = i + 1
            elif stripped.startswith("[") and not stripped.startswith("[["):
                break
        start = h
        while start > 0 and lines[start - 1].strip().startswith("#") and (n == 0 or start - 1 >= out[-1].end):
            start -= 1
        try:
            name = str(tomllib.loads("".join(lines[h:end])).get("feed", [{}])[0].get("name", ""))
        except (tomllib.TOMLDecodeError, IndexError, AttributeError):
            name = ""
        out.append(_Segment(start, end, name))
    return out


def slug(text: str) -> str:
    """A registry name from a title or host: ASCII, lowercase, words joined by hyphens."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    s = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return s[:60].strip("-") or "feed"


def unique_name(base: str, taken: set[str]) -> str:
    name, n = base, 2
    while name in taken:
        name = f"{base[:60]}-{n}"
        n += 1
    return name


def find_duplicate(feeds: Iterable[FeedDef], url: str) -> FeedDef | None:
    """The registry entry with the same canonical address, if any."""
    canon = canonical_url(url)
    for f in feeds:
        if canonical_url(f.url) == canon:
            return f
    return None


def render_entry(entry: dict[str, Any]) -> str:
    """One ``[[feed]]`` table as TOML text (keys in the registry's usual order, None left out)."""
    table = tomlkit.table()
    for key in sorted(entry, key=lambda k: _KEY_ORDER.index(k) if k in _KEY_ORDER else len(_KEY_ORDER)):
        value = entry[key]
        if value is None or (key == "kind" and value == "feed"):
            continue
        table[key] = list(value) if isinstance(value, tuple) else value
    doc = tomlkit.document()
    aot = tomlkit.aot()
    aot.append(table)
    doc["feed"] = aot
    return tomlkit.dumps(doc).strip() + "\n"


class RegistryFile:
    """feeds.toml as text, changed in memory and then written once with ``save``."""

    def __init__(self, path: Path):
        self.path = path
        if path.exists():
            try:
                self.text = path.read_text(encoding="utf-8")
            except UnicodeDecodeError as exc:
                raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start}).") from None
        else:
            self.text = ""
        self.feeds = parse_feeds(self.text, str(path)) if self.text.strip() else []

    @property
    def names(self) -> set[str]:
        return {f.name for f in self.feeds}

    def add(self, entry: dict[str, Any]) -> FeedDef:
        """Append an entry; refuses a name or a (canonical) address already in the registry."""
        return self.add_many([entry])[0]

    def add_many(self, entries: list[dict[str, Any]]) -> list[FeedDef]:
        """Append entries in one go (the file is validated once, not once per entry)."""
        canon = {canonical_url(f.url): f for f in self.feeds}
        names = self.names
        text = self.text
        for entry in entries:
            dup = canon.get(canonical_url(entry["url"]))
            if dup is not None:
                raise ConfigError(f"{entry['url']} is already in {self.path} as {dup.name!r} ({dup.url}); nothing was added.")
            if entry["name"] in names:
                raise ConfigError(f"the name {entry['name']!r} is already used in {self.path}; choose another with --name.")
            names.add(entry["name"])
            if text and not text.endswith("\n"):
                text += "\n"
            text += ("\n" if text.strip() else "") + render_entry(entry)
        self._set(text)
        wanted = {e["name"] for e in entries}
        return [f for f in self.feeds if f.name in wanted]

    def remove(self, name: str) -> FeedDef:
        lines = self.text.splitlines(keepends=True)
        seg = self._segment(lines, name)
        removed = next(f for f in self.feeds if f.name == name)
        del lines[seg.start:seg.end]
        # No run of blank lines where the entry was.
        while seg.start < len(lines) and seg.start > 0 and not lines[seg.start].strip() \
                and not lines[seg.start - 1].strip():
            del lines[seg.start]
        text = "".join(lines)
        self._set(text.rstrip("\n") + "\n" if text.strip() else "")
        return removed

    def set_enabled(self, name: str, enabled: bool) -> bool:
        """Set ``enabled``; returns whether anything changed."""
        lines = self.text.splitlines(keepends=True)
        seg = self._segment(lines, name)
        current = next(f for f in self.feeds if f.name == name)
        if current.enabled == enabled:
            return False
        head = next(i for i in range(seg.start, seg.end) if _HEADER.match(lines[i]))
        doc = tomlkit.parse("".join(lines[head:seg.end]))
        doc["feed"][0]["enabled"] = enabled
        lines[head:seg.end] = [tomlkit.dumps(doc)]
        self._set("".join(lines))
        return True

    def _segment(self, lines: list[str], name: str) -> _Segment:
        for seg in _segments(lines):
            if seg.name == name:
                return seg
        known = ", ".join(sorted(self.names)) or "none"
        raise ConfigError(f"no feed named {name!r} in {self.path} (names: {known}).")

    def _set(self, text: str) -> None:
        self.feeds = parse_feeds(text, str(self.path))  # the whole new file must be valid
        self.text = text

    def save(self) -> None:
        """Write atomically: a crash leaves the old file or the new one, never half of one."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(self.text)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
