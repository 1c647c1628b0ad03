"""The secret that signs every link in e-mails (unsubscribe, preferences, clicks, pixel).

PIPELINE_UNSUBSCRIBE_SECRET when set (several hosts must agree on one value); otherwise a random
secret generated once per data dir into `$PIPELINE_DATA_DIR/unsubscribe_secret` (mode 0600), so
the pipeline that renders e-mails and `pipeline serve` agree with no configuration. There is no
built-in fallback: a secret in the source would let anyone forge links. The value is never
printed or logged; `secret_source` says where it comes from.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from pipeline.lib.settings import is_set, settings, write_once
from pipeline.lib.settings.notify import (
    UNSUBSCRIBE_SECRET_VARIABLE,
    configured_unsubscribe_secret,
)

SECRET_FILE = "unsubscribe_secret"
MIN_SECRET_BYTES = 32


class UnsubscribeSecretError(ValueError):
    """PIPELINE_UNSUBSCRIBE_SECRET is set but too short to be safe."""


def secret_file() -> Path:
    return settings().data_dir / SECRET_FILE


def unsubscribe_secret(environ: dict | None = None) -> str:
    """PIPELINE_UNSUBSCRIBE_SECRET (at least 32 bytes), else this data dir's generated secret."""
    if value := configured_unsubscribe_secret(environ):
        size = len(value.encode())
        if size < MIN_SECRET_BYTES:
            raise UnsubscribeSecretError(
                f"{UNSUBSCRIBE_SECRET_VARIABLE} is {size} bytes; it must be at least "
                f"{MIN_SECRET_BYTES} (unset it to use a generated one, or set e.g. "
                "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`)"
            )
        return value
    return write_once(secret_file(), secrets.token_urlsafe(MIN_SECRET_BYTES), mode=0o600)


def secret_source(environ: dict | None = None) -> str:
    """Where the signing secret comes from, for `pipeline env` (never the value)."""
    if is_set(UNSUBSCRIBE_SECRET_VARIABLE, environ):
        return UNSUBSCRIBE_SECRET_VARIABLE
    path = secret_file()
    return str(path) if path.exists() else f"{path} (generated on first use)"
