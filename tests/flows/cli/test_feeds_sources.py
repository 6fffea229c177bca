"""`defwatch feeds add|remove|enable|disable|import|export` as a user runs them: real processes, a
real loopback site, real files; the exact text the user sees."""

from __future__ import annotations

import tomllib

import pytest

from tests.support.cli import defwatch

RSS = (b'<?xml version="1.0"?><rss version="2.0"><channel><title>Example News</title><link>http://x/</link>'
       b'<item><title>a</title><link>http://x/a</link></item><item><title>b</title><link>http://x/b</link></item>'
       b'</channel></rss>')
ATOM = (b'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Example Analysis</title>'
        b'<id>urn:a</id><updated>2025-06-09T11:00:00Z</updated><entry><title>c</title><id>urn:c</id>'
        b'<link href="http://x/c"/><updated>2025-06-09T11:00:00Z</updated></entry></feed>')
HOME = b"""<html><head><title>Example</title>
<link rel="alternate" type="application/rss+xml" title="News" href="/rss.xml">
<link rel="alternate" type="application/atom+xml" title="Analysis" href="/analysis/atom.xml">
<link rel="stylesheet" href="/site.css"></head><body><a href="/news">News</a></body></html>"""

REGISTRY = """# My registry: comments and layout are kept.

# --- Ministries ---

[[feed]]
name = "uk-mod"
url = "https://www.gov.uk/government/organisations/ministry-of-defence.atom"
tags = ["uk", "official"]
# source: the department's page links it
confirmed = true

# Trade press (evidence: the publisher's footer)
[[feed]]
name = "press"
url = "https://press.example.com/feed"   # trailing comment
enabled = true
"""


@pytest.fixture
def site(server):
    server.route("/", body=HOME)
    server.route("/rss.xml", content_type="application/rss+xml", body=RSS)
    server.route("/analysis/atom.xml", content_type="application/atom+xml", body=ATOM)
    server.route("/plain", body=b"<html><head><title>Plain</title></head><body>No feeds here</body></html>")
    return server


@pytest.fixture
def registry(tmp_path):
    path = tmp_path / "feeds.toml"
    path.write_text(REGISTRY)
    return path


def test_add_a_site_lists_its_two_feeds_and_adds_the_one_picked(site, registry):
    b = site.base_url
    out = defwatch("feeds", "add", f"{b}/", "--trusted", "--feeds", str(registry))
    assert out.returncode == 1
    assert out.stdout == (f"2 feeds found at {b}/:\n"
                          f"  1. Example News: {b}/rss.xml (rss20, 2 entries)\n"
                          f"  2. Example Analysis: {b}/analysis/atom.xml (atom10, 1 entry)\n")
    assert out.stderr == "Nothing was added: choose one with --pick N, or add them all with --all.\n"
    assert registry.read_text() == REGISTRY

    out = defwatch("feeds", "add", f"{b}/", "--trusted", "--pick", "2", "--tags", "analysis,en", "--feeds", str(registry))
    assert out.returncode == 0, out.stderr
    assert out.stdout == f"added example-analysis: {b}/analysis/atom.xml (atom10, 1 entry) to {registry}\n"
    assert registry.read_text() == REGISTRY + (
        f'\n[[feed]]\nname = "example-analysis"\nurl = "{b}/analysis/atom.xml"\ntitle = "Example Analysis"\n'
        f'site_url = "{b}/"\ntags = ["analysis", "en"]\ntrusted = true\n')

    # The same feed again, under another spelling of its address: refused, file unchanged.
    before = registry.read_text()
    out = defwatch("feeds", "add", f"HTTP://127.0.0.1:{site.server_address[1]}/analysis/atom.xml?utm_source=x",
                   "--trusted", "--feeds", str(registry))
    assert out.returncode == 2
    assert out.stderr == (f"error: HTTP://127.0.0.1:{site.server_address[1]}/analysis/atom.xml?utm_source=x is already "
                          f"in {registry} as 'example-analysis' "
                          f"({b}/analysis/atom.xml); nothing was added.\n")
    assert registry.read_text() == before

    out = defwatch("feeds", "add", f"{b}/", "--trusted", "--all", "--feeds", str(registry))
    assert out.returncode == 0, out.stderr
    assert out.stderr == f"skipped {b}/analysis/atom.xml: already in the registry as 'example-analysis'\n"
    assert out.stdout == f"added example-news: {b}/rss.xml (rss20, 2 entries) to {registry}\n"
    out = defwatch("feeds", "add", f"{b}/", "--trusted", "--all", "--feeds", str(registry))
    assert out.returncode == 2 and out.stderr.endswith(
        f"error: every feed found at {b}/ is already in {registry}; nothing was added.\n")


