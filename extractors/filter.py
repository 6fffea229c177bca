"""The candidate filter: a small logistic model over the rules' candidate events.

The rules propose events (each with its rule id and evidence sentence); this filter scores each
proposal by how much in it and its sentence supports it, and keeps those at or above the model's
threshold. The score becomes the event's ``confidence``: calibrated on the ``tune`` half (out of
fold), so "0.8" means about four in five such events were right there; ``validation`` reports how
well that held (``defwatch eval``).

The model is data (``extractors/data/filter.json``: weights by feature name, intercept, threshold),
trained by ``eval/train_filter.py`` on ``tune`` only with scikit-learn; reading it needs nothing but
this module, and ``RULESET_VERSION`` covers the file. Without the file, events pass unchanged.
Pure functions, deterministic.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from collections.abc import Iterable, Mapping

from .model import Event

__all__ = ["FilterModel", "features", "load_model", "apply", "MODEL_PATH"]

MODEL_PATH = Path(__file__).resolve().parent / "data" / "filter.json"
SCHEMA = 1
_TOKEN = re.compile(r"[a-z][a-z'-]+")
_QUOTES = ('"', "“", "”")


@dataclass(frozen=True)
class FilterModel:
    weights: Mapping[str, float]
    intercept: float
    threshold: float
    meta: Mapping[str, object]

    def score(self, feats: Mapping[str, float]) -> float:
        z = self.intercept + sum(self.weights.get(k, 0.0) * v for k, v in feats.items())
        return 1.0 / (1.0 + math.exp(-max(-35.0, min(35.0, z))))


def _tokens(text: str) -> set[str]:
    return set(_TOKEN.findall(text.lower()))


def features(event: Event, text: str, siblings: int, actor_kind: Mapping[str, str]) -> dict[str, float]:
    """What the filter sees of one candidate: its rule, shape, and the words of its sentence.

    ``siblings`` is the number of candidates in the same document; ``actor_kind`` maps canonical
    party names to country / bloc / firm (unknown names count as 'other')."""
    f = dict.fromkeys(_shape(event, text, siblings, actor_kind), 1.0)
    for t in _tokens(event.evidence):
        f["w=" + t] = 1.0
        f[f"{event.type}:w={t}"] = 1.0
    for t in _tokens(_headline(text)):
        f["h=" + t] = 1.0
    return f


def _shape(event: Event, text: str, siblings: int, actor_kind: Mapping[str, str]) -> list[str]:
    rule = event.rule or "none"
    kinds = sorted({actor_kind.get(p, "other") for p in event.parties})
    out = ["bias:" + event.type, "rule=" + rule, "rule0=" + rule.split("/")[0], f"status={event.type}:{event.status}",
           f"nparties={min(len(event.parties), 4)}", "kinds=" + "+".join(kinds), f"date={event.date_precision or 'none'}",
           "location=" + ("yes" if event.location else "no"), f"evlen={min(len(event.evidence.split()) // 10, 6)}",
           f"siblings={min(siblings, 6)}",
           "position=" + ("lead" if event.evidence_start < max(400, len(text) // 5) else "body")]
    if any(q in event.evidence for q in _QUOTES):
        out.append("quote")
    return out


def _headline(text: str) -> str:
    return text[: text.find("\n")] if "\n" in text[:300] else ""


@lru_cache(maxsize=4)
def _load(path: str, mtime_ns: int) -> FilterModel | None:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if data.get("schema") != SCHEMA:
        raise ValueError(f"{path}: filter schema {data.get('schema')!r}, expected {SCHEMA}")
    return FilterModel({str(k): float(v) for k, v in data["weights"].items()}, float(data["intercept"]),
                       float(data["threshold"]), data.get("meta", {}))


def load_model(path: Path = MODEL_PATH) -> FilterModel | None:
    """The shipped model, or None when there is none (events then pass unchanged)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return _load(str(path), st.st_mtime_ns)


#: per model and event type: each word's weight as a sentence word ("w=") plus as a word of that
#: type's sentence ("partnership:w="), memoised (the same words recur in every article); the same
#: float as summing the two in apply, so scores do not move
_WORD_WEIGHTS: dict[tuple[int, str], tuple[FilterModel, dict[str, float]]] = {}


def _word_weights(model: FilterModel, event_type: str, words: set[str]) -> dict[str, float]:
    """The memo of ``model`` and ``typ``, holding at least ``words``."""
    hit = _WORD_WEIGHTS.get((id(model), event_type))
    if hit is None or hit[0] is not model:
        if len(_WORD_WEIGHTS) > 16:
            _WORD_WEIGHTS.clear()
        hit = _WORD_WEIGHTS[(id(model), event_type)] = (model, {})
    memo = hit[1]
    missing = [t for t in words if t not in memo]
    if missing:
        if len(memo) > 50_000:
            memo.clear()  # bounded: an open vocabulary must not grow it forever
            missing = list(words)
        w = model.weights
        for t in missing:
            memo[t] = w.get("w=" + t, 0.0) + w.get(f"{event_type}:w={t}", 0.0)
    return memo


def apply(events: Iterable[Event], text: str, model: FilterModel | None, actor_kind: Mapping[str, str],
          keep_all: bool = False) -> list[Event]:
    """Score every candidate; keep those at or above the threshold (all of them with ``keep_all``,
    for training), with the score as confidence. Same scores as ``model.score(features(...))``,
    computed without building the feature dictionaries: the words of a sentence shared by several
    events and the headline's words are summed once."""
    events = list(events)
    if model is None:
        return events
    w = model.weights
    n = len(events)
    head = sum(w.get("h=" + t, 0.0) for t in _tokens(_headline(text)))
    by_sentence: dict[tuple[str, int, int], float] = {}
    out = []
    for ev in events:
        key = (ev.type, ev.evidence_start, ev.evidence_end)
        words = by_sentence.get(key)
        if words is None:
            tokens = _tokens(ev.evidence)
            weight = _word_weights(model, ev.type, tokens)
            words = by_sentence[key] = sum([weight[t] for t in tokens])
        z = model.intercept + head + words + sum(w.get(k, 0.0) for k in _shape(ev, text, n, actor_kind))
        p = 1.0 / (1.0 + math.exp(-max(-35.0, min(35.0, z))))
        if keep_all or p >= model.threshold:
            out.append(replace(ev, confidence=round(p, 3)))
    return out
