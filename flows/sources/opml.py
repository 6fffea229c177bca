"""OPML in and out: subscription lists of other feed readers read into registry entries, and the
registry written as OPML 2.0.

Reading goes through defusedxml (no entity expansion, no external entities or DTD fetches) after a
size check, so a hostile file (a "billion laughs", an external entity, a huge file) is refused with
one line before any of it is expanded. Nested ``<outline>`` categories become tags, outermost first.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import urlsplit
from xml.etree.ElementTree import Element

from flows.errors import ConfigError
from flows.sources.registry import FeedDef

MAX_OPML_BYTES = 5_000_000  # a list of ten thousand feeds is about 2 MB
MAX_DEPTH = 32


@dataclass
class OpmlFeed:
    xml_url: str
    title: str | None
    html_url: str | None
    tags: tuple[str, ...]
    language: str | None = None


@dataclass
class OpmlList:
    feeds: list[OpmlFeed] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # entries that could not be read, one line each
    title: str | None = None


def _tag(text: str) -> str:
    from flows.sources.registry_edit import slug

    return slug(text)


def read_opml(path: Path) -> OpmlList:
    """The feeds of an OPML file (1.0 or 2.0). Raises ConfigError, one line, for a file that is not
    OPML or is hostile; entries that are not feeds are listed in ``problems``."""
    import defusedxml.ElementTree as DET
    from defusedxml import DefusedXmlException

    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror}).") from None
    if size > MAX_OPML_BYTES:
        raise ConfigError(f"{path} is {size:,} bytes, over the OPML limit of {MAX_OPML_BYTES:,}; "
                          f"split it or remove what is not a feed. Nothing was imported.")
    data = path.read_bytes()
    try:
        root = DET.fromstring(data, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise ConfigError(f"{path} declares XML entities or external references ({type(exc).__name__}), which "
                          f"OPML never needs; refused as unsafe. Nothing was imported.") from None
    except ET.ParseError as exc:
        raise ConfigError(f"{path} is not well-formed XML ({exc}). Nothing was imported.") from None
    if root.tag.lower() != "opml":
        raise ConfigError(f"{path} is XML but not OPML (its root element is <{root.tag}>). Nothing was imported.")
    body = next((c for c in root if c.tag.lower() == "body"), None)
    if body is None:
        raise ConfigError(f"{path} is OPML without a <body>: it lists no feeds. Nothing was imported.")
    head = next((c for c in root if c.tag.lower() == "head"), None)
    out = OpmlList(title=(head.findtext("title") or None) if head is not None else None)
    _walk(body, (), out, 0)
    return out


def _walk(node: Element, tags: tuple[str, ...], out: OpmlList, depth: int) -> None:
    for child in node:
        if child.tag.lower() != "outline":
            continue
        attrs = {k.lower(): v for k, v in child.attrib.items()}
        label = (attrs.get("title") or attrs.get("text") or "").strip() or None
        xml_url = (attrs.get("xmlurl") or "").strip()
        if xml_url:
            parts = urlsplit(xml_url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                out.problems.append(f"{label or xml_url!r}: xmlUrl {xml_url!r} is not an http(s) address")
                continue
            category_tags = tuple(_tag(c) for c in (attrs.get("category") or "").replace(",", "/").split("/") if c.strip())
            all_tags = tuple(dict.fromkeys(tags + category_tags))
            out.feeds.append(OpmlFeed(xml_url=xml_url, title=label, html_url=(attrs.get("htmlurl") or "").strip() or None,
                                      tags=all_tags, language=(attrs.get("language") or "").strip() or None))
        elif len(child):
            if depth >= MAX_DEPTH:
                out.problems.append(f"{label!r}: nested more than {MAX_DEPTH} levels deep")
                continue
            _walk(child, tags + ((_tag(label),) if label else ()), out, depth + 1)
        else:
            out.problems.append(f"{label or 'an outline'!r}: no xmlUrl (not a feed)")


def write_opml(feeds: Sequence[FeedDef], title: str = "defwatch sources", now: datetime | None = None) -> str:
    """OPML 2.0: feeds nested under their tags (first tag outermost), as they came in."""
    root = Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    ET.SubElement(head, "dateCreated").text = format_datetime(now or datetime.now(timezone.utc))
    body = ET.SubElement(root, "body")
    folders: dict[tuple[str, ...], Element] = {(): body}
    for f in feeds:
        if f.kind != "feed":
            continue  # sitemaps and listing pages are not feeds another reader could follow
        parent = body
        for i in range(len(f.tags)):
            key = f.tags[:i + 1]
            if key not in folders:
                folders[key] = ET.SubElement(parent, "outline", text=f.tags[i], title=f.tags[i])
            parent = folders[key]
        attrs = {"type": "rss", "text": f.title or f.name, "title": f.title or f.name, "xmlUrl": f.url}
        if f.site_url:
            attrs["htmlUrl"] = f.site_url
        if f.language:
            attrs["language"] = f.language
        ET.SubElement(parent, "outline", attrs)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