def test_add_all_and_a_direct_feed_and_a_page_without_feeds(site, tmp_path):
    b = site.base_url
    reg = tmp_path / "new.toml"  # no registry yet: the first add creates it
    out = defwatch("feeds", "add", f"{b}/", "--trusted", "--all", "--feeds", str(reg))
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [f"added example-news: {b}/rss.xml (rss20, 2 entries) to {reg}",
                                       f"added example-analysis: {b}/analysis/atom.xml (atom10, 1 entry) to {reg}"]
    assert [f["name"] for f in tomllib.loads(reg.read_text())["feed"]] == ["example-news", "example-analysis"]

    site.route("/rss.xml", status=404)  # the site's only feeds are gone: nothing at the common paths either
    site.route("/analysis/atom.xml", status=404)
    out = defwatch("feeds", "add", f"{b}/plain", "--trusted", "--feeds", str(reg))
    assert out.returncode == 2
    assert out.stderr == (f'error: no feed found at {b}/plain (neither its <link rel="alternate"> nor the common '
                          f"feed paths); for a site without a feed, add its sitemap with --kind sitemap or its news "
                          f"page with --kind page.\n")
    site.route("/robots.txt", content_type="text/plain",
               body=f"User-agent: *\nDisallow: /admin\nSitemap: {b}/sitemap_news.xml\n".encode())
    out = defwatch("feeds", "add", f"{b}/plain", "--trusted", "--feeds", str(reg))
    assert out.returncode == 2
    assert out.stderr == (f"error: no feed found at {b}/plain, but the site's robots.txt names a sitemap: "
                          f"{b}/sitemap_news.xml; add it with `defwatch feeds add {b}/sitemap_news.xml --kind sitemap "
                          f"--trusted`, or the news page with --kind page.\n")
    out = defwatch("feeds", "add", f"{b}/plain", "--kind", "page", "--selector", "h2 > a", "--name", "plain-news",
                   "--trusted", "--feeds", str(reg))
    assert out.returncode == 0, out.stderr
    assert out.stdout == f"added plain-news (page, 0 article links): {b}/plain to {reg}\n"
    assert out.stderr == f"warning: {b}/plain: the selector 'h2 > a' matched no links\n"
    assert tomllib.loads(reg.read_text())["feed"][-1] == {
        "name": "plain-news", "url": f"{b}/plain", "kind": "page", "selector": "h2 > a", "trusted": True}


def test_the_guard_applies_to_discovery(site, registry):
    out = defwatch("feeds", "add", f"{site.base_url}/", "--feeds", str(registry))
    assert out.returncode == 2
    assert out.stderr.startswith(f"error: {site.base_url}/ was not fetched: 127.0.0.1 resolves to 127.0.0.1, a loopback")
    assert len(out.stderr.splitlines()) == 1 and site.seen == []


