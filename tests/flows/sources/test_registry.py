"""The feed registry and settings: bad files are refused with the file, the line and what to do."""

from __future__ import annotations

import pytest

from flows.errors import ConfigError
from flows.sources.registry import load_feeds, parse_feeds
from flows.settings import load_settings

GOOD = """
[[feed]]
name = "nato-news"
url = "https://www.nato.int/rss.xml"
tags = ["nato"]
language = "en"

[[feed]]
name = "demo"
url = "{{BASE_URL}}/feeds/a.xml"
trusted = true
"""


def test_registry_parses_and_fills_base_url():
    feeds = parse_feeds(GOOD, base_url="http://127.0.0.1:9999/")
    assert [f.name for f in feeds] == ["nato-news", "demo"]
    assert feeds[1].url == "http://127.0.0.1:9999/feeds/a.xml" and feeds[1].trusted
    assert feeds[0].enabled and not feeds[0].trusted


def test_toml_syntax_error_names_the_line():
    with pytest.raises(ConfigError) as exc:
        parse_feeds('[[feed]]\nname = "a"\nurl = "https://x/y\n', "feeds.toml")
    assert "feeds.toml: not valid TOML" in str(exc.value) and "line 3" in str(exc.value)


def test_invalid_feed_names_its_header_line():
    text = GOOD + '\n[[feed]]\nname = "Bad Name"\nurl = "ftp://x/y"\n'
    with pytest.raises(ConfigError) as exc:
        parse_feeds(text, "feeds.toml", base_url="http://127.0.0.1:1")
    message = str(exc.value)
    assert "feeds.toml, line 13" in message and "name" in message and "url" in message


def test_unknown_keys_and_duplicates_are_refused():
    with pytest.raises(ConfigError, match="colour: Extra inputs are not permitted"):
        parse_feeds('[[feed]]\nname = "a"\nurl = "https://x/y"\ncolour = "red"\n')
    with pytest.raises(ConfigError, match="used twice"):
        parse_feeds('[[feed]]\nname = "a"\nurl = "https://x/y"\n[[feed]]\nname = "a"\nurl = "https://x/z"\n')


def test_base_url_token_outside_the_demo_is_an_error(tmp_path):
    path = tmp_path / "feeds.toml"
    path.write_text(GOOD)
    with pytest.raises(ConfigError, match="only `defwatch demo` fills in"):
        load_feeds(path)


def test_missing_registry_says_where_to_look(tmp_path):
    with pytest.raises(ConfigError, match="--feeds PATH, set DEFWATCH_FEEDS_FILE"):
        load_feeds(tmp_path / "nope.toml")


def test_shipped_registry_is_valid():
    from tests.conftest import REPO

    feeds = load_feeds(REPO / "feeds.toml")
    assert len(feeds) >= 15
    assert all(f.url.startswith("https://") for f in feeds)
    # Every address we could not confirm ships disabled.
    assert all(f.enabled == bool(f.confirmed) for f in feeds)


def test_settings_layers_env_over_file(tmp_path, monkeypatch):
    cfg = tmp_path / "defwatch.toml"
    cfg.write_text('batch_size = 50\n[fetch]\nconcurrency = 8\n')
    monkeypatch.setenv("DEFWATCH_CONFIG", str(cfg))
    monkeypatch.setenv("DEFWATCH_FETCH__CONCURRENCY", "32")
    s = load_settings()
    assert s.batch_size == 50 and s.fetch.concurrency == 32
    assert load_settings(batch_size=7).batch_size == 7


def test_malformed_settings_file_and_values(tmp_path, monkeypatch):
    cfg = tmp_path / "defwatch.toml"
    cfg.write_text("batch_size = = 3\n")
    monkeypatch.setenv("DEFWATCH_CONFIG", str(cfg))
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings()
    cfg.write_text("batch_size = -1\n")
    with pytest.raises(ConfigError) as exc:
        load_settings()
    assert "batch_size" in str(exc.value) and "Looked in" in str(exc.value)
