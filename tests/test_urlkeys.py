from __future__ import annotations

import pytest

from storage.urlkeys import clean_url, same_site, url_key


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("HTTP://Example.COM:80/a/b", "http://example.com/a/b"),
        ("https://example.com:443/a", "https://example.com/a"),
        ("http://example.com/a#comments", "http://example.com/a"),
        ("http://example.com/a?b=2&a=1", "http://example.com/a?a=1&b=2"),
        ("http://example.com/a?utm_source=rss&utm_medium=feed", "http://example.com/a"),
        ("http://example.com/a?fbclid=abc&gclid=x&id=3", "http://example.com/a?id=3"),
        ("http://127.0.0.1:8000/read/1?utm_campaign=x", "http://127.0.0.1:8000/read/1"),
    ],
)
def test_equivalent_urls_share_a_key(a: str, b: str) -> None:
    assert url_key(a) == url_key(b)


def test_different_articles_keep_different_keys() -> None:
    assert url_key("http://example.com/a?id=3") != url_key("http://example.com/a?id=4")
    assert url_key("http://example.com/a") != url_key("http://example.com/b")
    assert url_key("http://127.0.0.1:8000/a") != url_key("http://127.0.0.2:8000/a")


def test_clean_url_drops_tracking_and_fragment() -> None:
    assert clean_url("http://Example.com/read/1?b=2&utm_source=x&a=1#top") == (
        "http://example.com/read/1?a=1&b=2"
    )


def test_same_site_uses_registrable_domains() -> None:
    assert same_site("https://international.sindonews.com/read/1", "https://www.sindonews.com/")
    assert not same_site("https://www.bbc.co.uk/news", "https://www.example.co.uk/")
    assert not same_site("http://127.0.0.1:8000/a", "http://127.0.0.2:8000/a")
    assert same_site("http://127.0.0.1:8000/a", "http://127.0.0.1:9000/b")