def test_remove_enable_disable_keep_comments_and_layout(registry):
    out = defwatch("feeds", "disable", "uk-mod", "--feeds", str(registry))
    assert out.returncode == 0 and out.stdout == f"uk-mod is now disabled in {registry}\n"
    assert registry.read_text() == REGISTRY.replace('confirmed = true\n', 'confirmed = true\nenabled = false\n')
    out = defwatch("feeds", "disable", "uk-mod", "--feeds", str(registry))
    assert out.stdout == f"uk-mod was already disabled in {registry}; nothing changed\n"
    out = defwatch("feeds", "enable", "uk-mod", "--feeds", str(registry))
    assert out.stdout == f"uk-mod is now enabled in {registry}\n"
    assert registry.read_text() == REGISTRY.replace('confirmed = true\n', 'confirmed = true\nenabled = true\n')
    out = defwatch("feeds", "disable", "press", "--feeds", str(registry))
    assert 'url = "https://press.example.com/feed"   # trailing comment\nenabled = false\n' in registry.read_text()

    out = defwatch("feeds", "remove", "press", "--feeds", str(registry))
    assert out.returncode == 0 and out.stdout == f"removed press: https://press.example.com/feed from {registry}\n"
    assert registry.read_text() == REGISTRY.replace('confirmed = true\n', 'confirmed = true\nenabled = true\n').split(
        "\n# Trade press")[0]
    out = defwatch("feeds", "remove", "nope", "--feeds", str(registry))
    assert out.returncode == 2 and out.stderr == f"error: no feed named 'nope' in {registry} (names: uk-mod).\n"


OPML_1 = """<?xml version="1.0" encoding="UTF-8"?>
<opml version="1.0">
  <head><title>Analyst export</title></head>
  <body>
    <outline text="Défense">
      <outline text="Europe">
        <outline text="Ministère des Armées" type="rss" xmlUrl="https://www.defense.gouv.fr/rss.xml" htmlUrl="https://www.defense.gouv.fr/"/>
        <outline text="Nordics">
          <outline text="Försvarsmakten" type="rss" xmlUrl="https://www.forsvarsmakten.se/rss" language="sv" htmlUrl="https://www.forsvarsmakten.se/"/>
        </outline>
      </outline>
      <outline text="Асоціація" title="Міноборони України" type="rss" xmlUrl="https://www.mil.gov.ua/rss"/>
    </outline>
    <outline text="UK MoD again" type="rss" xmlUrl="https://www.gov.uk/government/organisations/ministry-of-defence.atom?utm_source=opml"/>
    <outline text="A folder with nothing"/>
    <outline text="Gopher" xmlUrl="gopher://old.example/feed"/>
    <outline text="Top level" type="rss" xmlUrl="https://top.example.org/feed.xml"/>
    <outline text="Armées, again" type="rss" xmlUrl="https://www.defense.gouv.fr/rss.xml#top"/>
  </body>
</opml>
"""


def _feeds(path):
    # A feed without a title is exported under its name, which comes back as its title.
    return sorted((f["url"], tuple(f.get("tags", ())), f.get("title") or f["name"], f.get("site_url"), f.get("language"))
                  for f in tomllib.loads(path.read_text())["feed"])


def test_opml_import_then_export_round_trips(registry, tmp_path):
    opml = tmp_path / "reader.opml"
    opml.write_text(OPML_1, encoding="utf-8")
    out = defwatch("feeds", "import", str(opml), "--feeds", str(registry))
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        "added ministere-des-armees: https://www.defense.gouv.fr/rss.xml [defense, europe]",
        "added forsvarsmakten: https://www.forsvarsmakten.se/rss [defense, europe, nordics]",
        "added mil-gov-ua: https://www.mil.gov.ua/rss [defense]",
        "added top-level: https://top.example.org/feed.xml",
        f"4 feeds added to {registry}, 4 skipped.",
    ]
    assert out.stderr.splitlines() == [
        "skipped 'A folder with nothing': no xmlUrl (not a feed)",
        "skipped 'Gopher': xmlUrl 'gopher://old.example/feed' is not an http(s) address",
        "skipped 'UK MoD again': https://www.gov.uk/government/organisations/ministry-of-defence.atom?utm_source=opml "
        "is already in the registry as 'uk-mod'",
        "skipped 'Armées, again': https://www.defense.gouv.fr/rss.xml#top is listed twice in the file "
        "(first as 'ministere-des-armees')",
    ]
    assert registry.read_text().startswith(REGISTRY)  # appended; nothing above was touched
    imported = tomllib.loads(registry.read_text())["feed"]
    ua = next(f for f in imported if f["name"] == "mil-gov-ua")
    assert ua["title"] == "Міноборони України"
    assert next(f for f in imported if f["name"] == "forsvarsmakten")["language"] == "sv"

    exported = tmp_path / "out.opml"
    out = defwatch("feeds", "export", "--format", "opml", "--out", str(exported), "--feeds", str(registry))
    assert out.returncode == 0 and out.stderr == f"wrote {exported}\n"
    text = exported.read_text(encoding="utf-8")
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<opml version="2.0">')
    assert ('<outline type="rss" text="Ministère des Armées" title="Ministère des Armées" '
            'xmlUrl="https://www.defense.gouv.fr/rss.xml" htmlUrl="https://www.defense.gouv.fr/" />') in text

    again = tmp_path / "again.toml"
    out = defwatch("feeds", "import", str(exported), "--feeds", str(again))
    assert out.returncode == 0, out.stderr
    assert _feeds(again) == _feeds(registry)


