"""The feedparser project's own test feeds (real documents defwatch did not write), served over
loopback HTTP and parsed as an ingest run would: every ill-formed one gives entries or a recorded
error, every well-formed one parses without an error. Skipped when ../shared is absent."""

from __future__ import annotations

import pytest

from flows.sources.fetch import FetchRequest, run_fetches
from flows.sources.parse import parse_feed
from flows.settings import FetchSettings
from tests.conftest import SHARED

CORPUS = SHARED / "feed-corpus" / "feedparser"
WELLFORMED_EVERY = 15   # a deterministic sample of the 1,749 well-formed feeds
ENCODING_EVERY = 3


def _files(sub: str, every: int = 1) -> list[str]:
    if not CORPUS.is_dir():
        return []
    files = sorted(p.relative_to(CORPUS).as_posix() for p in (CORPUS / sub).rglob("*") if p.is_file())
    return files[::every]


ILLFORMED = _files("illformed")
WELLFORMED = _files("wellformed", WELLFORMED_EVERY)
ENCODING = _files("encoding", ENCODING_EVERY)


@pytest.fixture(scope="module")
def corpus_results():
    if not CORPUS.is_dir():
        pytest.skip(f"{CORPUS} is absent: shared project material is not checked out beside the repo")
    from flows.runtime.sample_server import serve_directory

    names = ILLFORMED + WELLFORMED + ENCODING
    with serve_directory(CORPUS) as srv:
        reqs = [FetchRequest(url=f"{srv.base_url}/{n}", key=n, trusted=True) for n in names]
        results, _ = run_fetches(FetchSettings(timeout_s=5, total_timeout_s=10, per_host=16), reqs)
    return {r.request.key: (r, parse_feed(r.body, r.final_url, r.content_type) if r.ok else None) for r in results}


def _check_recorded(res, parsed) -> None:
    assert res.ok, (res.error_kind, res.error)
    if parsed.entries:
        assert all(e.link.strip() for e in parsed.entries)
    else:
        # nothing usable: a recorded error, or a well-formed feed without entries (a warning)
        assert parsed.error_kind in ("not_a_feed", "empty_feed") or parsed.warning, parsed
        msg = parsed.error or parsed.warning
        assert msg and "http://127.0.0.1" in msg and len(msg) < 1000, msg


@pytest.mark.parametrize("name", ILLFORMED or ["(absent)"])
def test_illformed_feed_gives_entries_or_a_recorded_error(corpus_results, name):
    res, parsed = corpus_results[name]
    _check_recorded(res, parsed)
    if parsed.entries and parsed.warning is None:
        pass  # feedparser repaired it silently: a correct result
    elif parsed.entries:
        assert "malformed feed" in parsed.warning


@pytest.mark.parametrize("name", WELLFORMED or ["(absent)"])
def test_wellformed_feed_parses_without_error(corpus_results, name):
    res, parsed = corpus_results[name]
    _check_recorded(res, parsed)


@pytest.mark.parametrize("name", ENCODING or ["(absent)"])
def test_encoding_case_parses_or_is_recorded(corpus_results, name):
    res, parsed = corpus_results[name]
    _check_recorded(res, parsed)
