"""Canonical URLs: one spelling per article, whatever tracking parameters, scheme, host case
or redirect wrapper a provider put around it."""

from __future__ import annotations

import contextlib
import posixpath
import re
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

# Query parameters that only track the click; they never change which article is served.
TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "mc_cid",
        "mc_eid",
        "igshid",
        "yclid",
        "_hsenc",
        "_hsmi",
        "ocid",
        "cmpid",
        "ncid",
        "guccounter",
        "guce_referrer",
        "guce_referrer_sig",
    }
)
TRACKING_PREFIXES = ("utm_",)
DEFAULT_PORTS = {"http": 80, "https": 443}
# Google Alerts and Google News wrap the article in a redirect: the real URL is a parameter.
REDIRECT_WRAPPERS = {
    ("google.com", "/url"): ("url", "q"),
    ("news.google.com", "/url"): ("url", "q"),
}
_UNRESERVED = re.compile(r"%([0-9A-Fa-f]{2})")


def _is_tracking(name: str) -> bool:
    lowered = name.lower()
    return lowered in TRACKING_PARAMS or lowered.startswith(TRACKING_PREFIXES)


def _normalise_escapes(text: str, safe: str) -> str:
    """Decode escapes of unreserved characters and upper-case the rest (RFC 3986 6.2.2)."""
    return quote(unquote(text), safe=safe)


def _host(hostname: str) -> str:
    host = hostname.lower().rstrip(".")
    with contextlib.suppress(UnicodeError):
        host = host.encode("idna").decode("ascii")
    return host.removeprefix("www.")


def canonical_url(url: str) -> str:
    """The canonical form of an article URL.

    - scheme and host lower-cased, `http` upgraded to `https`, `www.` and default ports dropped
    - Google redirect wrappers unwrapped to the article they point at
    - `utm_*`, `fbclid`, `gclid` and other click trackers removed; other parameters sorted
    - the fragment dropped, dot segments resolved, duplicate and trailing slashes removed

    A string that is not an http(s) URL is returned stripped, unchanged otherwise.
    """
    text = (url or "").strip()
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return text
    host = _host(parts.hostname)
    query = parse_qsl(parts.query, keep_blank_values=True)
    wrapper = REDIRECT_WRAPPERS.get((host, parts.path))
    if wrapper:
        target = next((value for name, value in query if name in wrapper and value), None)
        if target and target.startswith(("http://", "https://")) and target != text:
            return canonical_url(target)
    port = parts.port
    netloc = host if port in (None, DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    path = re.sub(r"/{2,}", "/", parts.path or "/")
    path = posixpath.normpath(path) if path not in ("", "/") else "/"
    if path == ".":
        path = "/"
    path = _normalise_escapes(path, safe="/:@!$&'()*+,;=~-._")
    if len(path) > 1:
        path = path.rstrip("/")
    kept = sorted((name, value) for name, value in query if not _is_tracking(name))
    return urlunsplit(("https", netloc, path, urlencode(kept, doseq=True), ""))


def without_trackers(url: str | None) -> str | None:
    """`url` with its click trackers (`utm_*`, `fbclid`, ...) and its fragment (`#comments`)
    removed, otherwise exactly as given: the link a reader gets in an e-mail. A fragment that
    routes a single-page app (`#/path`, `#!path`) is kept."""
    if not url:
        return url
    try:
        parts = urlsplit(url)
        query = parse_qsl(parts.query, keep_blank_values=True)
    except ValueError:
        return url
    kept = [(name, value) for name, value in query if not _is_tracking(name)]
    query_text = parts.query if len(kept) == len(query) else urlencode(kept, doseq=True)
    fragment = parts.fragment if parts.fragment.startswith(("/", "!")) else ""
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query_text, fragment))


def domain_of(url: str) -> str:
    """The host of a URL without `www.`, or '' if it has none."""
    parts = urlsplit((url or "").strip())
    return _host(parts.hostname) if parts.hostname else ""
