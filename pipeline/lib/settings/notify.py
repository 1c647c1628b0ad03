"""E-mail, links, Slack and operator-alert settings. Each function takes an optional `environ`
mapping so tests can pass their own variables instead of the process's."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.utils import formataddr

from pipeline.lib.settings import environment

Environ = Mapping[str, str] | None

SECURITY_MODES = ("starttls", "ssl", "none")
DEFAULT_FROM_EMAIL = "pipeline@localhost"
DEFAULT_FROM_NAME = "Grants & News Pipeline"


@dataclass(frozen=True)
class SmtpSettings:
    host: str | None
    port: int | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)  # never in logs or reprs
    from_email: str = DEFAULT_FROM_EMAIL
    from_name: str = DEFAULT_FROM_NAME
    security: str = "starttls"
    timeout_s: float = 30.0

    def __post_init__(self) -> None:
        if self.security not in SECURITY_MODES:
            raise ValueError(
                f"SMTP_SECURITY must be one of {', '.join(SECURITY_MODES)}, not {self.security!r}"
            )

    @property
    def enabled(self) -> bool:
        return bool(self.host)

    @property
    def effective_port(self) -> int:
        if self.port:
            return self.port
        return {"ssl": 465, "starttls": 587, "none": 25}[self.security]

    @property
    def sender(self) -> str:
        return formataddr((self.from_name, self.from_email))


PUBLIC_URL_VARIABLE = "PIPELINE_PUBLIC_URL"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
DEFAULT_PUBLIC_URL = f"http://{DEFAULT_HOST}:{DEFAULT_PORT}"
UNSUBSCRIBE_SECRET_VARIABLE = "PIPELINE_UNSUBSCRIBE_SECRET"
OPERATOR_EMAILS_VARIABLE = "PIPELINE_OPERATOR_EMAILS"
RENOTIFY_HOURS_VARIABLE = "PIPELINE_ALERT_RENOTIFY_HOURS"
DEFAULT_RENOTIFY_S = 6 * 3600


def public_url(environ: Environ = None) -> str:
    """Where recipients reach `pipeline serve`: PIPELINE_PUBLIC_URL, default the serve address."""
    return (environment(environ).get(PUBLIC_URL_VARIABLE) or DEFAULT_PUBLIC_URL).rstrip("/")


def configured_unsubscribe_secret(environ: Environ = None) -> str | None:
    """PIPELINE_UNSUBSCRIBE_SECRET as set, for signing links only (pipeline.lib.notify.secret
    checks its length and falls back to the data dir's generated secret)."""
    return environment(environ).get(UNSUBSCRIBE_SECRET_VARIABLE) or None


def configured_operator_emails(environ: Environ = None) -> list[str]:
    """PIPELINE_OPERATOR_EMAILS (comma-separated), lower-cased; empty when unset."""
    configured = environment(environ).get(OPERATOR_EMAILS_VARIABLE, "")
    return sorted({e.strip().lower() for e in configured.split(",") if e.strip()})


def renotify_interval() -> dt.timedelta:
    """How long one alert key stays quiet after it was sent (PIPELINE_ALERT_RENOTIFY_HOURS)."""
    hours = environment().get(RENOTIFY_HOURS_VARIABLE)
    return dt.timedelta(seconds=float(hours) * 3600 if hours else DEFAULT_RENOTIFY_S)


def smtp_settings(environ: Environ = None) -> SmtpSettings:
    """SMTP_*; SMTP_HOST unset means e-mails are written to the outbox instead."""
    env = environment(environ)
    port = env.get("SMTP_PORT")
    return SmtpSettings(
        host=env.get("SMTP_HOST") or None,
        port=int(port) if port else None,
        username=env.get("SMTP_USERNAME") or None,
        password=env.get("SMTP_PASSWORD") or None,
        from_email=env.get("SMTP_FROM_EMAIL") or DEFAULT_FROM_EMAIL,
        from_name=env.get("SMTP_FROM_NAME") or DEFAULT_FROM_NAME,
        security=(env.get("SMTP_SECURITY") or "starttls").lower(),
    )


@dataclass(frozen=True)
class SlackSettings:
    token: str = field(repr=False)
    channel: str
    base_url: str | None = None  # None: Slack's own Web API


def slack_settings(environ: Environ = None) -> SlackSettings | None:
    """SLACK_BOT_TOKEN and PIPELINE_SLACK_CHANNEL, None unless both are set; SLACK_BASE_URL
    points the client elsewhere (a test's fake Web API)."""
    env = environment(environ)
    token = env.get("SLACK_BOT_TOKEN", "").strip()
    channel = env.get("PIPELINE_SLACK_CHANNEL", "").strip()
    if not (token and channel):
        return None
    base_url = env.get("SLACK_BASE_URL", "").strip()
    return SlackSettings(token, channel, base_url.rstrip("/") + "/" if base_url else None)
