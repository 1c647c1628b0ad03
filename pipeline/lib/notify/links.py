"""The links an e-mail carries to `pipeline serve` (PIPELINE_PUBLIC_URL): unsubscribe (RFC 8058
one-click), preferences, the open pixel and click redirects. Every link is signed with
PIPELINE_UNSUBSCRIBE_SECRET; each purpose signs with its own derived key, so a token made for
one purpose (a preferences link) is never accepted for another (an unsubscribe)."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode

from pipeline.lib.notify.unsubscribe import make_token

UNSUBSCRIBE_PATH = "/unsubscribe"
PREFERENCES_PATH = "/preferences"
OPEN_PATH = "/t/open.gif"
CLICK_PATH = "/t/click"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@functools.lru_cache(maxsize=64)
def _purpose_key(secret: str, purpose: str) -> bytes:
    return hmac.new(secret.encode(), purpose.encode(), hashlib.sha256).digest()


def _signature(secret: str, purpose: str, *parts: str) -> str:
    key = _purpose_key(secret, purpose)
    return _b64(hmac.digest(key, "\x1f".join(parts).encode(), "sha256")[:18])


def make_preferences_token(secret: str, user_id: str) -> str:
    return f"{_b64(user_id.encode())}.{_signature(secret, 'preferences', user_id)}"


def verify_preferences_token(secret: str, token: str) -> str | None:
    """The user a preferences token was signed for, or None."""
    try:
        user_part, mac = (token or "").strip().split(".")
        user_id = _unb64(user_part).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    if not hmac.compare_digest(mac, _signature(secret, "preferences", user_id)):
        return None
    return user_id


def open_signature(secret: str, message_id: str) -> str:
    return _signature(secret, "open", message_id)


def click_signature(secret: str, message_id: str, url: str) -> str:
    """Signs (message, url): the redirect only leads where that e-mail's link led."""
    return _signature(secret, "click", message_id, url)


def csrf_signature(secret: str, nonce: str, user_id: str) -> str:
    """The preferences form's hidden field: binds the browser's CSRF cookie to the user."""
    return _signature(secret, "csrf", nonce, user_id)


def signature_matches(expected: str, given: str | None) -> bool:
    return hmac.compare_digest(expected, given or "")


@functools.lru_cache(maxsize=8192)
def _quoted_url(url: str) -> str:
    """An item's link, quoted once for every recipient of the item."""
    return quote(url, safe="")


@dataclass(frozen=True)
class Links:
    """The signed links of this deployment."""

    base_url: str
    secret: str = field(repr=False)

    def unsubscribe(self, user_id: str, kind: str) -> str:
        token = make_token(self.secret, user_id, kind)
        return f"{self.base_url}{UNSUBSCRIBE_PATH}?{urlencode({'token': token})}"

    def preferences(self, user_id: str) -> str:
        token = make_preferences_token(self.secret, user_id)
        return f"{self.base_url}{PREFERENCES_PATH}?{urlencode({'token': token})}"

    def open_pixel(self, message_id: str) -> str:
        query = urlencode({"m": message_id, "s": open_signature(self.secret, message_id)})
        return f"{self.base_url}{OPEN_PATH}?{query}"


@dataclass(frozen=True)
class MessageLinks:
    """The links of one user e-mail, as the templates use them."""

    links: Links
    message_id: str
    user_id: str
    kind: str

    # Each is used in the headers and both parts: computed once per message.
    @functools.cached_property
    def unsubscribe(self) -> str:
        return self.links.unsubscribe(self.user_id, self.kind)

    @functools.cached_property
    def unsubscribe_token(self) -> str:
        return make_token(self.links.secret, self.user_id, self.kind)

    @functools.cached_property
    def preferences(self) -> str:
        return self.links.preferences(self.user_id)

    @functools.cached_property
    def open_pixel(self) -> str:
        return self.links.open_pixel(self.message_id)

    @functools.cached_property
    def _click_prefix(self) -> str:
        return f"{self.links.base_url}{CLICK_PATH}?m={quote(self.message_id, safe='')}&u="

    def click(self, url: str) -> str:
        """The signed redirect to `url`: one HMAC per (message, url), the rest precomputed."""
        signature = click_signature(self.links.secret, self.message_id, url)
        return f"{self._click_prefix}{_quoted_url(url)}&s={signature}"
