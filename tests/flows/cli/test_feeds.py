"""`defwatch feeds list` and `feeds check` as a user runs them: real processes, real output."""

from __future__ import annotations

import re

from tests.support.cli import defwatch


def test_feeds_list_shows_the_registry():
    out = defwatch("feeds", "list", "--db", "/nonexistent/x.duckdb")
    assert out.returncode == 0, out.stderr
    assert "nato-news" in out.stdout and "feeds in registry feeds.toml" in out.stdout


def test_feeds_check_reports_each_feed(tmp_path, server):
    server.route("/good", content_type="application/rss+xml",
                 body=b'<rss version="2.0"><channel><title>t</title><item><title>a</title><link>http://e/a</link></item></channel></rss>')
    server.route("/bad", status=500)
    feeds = tmp_path / "feeds.toml"
    feeds.write_text(f'[[feed]]\nname = "good"\nurl = "{server.url("/good")}"\ntrusted = true\n\n'
                     f'[[feed]]\nname = "bad"\nurl = "{server.url("/bad")}"\ntrusted = true\n')
    out = defwatch("feeds", "check", "--feeds", str(feeds))
    assert out.returncode == 1
    assert re.search(r"good\s+│ ok\s+│ 200\s+│ 1", out.stdout)
    assert re.search(r"bad\s+│ http_5xx", out.stdout)
    assert "1 of 2 feeds failed." in out.stderr
