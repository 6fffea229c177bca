"""Golden snapshot of the extractor's output: a guard for refactorings that must not change it.

    python -m tests.extractors._snapshot            # recompute and compare with the stored snapshot
    python -m tests.extractors._snapshot --write    # store the current output as the snapshot

For every input document the snapshot stores an id and the sha256 (first 16 hex digits) of the
canonical JSON of ``[e.model_dump() for e in extract(text, published)]``. Only hashes are stored:
some inputs are third-party text (``../shared``) that must not be copied into the repository.

Input groups (fixed and deterministic):

- ``tests``: every string literal of the extractor tests (``TEST_FILES`` in tests/extractors) that
  looks like a text, with 2025-06-10, no date, and every ISO date written in the same test;
- ``samples_gold``: the texts of ``samples/expected-events.jsonl`` with their publication dates;
- ``samples_html``: ``samples/articles/*.html`` cleaned by the project's cleaner (flows.pages.clean);
- ``samples_windows``: every sentence, every window of 3 consecutive sentences (joined by a
  space) and of 2 (joined by a newline, so headline and paragraph paths run) of the sample texts, with the
  document's date and without; and each sample text interleaved sentence by sentence with the
  next one (cross-document coreference, salience);
- ``shared_*``: the same for ``../shared/dev-gold.jsonl`` (with its dates and with
  published=None) and ``../shared/seed-article.txt``; absent when ``../shared`` is.

When the extractor's behaviour changes on purpose, regenerate with ``--write`` and say so in
the commit.
"""

from __future__ import annotations

import ast
import datetime as dt
import hashlib
import json
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"
SNAPSHOT = Path(__file__).resolve().parent / "data" / "engine_snapshot.json"
TESTS_DIR = Path(__file__).resolve().parent
# the extractor tests whose texts are inputs (a fixed list: tests added later do not change the set)
TEST_FILES = ("test_extr_classes.py", "test_extr_data.py", "test_extr_dates.py", "test_extr_robust.py",
              "test_extr_rules.py", "test_extr_samples_floor.py", "test_extr_scoring.py", "test_extr_shared.py")

Doc = tuple[str, str, "dt.date | None"]  # id, text, published

_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# a deliberately simple sentence splitter (independent of extractors.sentences)
_SENT = re.compile(r"(?<=[.!?”\"])\s+(?=[A-Z“\"(])|\n+")
SHARED_GROUPS = ("shared_gold", "shared_gold_nodate", "shared_seed", "shared_windows")


def _day(s: str | None) -> dt.date | None:
    return dt.date.fromisoformat(s) if s else None


def _tag(pub: dt.date | None) -> str:
    return pub.isoformat() if pub else "none"


def _short(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:10]


# --------------------------------------------------------------------------- input groups

