"""published_at from whatever a provider sends: ISO 8601, RFC 822 (also with Portuguese day
and month names), 'YYYY-MM-DD HH:MM:SS', and relative dates such as '15 hours ago'."""

from __future__ import annotations

import datetime as dt
import email.utils
import re

_RELATIVE = re.compile(
    r"^\s*(?:(\d+)|an?|one)\s+(second|sec|minute|min|hour|hr|day|week|month|year)s?\s+ago\s*$",
    re.I,
)
_UNIT_SECONDS = {
    "second": 1,
    "sec": 1,
    "minute": 60,
    "min": 60,
    "hour": 3600,
    "hr": 3600,
    "day": 86400,
    "week": 7 * 86400,
    "month": 30 * 86400,
    "year": 365 * 86400,
}
_LOCAL_NAMES = {
    # Portuguese (UOL, jn.pt) and Spanish/French/German abbreviations seen in feeds.
    "seg": "Mon",
    "ter": "Tue",
    "qua": "Wed",
    "qui": "Thu",
    "sex": "Fri",
    "sáb": "Sat",
    "sab": "Sat",
    "dom": "Sun",
    "fev": "Feb",
    "abr": "Apr",
    "mai": "May",
    "ago": "Aug",
    "set": "Sep",
    "out": "Oct",
    "dez": "Dec",
    "ene": "Jan",
    "dic": "Dec",
}
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


def _aware(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def parse_published(value: str | None, *, now: dt.datetime) -> dt.datetime | None:
    """A UTC datetime, or None when the text is not a date we understand. `now` anchors
    relative dates ('6 hours ago', 'yesterday') and is normally the fetch time."""
    if not value or not str(value).strip():
        return None
    text = str(value).strip()
    lowered = text.lower()
    if lowered in ("just now", "now"):
        return _aware(now)
    if lowered == "yesterday":
        return _aware(now) - dt.timedelta(days=1)
    relative = _RELATIVE.match(text)
    if relative:
        amount = int(relative.group(1) or 1)
        return _aware(now) - dt.timedelta(seconds=amount * _UNIT_SECONDS[relative.group(2).lower()])
    try:
        return _aware(dt.datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        pass
    translated = _WORD.sub(lambda m: _LOCAL_NAMES.get(m.group(0).lower(), m.group(0)), text)
    try:
        return _aware(email.utils.parsedate_to_datetime(translated))
    except (TypeError, ValueError, IndexError):
        pass
    for pattern in ("%b %d, %Y", "%d %b %Y", "%B %d, %Y", "%Y/%m/%d %H:%M:%S"):
        try:
            return _aware(dt.datetime.strptime(translated, pattern))
        except ValueError:
            continue
    return None
