"""notify.notification_stats: e-mails per UTC day, kind and sample flag, by status, and how
many were opened / clicked (tracked by `pipeline serve`)."""

from __future__ import annotations

import datetime as dt

import duckdb

from pipeline.lib.warehouse import transaction

STATS_SQL = """
SELECT timezone('UTC', created_at)::DATE AS day, kind, is_sample,
    count(*) AS total,
    count(*) FILTER (WHERE status = 'sent') AS sent,
    count(*) FILTER (WHERE status = 'written') AS written,
    count(*) FILTER (WHERE status = 'failed') AS failed,
    count(*) FILTER (WHERE status IN ('pending', 'sending')) AS pending,
    count(*) FILTER (WHERE status = 'uncertain') AS uncertain,
    count(*) FILTER (WHERE status = 'cancelled') AS cancelled,
    count(*) FILTER (WHERE coalesce(opens, 0) > 0) AS opened,
    count(*) FILTER (WHERE coalesce(clicks, 0) > 0) AS clicked,
    coalesce(sum(opens), 0) AS opens,
    coalesce(sum(clicks), 0) AS clicks,
    $now::TIMESTAMPTZ AS updated_at
FROM notify.email_log
GROUP BY ALL
"""


def rebuild_stats(conn: duckdb.DuckDBPyConnection, now: dt.datetime) -> int:
    """Recompute the whole table from email_log in one transaction (statuses of old messages
    change too: a retry succeeds, an uncertain one is requeued). Returns rows written."""
    with transaction(conn):
        conn.execute("DELETE FROM notify.notification_stats")
        conn.execute(f"INSERT INTO notify.notification_stats BY NAME ({STATS_SQL})", {"now": now})
        return conn.execute("SELECT count(*) FROM notify.notification_stats").fetchall()[0][0]
