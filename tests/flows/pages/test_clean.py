"""Cleaning pages: article text without furniture, encodings, and pages that are not articles."""

from __future__ import annotations

from datetime import datetime, timezone

from flows.pages.clean import CleanerPool, choose_published, clean_page, content_fingerprint, decode_html

BODY = (
    "<p>Defence ministers from both countries met in the capital on Tuesday to review progress "
    "on their joint air defence programme, which has been delayed by supply problems.</p>"
    "<p>Officials said the two governments expect to sign an updated cooperation agreement "
    "before the end of the year, covering training, logistics and the exchange of liaison officers.</p>"
    "<p>The programme was launched three years ago and has since grown to include maritime patrols.</p>"
)


def page(body: str = BODY, charset: str = "utf-8") -> str:
    return (
        f'<html lang="en"><head><meta charset="{charset}"><title>Ministers review air defence work</title>'
        '<meta name="author" content="Sam Writer"><meta property="og:site_name" content="Test Wire">'
        '<meta property="article:published_time" content="2025-03-04T10:00:00Z"></head><body>'
        '<nav><a href="/">Home</a> <a href="/world">World</a> <a href="/defence">Defence</a></nav>'
        '<div class="cookie-banner">We use cookies to improve your experience. Accept all</div>'
        f'<article><h1>Ministers review air defence work</h1>{body}</article>'
        '<aside><h3>Related stories</h3><ul><li><a href="/x">Another story</a></li></ul></aside>'
        '<section class="comments"><p>Reader: this is a great comment about nothing.</p></section>'
        '<footer>Copyright 2025 Test Wire. All rights reserved.</footer></body></html>'
    )


def test_article_text_without_page_furniture():
    res = clean_page(page().encode(), "http://e/a", "text/html; charset=utf-8")
    assert res.error_kind is None
    assert "joint air defence programme" in res.text
    for furniture in ("cookies", "Accept all", "Related stories", "All rights reserved", "great comment", "World"):
        assert furniture not in res.text
    assert res.author == "Sam Writer" and res.site_name == "Test Wire"
    assert res.language == "en" and res.page_date == "2025-03-04"


def test_latin1_page_without_header_charset_decodes():
    html = page(BODY.replace("capital", "capitale de la Défense"), charset="iso-8859-1").encode("latin-1")
    res = clean_page(html, "http://e/a", "text/html")
    assert "Défense" in res.text


def test_mislabelled_charset_falls_back_to_detection():
    html = page(BODY.replace("capital", "Zürich")).encode("utf-8")
    assert "Zürich" in decode_html(html, "text/html; charset=ascii")


def test_binary_served_as_html_is_refused():
    res = clean_page(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 20, "http://e/img", "text/html")
    assert res.error_kind == "not_html"
    res = clean_page(b"%PDF-1.7 ...", "http://e/doc", "application/pdf")
    assert res.error_kind == "not_html" and "application/pdf" in res.error


def test_script_only_page_is_an_empty_page():
    html = b'<html><body><div id="app"></div><script>window.render()</script></body></html>'
    res = clean_page(html, "http://e/app", "text/html")
    assert res.error_kind == "empty_page"


def test_control_characters_and_long_lines_are_handled():
    body = "<p>" + ("word\x07\x1b " * 20000) + "</p>" + BODY
    res = clean_page(page(body).encode(), "http://e/a", "text/html")
    assert res.text is not None and "\x07" not in res.text and "\x1b" not in res.text


def test_syndicated_copies_share_a_fingerprint():
    a = "Ministers met on Tuesday.\nThey agreed a plan."
    b = "ministers met on tuesday. They agreed a plan!"
    assert content_fingerprint(a) == content_fingerprint(b)
    assert content_fingerprint(a) != content_fingerprint("Ministers met on Wednesday.")


def test_publication_date_source_and_future_dates():
    now = datetime(2025, 6, 10, 12, tzinfo=timezone.utc)
    feed_dt = datetime(2025, 6, 9, 8, 30, tzinfo=timezone.utc)
    assert choose_published("2025-06-09", feed_dt, now) == (feed_dt, "page", None)
    assert choose_published(None, feed_dt, now) == (feed_dt, "feed", None)
    published, source, warning = choose_published("2031-01-01", None, now)
    assert published is None and source is None and "future" in warning


