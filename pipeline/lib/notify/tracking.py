"""Opens and clicks of an e-mail, counted on its notify.email_log row (`pipeline serve` calls
these after checking the link's signature)."""

from __future__ import annotations

import datetime as dt

import duckdb

_COLUMNS = {"open": ("opens", "first_opened_at"), "click": ("clicks", "first_clicked_at")}


def record_event(
    conn: duckdb.DuckDBPyConnection, message_id: str, event: str, now: dt.datetime
) -> bool:
    """Count one `open` or `click` of `message_id`. False when no such message is logged."""
    count, first = _COLUMNS[event]
    updated = conn.execute(
        f"UPDATE notify.email_log SET {count} = coalesce({count}, 0) + 1,"
        f" {first} = coalesce({first}, ?) WHERE message_id = ?",
        [now, message_id],
    ).fetchall()[0][0]  # the row count (DuckLake has no RETURNING)
    return updated > 0
