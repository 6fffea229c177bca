"""A deterministic generator of defence-news sites: RSS feeds and 3-5 KB article pages.

Pages look like real news pages (cookie banner, navigation, byline, related links, footer) and
their text carries the sentences defwatch's extractor looks for (partnerships, summits) among
ordinary filler. Everything is derived from (seed, feed index, item index), so a page can be
rebuilt on demand and two runs see the same corpus.
"""

from __future__ import annotations

import hashlib
import random
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from html import escape

COUNTRIES = [
    "France", "Germany", "Poland", "Japan", "Philippines", "Australia", "India", "Lithuania", "Estonia",
    "Latvia", "Canada", "Italy", "Spain", "Netherlands", "Norway", "Sweden", "Finland", "South Korea",
    "United Kingdom", "Indonesia", "Vietnam", "Brazil", "Greece", "Romania", "Denmark", "Portugal",
    "Czech Republic", "Slovakia", "Singapore", "Malaysia", "Thailand", "New Zealand", "Chile", "Mexico",
]
CITIES = ["Paris", "Berlin", "Warsaw", "Tokyo", "Manila", "Canberra", "New Delhi", "Vilnius", "Tallinn",
          "Riga", "Ottawa", "Rome", "Madrid", "The Hague", "Oslo", "Stockholm", "Helsinki", "Seoul",
          "London", "Jakarta", "Hanoi", "Brussels", "Athens", "Bucharest", "Copenhagen", "Lisbon", "Prague"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December"]
SITES = ["Defence Policy Bulletin", "Allied Security Review", "Pacific Defence Wire", "Northern Flank Monitor",
         "Procurement Daily", "Strategic Affairs Digest", "Maritime Security Post", "Air Power Journal"]
AUTHORS = ["Tomasz Wrona", "Claire Dubois", "Kenji Sato", "Maria Santos", "Erik Lindqvist", "Aiko Tanaka",
           "James Whitfield", "Ana Popescu", "Lukas Becker", "Priya Raman"]
NAV = ["News", "Policy", "Procurement", "Personnel", "Navies", "Air forces", "Land forces", "Cyber", "Archive"]

PARTNERSHIP = [
    "{a} and {b} signed a defence partnership agreement in {city} on {weekday}, officials said.",
    "{a} and {b} are negotiating a reciprocal access agreement, the defence ministry said.",
    "{a} and {b} plan to sign a security pact next month, according to officials in {city}.",
    "Ministers from {a} and {b} signed a defence cooperation agreement covering training and logistics.",
    "{a} and {b} agreed to open talks on a strategic partnership on security and defence.",
]
SUMMIT = [
    "Leaders of {a} and {b} will hold a summit in {city} on {day} {month} {year}.",
    "The {a}-{b} summit held in {city} ended with a joint statement on maritime security.",
    "A summit between {a} and {b} planned for {month} in {city} was cancelled, diplomats said.",
]
FILLER = [
    "The ministry said deliveries of the new armoured vehicles would begin in {year}, with training to follow.",
    "Parliament approved a defence budget that rises by {pct} percent, the largest increase in a decade.",
    "Analysts said the decision reflected growing concern about air defence gaps along the eastern border.",
    "The navy will take delivery of two additional patrol vessels, built at a domestic shipyard.",
    "Officials declined to give the value of the contract, citing commercial confidentiality.",
    "The exercise brought together about {n} troops from several allied countries for two weeks.",
    "Critics in the opposition questioned whether the procurement agency had enough staff to manage the programme.",
    "A spokesperson said the new radar systems would be integrated into the national command network.",
    "The programme includes maintenance, spare parts and simulators for a period of ten years.",
    "Recruitment campaigns have struggled to meet targets, prompting changes to pay and conditions.",
    "The agency also ordered ammunition and engineering equipment under an existing framework contract.",
    "Both governments said industrial cooperation would create jobs in the regions that build the systems.",
]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]

# Articles are recent, as in a live feed: the newest is from yesterday 09:00 UTC.
BASE_DATE = (datetime.now(timezone.utc) - timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)


def _rng(*parts) -> random.Random:
    h = hashlib.sha256(":".join(map(str, parts)).encode()).digest()
    return random.Random(int.from_bytes(h[:8], "big"))


def article_date(feed: int, item: int) -> datetime:
    return BASE_DATE - timedelta(hours=feed * 7 + item * 5, minutes=(feed * 13 + item) % 60)


