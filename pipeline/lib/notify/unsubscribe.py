"""Signed unsubscribe tokens: `<user>.<kind>.<hmac>` in URL-safe base64, so a link can stop one
kind of e-mail for one user and nobody can forge a link for someone else."""

from __future__ import annotations

import base64
import hashlib
import hmac


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: str, user_id: str, kind: str) -> str:
    payload = f"{user_id}\n{kind}".encode()
    return _b64(hmac.new(secret.encode(), payload, hashlib.sha256).digest()[:18])


def make_token(secret: str, user_id: str, kind: str) -> str:
    return f"{_b64(user_id.encode())}.{_b64(kind.encode())}.{_mac(secret, user_id, kind)}"


def verify_token(secret: str, token: str) -> tuple[str, str] | None:
    """(user_id, kind) if the token was signed with `secret`, else None."""
    try:
        user_part, kind_part, mac = token.strip().split(".")
        user_id, kind = _unb64(user_part).decode(), _unb64(kind_part).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    if not hmac.compare_digest(mac, _mac(secret, user_id, kind)):
        return None
    return user_id, kind
