"""Extraction speed: articles per second per core, against a one-regex floor.

    python benchmarks/extract_speed.py            # 2,000 articles, 5 repeats
    python benchmarks/extract_speed.py --quick    # 200 articles, 3 repeats (CI)

Articles (~5 KB) are generated from templates written for this benchmark: mostly
background prose with a few event sentences, the mix a news feed has. The floor is a
single compiled regular expression (findall) over the same texts: no extractor can be
faster than reading the text once.
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import random
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from extractors import RULESET_VERSION, extract  # noqa: E402

STATES = ["France", "Germany", "Japan", "Canada", "India", "Poland", "Italy", "Brazil", "Kenya", "Australia",
          "South Korea", "Norway", "Spain", "Turkey", "Indonesia", "the Philippines", "Chile", "Egypt"]
CAPITALS = ["Paris", "Berlin", "Tokyo", "Ottawa", "New Delhi", "Warsaw", "Rome", "Nairobi", "Canberra", "Seoul"]
WHEN = ["on Monday", "on Friday", "last month", "in May", "next month", "later this year", "in 2019", "this week"]

EVENT_TEMPLATES = [
    "{a} and {b} signed a defence cooperation agreement {when}, officials said.",
    "{a} plans to hold a summit with {b} in {cap} {when}.",
    "The leaders of {a} and {b} held talks in {cap} {when} on maritime security.",
    "{a} is negotiating a security pact with {b}, according to diplomats.",
    "{a} has signed similar defence partnerships with {b}, {c} and {d}.",
    "{a} suspended its military cooperation accord with {b} {when}.",
]
NOISE_TEMPLATES = [
    "Analysts said the decision reflected growing concern about supply chains and rising costs across the region.",
    "The ministry of {a} said the budget for the coming fiscal year would rise by about four percent.",
    "Shares in several listed companies rose in early trading after the announcement was made public.",
    "Opposition lawmakers questioned whether the government had consulted parliament before acting.",
    "{a} bought {n} armoured vehicles last year under a contract worth about ${n} million.",
    "Troops from {a} and {b} took part in a joint exercise near the border {when}.",
    "A trade agreement between {a} and {b} is expected to cut tariffs on farm goods.",
    "The weather in {cap} was mild, and the talks were described by one delegate as businesslike.",
    "Officials in {cap} declined to comment on the report, citing the sensitivity of the negotiations.",
    "Inflation has eased in recent months, giving the central bank room to cut interest rates.",
]


def make_article(rng: random.Random, target: int = 5000, event_share: float = 0.1) -> str:
    """A ~5 KB article: headline, dateline, paragraphs of 2-4 sentences; ``event_share`` of the
    sentences state an event, the rest is background (some of it near-misses: exercises,
    purchases, trade deals)."""
    head = f"{rng.choice(STATES)} weighs new security options"
    paras: list[str] = []
    size = len(head)
    para: list[str] = [rng.choice(CAPITALS).upper() + " —"]
    while size < target:
        t = rng.choice(EVENT_TEMPLATES) if rng.random() < event_share else rng.choice(NOISE_TEMPLATES)
        a, b, c, d = rng.sample(STATES, 4)
        s = t.format(a=a, b=b, c=c, d=d, cap=rng.choice(CAPITALS), when=rng.choice(WHEN), n=rng.randint(10, 900))
        s = s[0].upper() + s[1:]
        para.append(s)
        size += len(s) + 1
        if len(para) >= rng.randint(2, 4):
            paras.append(" ".join(para))
            para = []
    if para:
        paras.append(" ".join(para))
    return head + "\n" + "\n".join(paras)


def bench(fn, items, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for it in items:
            fn(it)
        times.append(time.perf_counter() - t0)
    return times


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small run for CI (200 articles, 3 repeats)")
    ap.add_argument("-n", type=int, default=None, help="number of articles")
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--event-share", type=float, default=0.1,
                    help="share of sentences that state an event (default 0.1; 0.3 is a dense, worst-case mix)")
    a = ap.parse_args(argv)
    n = a.n or (200 if a.quick else 2000)
    repeats = a.repeats or (3 if a.quick else 5)
    rng = random.Random(a.seed)
    articles = [make_article(rng, event_share=a.event_share) for _ in range(n)]
    mb = sum(len(x.encode("utf-8")) for x in articles) / 1e6
    pub = dt.date(2025, 6, 10)

    extract(articles[0], pub)  # warm up (rules are loaded at import)
    ev_count = sum(len(extract(x, pub)) for x in articles)
    t_ex = bench(lambda x: extract(x, pub), articles, repeats)
    floor_rx = re.compile(r"\b(pact|summit|agreement)\b")
    t_rx = bench(floor_rx.findall, articles, repeats)
    med_ex, med_rx = statistics.median(t_ex), statistics.median(t_rx)
    aps_ex, aps_rx = n / med_ex, n / med_rx

    print("## extractor speed (benchmarks/extract_speed.py)")
    print()
    print(f"- date: {dt.date.today().isoformat()}, python {platform.python_version()}, {platform.machine()}, ruleset {RULESET_VERSION}")
    print(f"- corpus: {n} generated articles, {mb:.2f} MB (mean {mb * 1e6 / n / 1000:.1f} KB), {ev_count} events extracted, event-sentence share {a.event_share}; "
          f"median of {repeats} repeats, one core")
    print()
    print("| pass | articles/s | MB/s | ms/article |")
    print("|---|---:|---:|---:|")
    print(f"| extractors.extract | {aps_ex:,.0f} | {mb / med_ex:.2f} | {1000 * med_ex / n:.3f} |")
    print(f"| floor: one compiled regex findall | {aps_rx:,.0f} | {mb / med_rx:.1f} | {1000 * med_rx / n:.4f} |")
    print()
    print(f"ratio floor/extractor: {aps_rx / aps_ex:,.1f}x; target >= 1,000 articles/s: {'met' if aps_ex >= 1000 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