def article(feed: int, item: int, seed: int = 1, paragraphs: tuple[int, int] = (5, 8)) -> dict:
    """Title, summary, author, site, published and the paragraphs of one article."""
    r = _rng(seed, feed, item)
    a, b = r.sample(COUNTRIES, 2)
    city = r.choice(CITIES)
    published = article_date(feed, item)
    fmt = dict(a=a, b=b, city=city, weekday=r.choice(WEEKDAYS), day=r.randint(1, 28),
               month=r.choice(MONTHS), year=published.year + r.randint(0, 1), pct=r.randint(3, 19),
               n=r.randint(8, 60) * 100)
    lead_kind = r.random()
    if lead_kind < 0.55:
        lead = r.choice(PARTNERSHIP).format(**fmt)
        title = f"{a} and {b} {r.choice(['deepen defence ties', 'move towards a security pact', 'sign defence accord', 'step up military cooperation'])}"
    elif lead_kind < 0.8:
        lead = r.choice(SUMMIT).format(**fmt)
        title = f"{a} and {b} {r.choice(['plan summit', 'leaders meet', 'summit in focus', 'summit called off'])} in {city}"
    else:
        lead = r.choice(FILLER).format(**fmt)
        title = f"{a} {r.choice(['orders new air defence systems', 'raises defence spending', 'expands its navy', 'reforms recruitment'])}"
    n = r.randint(*paragraphs)
    paras = [f"{city.upper()}, {published:%b} {published.day} — {lead} "
             f"{r.choice(FILLER).format(**fmt)}"]
    for i in range(n - 1):
        sents = r.sample(FILLER, 2)
        para = " ".join(s.format(**fmt) for s in sents)
        if i == 1 and r.random() < 0.5:
            c, d = r.sample(COUNTRIES, 2)
            para += " " + r.choice(PARTNERSHIP).format(**{**fmt, "a": c, "b": d})
        # A unique detail per article so that no two texts are syndicated copies of each other.
        para += f" Reference {seed}-{feed}-{item}-{i}: the statement was the {r.randint(2, 400)}th of its kind this year."
        paras.append(para)
    return {"title": title, "summary": lead, "author": r.choice(AUTHORS), "site": SITES[feed % len(SITES)],
            "published": published, "paragraphs": paras}


def page_html(feed: int, item: int, seed: int = 1, small: bool = False) -> bytes:
    art = article(feed, item, seed, paragraphs=(2, 3) if small else (5, 8))
    r = _rng(seed, feed, item, "page")
    t, site = escape(art["title"]), escape(art["site"])
    iso = art["published"].strftime("%Y-%m-%dT%H:%M:%SZ")
    related = "".join(f'<li><a href="/a/{feed}/{(item + k) % 97}.html">{escape(article(feed, (item + k) % 97, seed)["title"])}</a></li>'
                      for k in (1, 2, 3)) if not small else ""
    nav = "".join(f'<li><a href="/section/{n.lower().replace(" ", "-")}">{n}</a></li>' for n in NAV)
    body = "\n".join(f"      <p>{escape(p)}</p>" for p in art["paragraphs"])
    html = f"""<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{t} | {site}</title>
  <meta name="description" content="{escape(art['summary'])}">
  <meta name="author" content="{escape(art['author'])}">
  <meta property="og:type" content="article">
  <meta property="og:title" content="{t}">
  <meta property="og:site_name" content="{site}">
  <meta property="article:published_time" content="{iso}">
  <link rel="stylesheet" href="/static/site.css">
</head>
<body>
  <div class="cookie-banner" id="cookie-consent" role="dialog" aria-label="Cookie consent">
    <p>We use cookies to improve your experience and to measure how our site is used. You can change your choice at any time.</p>
    <button type="button">Accept all</button> <button type="button">Manage preferences</button>
  </div>
  <header class="site-header"><a class="logo" href="/">{site}</a>
    <nav class="main-nav" aria-label="Main"><ul>{nav}</ul></nav>
  </header>
  <main class="wrapper">
    <article class="story">
      <h1>{t}</h1>
      <p class="byline">By <span class="author">{escape(art['author'])}</span> · <time datetime="{iso}">{art['published']:%d %B %Y}</time></p>
{body}
    </article>
    <aside class="related"><h2>Related</h2><ul>{related}</ul></aside>
    <div class="newsletter"><p>Get the {site} briefing in your inbox every weekday morning.</p>
      <form><input type="email" placeholder="Email address"><button>Subscribe</button></form></div>
  </main>
  <footer class="site-footer"><p>© {art['published'].year} {site}. All rights reserved.</p>
    <ul><li><a href="/about">About</a></li><li><a href="/privacy">Privacy</a></li><li><a href="/contact">Contact</a></li>
    <li><a href="/ads">Advertise</a></li></ul><p>Ref {r.randint(10000, 99999)}</p></footer>
</body>
</html>
"""
    return html.encode("utf-8")


def feed_xml(feed: int, items: int, base_url: str, seed: int = 1, name: str | None = None,
             first: int = 0, ttl_min: int | None = 15) -> bytes:
    """The feed's ``items`` entries from item index ``first`` on; ``ttl_min=None`` leaves out <ttl>."""
    name = name or f"feed-{feed:04d}"
    ttl = f"<ttl>{ttl_min}</ttl>" if ttl_min is not None else ""
    out = [f'<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
           f"<title>{escape(SITES[feed % len(SITES)])} ({name})</title><link>{base_url}/</link>"
           f"<description>Defence news</description>{ttl}"]
    for i in range(first, first + items):
        art = article(feed, i, seed)
        out.append(f"<item><title>{escape(art['title'])}</title><link>{base_url}/a/{feed}/{i}.html</link>"
                   f"<guid>{base_url}/a/{feed}/{i}.html</guid>"
                   f"<pubDate>{format_datetime(art['published'], usegmt=True)}</pubDate>"
                   f"<description>{escape(art['summary'])}</description></item>")
    out.append("</channel></rss>\n")
    return "".join(out).encode("utf-8")
