"""Which feeds each shard of a fan-out ingests: balanced by expected work, deterministic.

The coordinator knows the whole registry and how much each feed brought lately (articles in the
last 30 days, from the event log), so it deals the feeds out heaviest first, each to the shard with
the least work so far (longest-processing-time first). Feeds never seen count as the median known
feed (1 when none is known), so a first fan-out balances by count. Ties break on a stable hash of
the name, so every machine computes the same plan from the same registry and weights.
"""

from __future__ import annotations

import hashlib
import statistics
from collections.abc import Iterable, Mapping


def _stable(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "big")


def plan(names: Iterable[str], weights: Mapping[str, int], n: int) -> list[list[str]]:
    """``n`` lists of feed names that together hold every name once, their weights balanced."""
    if n < 1:
        raise ValueError("shards must be at least 1")
    names = list(dict.fromkeys(names))
    known = [w for name, w in weights.items() if name in set(names) and w > 0]
    default = int(statistics.median(known)) if known else 1
    weight = {name: max(1, weights.get(name, default)) for name in names}
    shards: list[list[str]] = [[] for _ in range(n)]
    load = [0] * n
    for name in sorted(names, key=lambda x: (-weight[x], _stable(x))):
        k = min(range(n), key=lambda i: (load[i], len(shards[i]), i))
        shards[k].append(name)
        load[k] += weight[name]
    return [sorted(s) for s in shards]