def _test_texts() -> Iterator[Doc]:
    seen: set[tuple[str, str]] = set()
    for name in TEST_FILES:
        path = TESTS_DIR / name
        if not path.is_file():
            continue  # removed: its ids are reported as gone
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            strings = [n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
            days = sorted({s for s in strings if _ISO_DAY.match(s)})
            pubs = [None, "2025-06-10"] + [d for d in days if d != "2025-06-10"]
            for s in strings:
                if len(s) < 12 or " " not in s.strip() or _ISO_DAY.match(s):
                    continue
                for p in pubs:
                    try:
                        pub = _day(p)
                    except ValueError:
                        continue
                    key = (s, _tag(pub))
                    if key in seen:
                        continue
                    seen.add(key)
                    yield f"{path.stem}:{_short(s)}:{_tag(pub)}", s, pub


def _gold(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _samples_gold() -> Iterator[Doc]:
    for d in _gold(REPO / "samples" / "expected-events.jsonl"):
        yield f"{d['id']}:{d.get('published') or 'none'}", d["text"], _day(d.get("published"))


def _samples_html() -> Iterator[Doc]:
    from flows.pages.clean import clean_page

    pubs = {d["id"]: d.get("published") for d in _gold(REPO / "samples" / "expected-events.jsonl")}
    for path in sorted((REPO / "samples" / "articles").glob("*.html")):
        res = clean_page(path.read_bytes(), f"http://127.0.0.1:8000/articles/{path.name}", "text/html")
        pub = _day(pubs.get(path.name))
        yield f"{path.name}:{_tag(pub)}", res.text or "", pub


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENT.split(text) if s and s.strip()]


def _windows(docs: list[Doc]) -> Iterator[Doc]:
    for doc_id, text, pub in docs:
        sents = _sentences(text)
        for size, joiner, tag in ((1, "", "s1"), (3, " ", "w3"), (2, "\n", "p2")):
            for k in range(max(1, len(sents) - size + 1)):
                window = joiner.join(sents[k:k + size])
                for p in (pub, None) if pub else (None,):
                    yield f"{doc_id}#{tag}.{k}:{_tag(p)}", window, p
    # each text interleaved with the next one, sentence by sentence
    for n, (doc_id, text, pub) in enumerate(docs):
        other_id, other, _ = docs[(n + 1) % len(docs)]
        a, b = _sentences(text), _sentences(other)
        mixed = [s for pair in zip(a, b) for s in pair] + a[len(b):] + b[len(a):]
        for p in (pub, None) if pub else (None,):
            yield f"{doc_id}+{other_id}#mix:{_tag(p)}", " ".join(mixed), p


def _sample_windows() -> Iterator[Doc]:
    docs = [(d["id"], d["text"], _day(d.get("published"))) for d in _gold(REPO / "samples" / "expected-events.jsonl")]
    return _windows(docs)


def _shared_gold() -> Iterator[Doc]:
    for d in _gold(SHARED / "dev-gold.jsonl"):
        pub = _day(d.get("published"))
        yield f"{d['id']}:{_tag(pub)}", d["text"], pub


def _shared_gold_nodate() -> Iterator[Doc]:
    for d in _gold(SHARED / "dev-gold.jsonl"):
        yield f"{d['id']}:none", d["text"], None


def _shared_seed() -> Iterator[Doc]:
    text = (SHARED / "seed-article.txt").read_text(encoding="utf-8")
    for p in ("2025-06-10", None, "2024-12-31"):
        yield f"seed-article:{p or 'none'}", text, _day(p)


def _shared_windows() -> Iterator[Doc]:
    docs = [(d["id"], d["text"], _day(d.get("published"))) for d in _gold(SHARED / "dev-gold.jsonl")]
    docs.append(("seed-article", (SHARED / "seed-article.txt").read_text(encoding="utf-8"), dt.date(2025, 6, 10)))
    return _windows(docs)


GROUPS: dict[str, Callable[[], Iterator[Doc]]] = {
    "tests": _test_texts,
    "samples_gold": _samples_gold,
    "samples_html": _samples_html,
    "samples_windows": _sample_windows,
    "shared_gold": _shared_gold,
    "shared_gold_nodate": _shared_gold_nodate,
    "shared_seed": _shared_seed,
    "shared_windows": _shared_windows,
}


def available(group: str) -> str | None:
    """None when the group's inputs are present, else the reason they are not."""
    if group in SHARED_GROUPS and not (SHARED / "dev-gold.jsonl").is_file():
        return f"{SHARED} is absent (shared material is not checked out beside the repo)"
    if group == "samples_html":
        try:
            import trafilatura  # noqa: F401
        except ImportError:
            return "trafilatura is not installed (needed to clean samples/articles)"
    return None


# --------------------------------------------------------------------------- hashing

def digest(events) -> str:
    payload = json.dumps([e.model_dump() for e in events], sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


def compute(group: str) -> dict[str, str]:
    from extractors import extract

    out: dict[str, str] = {}
    for doc_id, text, pub in GROUPS[group]():
        if doc_id in out:
            raise RuntimeError(f"duplicate snapshot id {doc_id!r} in group {group}")
        out[doc_id] = digest(extract(text, pub))
    return out


def load(path: Path = SNAPSHOT) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def compare(group: str, stored: dict[str, str], now: dict[str, str]) -> list[str]:
    """Differences as readable lines (empty when identical)."""
    problems = []
    for doc_id, h in stored.items():
        if doc_id not in now:
            problems.append(f"{group}: input {doc_id} is gone (inputs changed: regenerate with --write)")
        elif now[doc_id] != h:
            problems.append(f"{group}: output of {doc_id} changed ({h} -> {now[doc_id]})")
    for doc_id in now.keys() - stored.keys():
        problems.append(f"{group}: new input {doc_id} (inputs changed: regenerate with --write)")
    return problems


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    write = "--write" in argv
    result: dict = {"about": __doc__.splitlines()[0], "hash": "sha256(canonical JSON of model_dump list)[:16]",
                    "groups": {}}
    stored = {} if write else load()["groups"]
    problems: list[str] = []
    for group in GROUPS:
        why = available(group)
        if why:
            print(f"{group}: skipped ({why})")
            if write and group in load_or_empty()["groups"]:
                result["groups"][group] = load_or_empty()["groups"][group]  # keep what cannot be recomputed
            continue
        now = compute(group)
        print(f"{group}: {len(now)} documents")
        result["groups"][group] = {"count": len(now), "docs": dict(sorted(now.items()))}
        if not write:
            problems += compare(group, stored.get(group, {}).get("docs", {}), now)
    if write:
        SNAPSHOT.parent.mkdir(parents=True, exist_ok=True)
        SNAPSHOT.write_text(json.dumps(result, indent=0, sort_keys=True) + "\n", encoding="utf-8")
        print(f"wrote {SNAPSHOT}")
        return 0
    for p in problems[:50]:
        print(p)
    print("identical" if not problems else f"{len(problems)} differences")
    return 1 if problems else 0


def load_or_empty() -> dict:
    try:
        return load()
    except (OSError, ValueError):
        return {"groups": {}}


if __name__ == "__main__":
    sys.exit(main())
