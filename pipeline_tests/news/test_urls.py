import pytest

from pipeline.lib.news.urls import canonical_url, domain_of


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        # tracking parameters go, the others stay (sorted)
        (
            "https://example.com/a?utm_source=x&utm_medium=y&id=7&fbclid=abc&gclid=def",
            "https://example.com/a?id=7",
        ),
        ("https://example.com/a?b=2&a=1", "https://example.com/a?a=1&b=2"),
        ("https://example.com/a?UTM_Campaign=z", "https://example.com/a"),
        # fragment dropped; scheme and host normalised; default port, www. and trailing / gone
        ("HTTP://WWW.Example.COM:80/News/Story/#comments", "https://example.com/News/Story"),
        ("https://example.com:443/x", "https://example.com/x"),
        ("https://example.com:8443/x", "https://example.com:8443/x"),
        ("https://example.com", "https://example.com/"),
        # dot segments and doubled slashes
        ("https://example.com/a//b/../c/", "https://example.com/a/c"),
        # percent-escapes: unreserved decoded, the rest upper-cased
        ("https://example.com/%7euser/caf%c3%a9", "https://example.com/~user/caf%C3%A9"),
        # Google Alerts redirect wrapper unwrapped to the article
        (
            "https://www.google.com/url?rct=j&sa=t&url=https://news.example.org/x%3Futm_source%3Da&ct=ga",
            "https://news.example.org/x",
        ),
        # internationalised host to punycode
        ("https://bücher.example/x", "https://xn--bcher-kva.example/x"),
        # not an http URL: left alone
        ("  mailto:someone@example.org ", "mailto:someone@example.org"),
        ("", ""),
    ],
)
def test_canonical_url(raw, canonical):
    assert canonical_url(raw) == canonical


def test_canonical_url_is_idempotent():
    url = "http://www.Example.com/a/./b/?utm_source=x&z=1&a=2#top"
    once = canonical_url(url)
    assert canonical_url(once) == once


def test_domain_of():
    assert domain_of("https://www.NorthwindRobotics.com/x") == "northwindrobotics.com"
    assert domain_of("not a url") == ""