def test_opml_2_with_category_attributes(tmp_path):
    opml = tmp_path / "v2.opml"
    opml.write_text('<?xml version="1.0"?><opml version="2.0"><head><title>t</title></head><body>'
                    '<outline text="NATO" type="rss" xmlUrl="https://www.nato.int/rss" category="/alliances/nato"/>'
                    '</body></opml>')
    reg = tmp_path / "feeds.toml"
    out = defwatch("feeds", "import", str(opml), "--feeds", str(reg))
    assert out.returncode == 0, out.stderr
    assert _feeds(reg) == [("https://www.nato.int/rss", ("alliances", "nato"), "NATO", None, None)]


BOMB = """<?xml version="1.0"?>
<!DOCTYPE opml [
 <!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">
 <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
 <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
 <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
]>
<opml version="2.0"><head><title>&d;</title></head><body><outline text="&d;" xmlUrl="https://x.example/rss"/></body></opml>
"""
EXTERNAL = """<?xml version="1.0"?>
<!DOCTYPE opml [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<opml version="2.0"><head><title>&secret;</title></head><body/></opml>
"""


@pytest.mark.parametrize("content, message", [
    (BOMB, "declares XML entities or external references (EntitiesForbidden), which OPML never needs; "
           "refused as unsafe. Nothing was imported."),
    (EXTERNAL, "declares XML entities or external references (EntitiesForbidden), which OPML never needs; "
               "refused as unsafe. Nothing was imported."),
    ("<opml><body><outline", "is not well-formed XML (unclosed token: line 1, column 12). Nothing was imported."),
    ("<rss version='2.0'/>", "is XML but not OPML (its root element is <rss>). Nothing was imported."),
])
def test_hostile_or_broken_opml_is_refused_in_one_line(registry, tmp_path, content, message):
    opml = tmp_path / "bad.opml"
    opml.write_text(content)
    out = defwatch("feeds", "import", str(opml), "--feeds", str(registry))
    assert out.returncode == 2
    assert out.stderr == f"error: {opml} {message}\n"
    assert registry.read_text() == REGISTRY


def test_huge_opml_is_refused_before_reading(registry, tmp_path):
    opml = tmp_path / "huge.opml"
    with opml.open("w") as fh:
        fh.write('<opml version="2.0"><body>')
        for i in range(80_000):
            fh.write(f'<outline text="f{i}" xmlUrl="https://x{i}.example.org/rss-feed-address"/>')
        fh.write("</body></opml>")
    size = opml.stat().st_size
    out = defwatch("feeds", "import", str(opml), "--feeds", str(registry))
    assert out.returncode == 2
    assert out.stderr == (f"error: {opml} is {size:,} bytes, over the OPML limit of 5,000,000; split it or remove "
                          f"what is not a feed. Nothing was imported.\n")
    assert registry.read_text() == REGISTRY


