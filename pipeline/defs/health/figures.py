"""The figures health_report exports for `pipeline serve`'s /metrics, gathered where the
warehouse is already open (the service itself never opens it): rows loaded and rejected,
e-mails by status, scorer calls and fallbacks, landing files by state, check results by
severity and freshness lag per asset."""

from __future__ import annotations

from collections import Counter

from pipeline.defs.health.state import HealthView, check_facts
from pipeline.lib import warehouse

# (table, SQL giving (label, value) rows): a missing table gives no rows.
_QUERIES = {
    "sales_rows": (
        "sales.files",
        "SELECT unnest(['loaded', 'rejected']), unnest([coalesce(sum(rows_loaded), 0),"
        " coalesce(sum(rows_rejected), 0)]) FROM sales.files WHERE NOT is_sample",
    ),
    "landing_files": (
        "sales.files",
        "SELECT status, count(*) FROM sales.files GROUP BY status",
    ),
    "emails": (
        "notify.email_log",
        "SELECT status, count(*) FROM notify.email_log GROUP BY status",
    ),
    "scorer": (
        "ai.usage",
        "SELECT unnest(['api_calls', 'fallbacks', 'failures', 'cache_hits']),"
        " unnest([coalesce(sum(api_calls), 0), coalesce(sum(fallbacks), 0),"
        " coalesce(sum(failures), 0), coalesce(sum(cache_hits), 0)]) FROM ai.usage",
    ),
}


def warehouse_figures(conn) -> dict[str, dict[str, int]]:
    figures = {}
    for name, (table, sql) in _QUERIES.items():
        rows = conn.execute(sql).fetchall() if warehouse.table_exists(conn, table) else []
        figures[name] = {str(label): int(value) for label, value in rows}
    return figures


def check_results(graph, instance) -> dict[str, int]:
    """Latest check results as "<severity>:<passed|failed|not_run>" -> count."""
    counts = Counter()
    for fact in check_facts(graph, instance).values():
        outcome = "not_run" if fact.passed is None else ("passed" if fact.passed else "failed")
        counts[f"{fact.severity}:{outcome}"] += 1
    return dict(counts)


def freshness_lag(view: HealthView, now: float) -> dict[str, float]:
    """Seconds since each materialised asset's last materialisation."""
    return {
        a.asset: round(now - a.last_materialized_at, 1)
        for a in view.assets
        if a.last_materialized_at is not None
    }