def test_a_month_only_page_date_stays_a_month_unless_the_feed_dates_it_within_that_month():
    from extractors.pubdate import PubDate
    from flows.pages.clean import published_precision, published_pubdate

    now = datetime(2025, 7, 10, tzinfo=timezone.utc)
    first = datetime(2025, 6, 1, tzinfo=timezone.utc)
    assert choose_published("2025-06", None, now) == (first, "page", None)
    assert published_precision("2025-06", first, "page") == "month"
    assert published_pubdate(first, "month") == PubDate(2025, 6)
    in_month = datetime(2025, 6, 17, 9, tzinfo=timezone.utc)
    assert choose_published("2025-06", in_month, now) == (in_month, "feed", None)
    assert published_precision("2025-06", in_month, "feed") == "day"
    other = datetime(2025, 7, 2, tzinfo=timezone.utc)
    assert choose_published("2025-06", other, now) == (first, "page", None)
    assert published_pubdate(None, None) is None


def test_htmldate_does_not_invent_a_day_for_a_month_only_page():
    html = ('<html><head><meta property="article:published_time" content="2025-06"><title>t</title></head>'
            "<body><article><h1>Pact</h1><p>" + "The European Union and Canada plan to sign a pact. " * 8 +
            "</p></article></body></html>")
    assert clean_page(html.encode(), "http://e/a", "text/html").page_date == "2025-06"
    dated = html.replace('content="2025-06"', 'content="2025-06-09T10:00:00Z"')
    assert clean_page(dated.encode(), "http://e/a", "text/html").page_date == "2025-06-09"


def test_process_pool_gives_the_same_results_as_in_process():
    items = [(page().encode(), f"http://e/{i}", "text/html") for i in range(6)]
    with CleanerPool(2) as pool:
        pooled = [f.result() for f in [pool.submit(clean_page, *it) for it in items]]
    local = [clean_page(*it) for it in items]
    assert [r.text for r in pooled] == [r.text for r in local]
    assert all(r.error_kind is None for r in pooled)


def _normalise_by_walk(text: str) -> str:
    """The definition: NFC, drop every control character (Unicode category C) but newlines and
    tabs, collapse blanks within lines, drop empty lines. normalise_text must agree with it."""
    import re
    import unicodedata

    text = unicodedata.normalize("NFC", text)
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C")
    lines = [re.sub(r"[ \t]+", " ", line).strip() for line in text.splitlines()]
    return "\n".join(line for line in lines if line)


def test_normalise_text_fast_path_agrees_with_the_character_walk():
    import random

    from flows.pages.clean import normalise_text

    rng = random.Random(7)
    # Every kind of space and separator, control and format characters, combining marks, text.
    special = ["\u00a0", "\u1680", "\u2003", "\u2028", "\u2029", "\u202f", "\u3000", "\x00", "\x07", "\x1b",
               "\x85", "\u200b", "\u200e", "\ufeff", "\ue000", "\u0301", "\r", "\n", "\t", " ", "é", "Ж", "北"]
    for _ in range(3000):
        text = "".join(rng.choice(special) if rng.random() < 0.3 else rng.choice("ab cd\nef")
                       for _ in range(rng.randint(0, 80)))
        assert normalise_text(text) == _normalise_by_walk(text), repr(text)
    assert normalise_text("NATO\u00a0summit\u200b in\tVilnius\x07\n\n ok ") == "NATO\u00a0summit in Vilnius\nok"


def test_looks_binary_counts_control_bytes():
    from flows.pages.clean import looks_binary

    assert looks_binary(bytes(range(1, 9)) * 100)
    assert not looks_binary(b"<html>" + b"\x01" * 10 + b"x" * 100)
    assert looks_binary(b"\x00<html>")
    assert not looks_binary("<p>\ufeffSommet de l'OTAN</p>".encode("utf-16"))
