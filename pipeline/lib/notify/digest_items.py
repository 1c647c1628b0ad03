"""How one routed item reads in a message: dates, money, changes and the item builders that
turn a grant, grant update, client-news or deadline row into a rendered Item."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence

from pipeline.lib.notify.render import Item
from pipeline.lib.notify.routing import DEADLINE_MARKS
from pipeline.lib.notify.users import WEEKDAYS
from pipeline.lib.scoring.categories import CATEGORY_LABELS
from pipeline.lib.scoring.news_rules import summary_beyond_title

FIELD_LABELS = {
    "close_date": "Deadline",
    "award_floor": "Award floor",
    "award_ceiling": "Award ceiling",
    "estimated_funding": "Estimated funding",
}


def plural(count: int, one: str, many: str | None = None) -> str:
    return f"{count} {one if count == 1 else (many or one + 's')}"


def joined(parts: Sequence[str]) -> str:
    """'a', 'a and b', 'a, b and c'"""
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


@functools.lru_cache(maxsize=4096)
def long_date(day: dt.date) -> str:
    """'Mon 30 Jun 2026'"""
    return f"{WEEKDAYS[day.weekday()].capitalize()} {day.day} {day:%b %Y}"


def money(value: float | None) -> str:
    return "" if value is None else f"${value:,.0f}"


def award_range(floor: float | None, ceiling: float | None) -> str | None:
    if floor and ceiling:
        return f"Award {money(floor)}–{money(ceiling)}"
    if ceiling:
        return f"Award up to {money(ceiling)}"
    if floor:
        return f"Award from {money(floor)}"
    return None


def days_left_text(days: int) -> str:
    if days <= 0:
        return "closes today"
    if days == 1:
        return "closes tomorrow"
    return f"{days} days left"


def closing(close_date: dt.date | None, today: dt.date) -> str | None:
    if close_date is None:
        return None
    return f"Closes {long_date(close_date)} ({days_left_text((close_date - today).days)})"


@functools.lru_cache(maxsize=4096)
def _change_value(field: str, value: str | None) -> str:
    if value is None or value == "":
        return "none"
    if field == "close_date":
        try:
            return long_date(dt.date.fromisoformat(value[:10]))
        except ValueError:
            return value
    try:
        return money(float(value))
    except ValueError:
        return value


def describe_change(change: dict) -> str:
    field = change["field"]
    label = FIELD_LABELS.get(field, field.replace("_", " ").capitalize())
    if field == "close_date":
        label = "Deadline moved"
    return f"{label}: {_change_value(field, change['old'])} → {_change_value(field, change['new'])}"


def _details(*parts: str | None) -> tuple[str, ...]:
    return tuple(p for p in parts if p)


def _grant(row: dict, closes: str | None, *more: str | None, **extra) -> Item:
    """A grant as matches, watchlists and deadline reminders show it."""
    watchlists = row.get("watchlists")
    return Item(
        title=row["title"],
        url=row["url"],
        score=row["score"],
        details=_details(
            row["agency"],
            closes,
            award_range(row["award_floor"], row["award_ceiling"]),
            *more,
            f"On your watchlist: {', '.join(watchlists)}" if watchlists else None,
        ),
        **extra,
    )


def grant_item(row: dict, today: dt.date) -> Item:
    reasons = row.get("reasons") or []
    return _grant(
        row, closing(row["close_date"], today), "; ".join(reasons[:3]) if reasons else None
    )


def update_item(row: dict, today: dt.date) -> Item:
    return Item(
        title=row["title"],
        url=row["url"],
        details=_details(
            *(describe_change(c) for c in row["changes"]),
            row["agency"],
            closing(row["close_date"], today),
        ),
        badge="updated",
    )


# Every recipient of a story gets the same summary: worked out once per story.
_summary_shown = functools.lru_cache(maxsize=8192)(summary_beyond_title)


def also_reported_by(outlets: Sequence[str] | None) -> str | None:
    """'Also reported by Reuters and Yahoo Finance' for a story other outlets reported too."""
    named = [o for o in outlets or () if o]
    return f"Also reported by {joined(named)}" if named else None


def news_item(row: dict, today: dt.date) -> Item:
    published = row["published_at"]
    clients = ", ".join([row["client_name"], *(row.get("also") or [])])
    return Item(
        title=row["title"],
        url=row["url"],
        score=row["relevance"],
        details=_details(
            clients + (f" · {published:%d %b %Y}" if published is not None else ""),
            # Older scores (and some model answers) repeat the headline: show only what adds.
            _summary_shown(row["title"], row["summary"] or ""),
            also_reported_by(row.get("also_reported_by")),
        ),
        badge=CATEGORY_LABELS.get(row["category"], row["category"]),
    )


def deadline_item(row: dict, today: dt.date) -> Item:
    return _grant(
        row,
        f"Closes {long_date(row['close_date'])}",
        badge=days_left_text(row["days_left"]),
        urgency=DEADLINE_MARKS[row["mark"]],
    )