def test_add_a_sitemap_checks_that_it_is_one(site, registry):
    b = site.base_url
    site.route("/sitemap.xml", content_type="application/xml", body=(
        '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><sitemap><loc>' + b + '/s1.xml</loc></sitemap>'
        '<sitemap><loc>' + b + '/s2.xml</loc></sitemap></sitemapindex>').encode())
    out = defwatch("feeds", "add", f"{b}/sitemap.xml", "--kind", "sitemap", "--name", "mod-sitemap", "--trusted",
                   "--feeds", str(registry))
    assert out.returncode == 0, out.stderr
    assert out.stdout == f"added mod-sitemap (sitemap, a sitemap index of 2 sitemaps): {b}/sitemap.xml to {registry}\n"
    out = defwatch("feeds", "add", f"{b}/", "--kind", "sitemap", "--trusted", "--feeds", str(registry))
    assert out.returncode == 2
    assert out.stderr == f"error: {b}/ is an HTML page, not a sitemap; nothing was added.\n"
    out = defwatch("feeds", "add", f"{b}/missing.xml", "--kind", "sitemap", "--trusted", "--feeds", str(registry))
    assert out.returncode == 2
    assert out.stderr == (f"error: {b}/missing.xml answered HTTP 404: not found (the address is wrong or the page was "
                          f"removed); nothing was added.\n")
    assert [f["name"] for f in tomllib.loads(registry.read_text())["feed"]] == ["uk-mod", "press", "mod-sitemap"]


def test_trust_is_not_passed_on_to_a_feed_on_another_host(site, tmp_path):
    from tests.support import httpserver

    other, _ = httpserver.start()
    try:
        other.route("/feed.xml", content_type="application/rss+xml", body=RSS)
        site.route("/linker", body=(f'<html><head><link rel="alternate" type="application/rss+xml" '
                                    f'href="{other.url("/feed.xml")}"></head><body></body></html>').encode())
        reg = tmp_path / "feeds.toml"
        # allow_private lets this test reach a second loopback port, as a public host would be reached.
        out = defwatch("feeds", "add", site.url("/linker"), "--trusted", "--feeds", str(reg),
                       env={"DEFWATCH_FETCH__ALLOW_PRIVATE": "true"})
        assert out.returncode == 0, out.stderr
        assert out.stdout == f"added example-news: {other.url('/feed.xml')} (rss20, 2 entries) to {reg}\n"
        assert "trusted" not in tomllib.loads(reg.read_text())["feed"][0]
    finally:
        other.shutdown()
        other.server_close()


def test_feeds_check_reads_each_source_as_its_kind(site, tmp_path):
    import re

    b = site.base_url
    site.route("/news", body=b'<html><body><nav><a href="/news/all-the-latest-news">All</a></nav>'
                             b'<main><a href="/news/2025/pact-signed-today">Pact</a></main></body></html>')
    site.route("/sitemap.xml", content_type="application/xml", body=(
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>' + b + '/a</loc></url>'
        '<url><loc>' + b + '/b</loc></url></urlset>').encode())
    reg = tmp_path / "feeds.toml"
    reg.write_text(f'[[feed]]\nname = "page"\nkind = "page"\nurl = "{b}/news"\ntrusted = true\n\n'
                   f'[[feed]]\nname = "map"\nkind = "sitemap"\nurl = "{b}/sitemap.xml"\ntrusted = true\n\n'
                   f'[[feed]]\nname = "wrong"\nkind = "sitemap"\nurl = "{b}/news"\ntrusted = true\n')
    out = defwatch("feeds", "check", "--feeds", str(reg))
    assert out.returncode == 1
    assert re.search(r"page\s+│ ok\s+│ 200\s+│ 1 ", out.stdout)
    assert re.search(r"map\s+│ ok\s+│ 200\s+│ 2 ", out.stdout)
    assert re.search(r"wrong\s+│ not a feed\s+│ 200 ", out.stdout)
    assert out.stderr == "1 of 3 feeds failed.\n"
