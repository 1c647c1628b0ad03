"""Health facts gathered from a real warehouse: health per source from raw.source_fetches."""

from __future__ import annotations

import datetime as dt

from pipeline.defs.health.state import source_health
from pipeline.lib import warehouse
from pipeline.lib.health import Status
from pipeline.lib.raw_events import SourceFetch, record_fetch


def test_source_health_reads_recent_fetches(warehouse_path):
    now = dt.datetime.now(dt.UTC)

    def fetch(provider, status, minutes_ago, error=None):
        started = now - dt.timedelta(minutes=minutes_ago)
        return SourceFetch(
            kind="news",
            provider=provider,
            is_sample=True,
            partition_date=started.date(),
            started_at=started,
            finished_at=started,
            status=status,
            error=error,
        )

    with warehouse.connection(warehouse_path) as conn:
        for f in [
            fetch("newsapi", "ok", 30),
            fetch("newsapi", "error", 10, "HTTP 429 Too Many Requests"),
            fetch("newsapi", "ok", 5),
            fetch("newsapi", "ok", 1),
            fetch("serper", "error", 3, "HTTP 500"),
            # Older than the window: ignored, so the old success does not hide the outage.
            fetch("serper", "ok", 60 * 24 * 30),
        ]:
            record_fetch(conn, f)
    by_provider = {s.provider: s for s in source_health(warehouse_path)}
    assert by_provider["newsapi"].status is Status.DEGRADED
    assert by_provider["newsapi"].errors == 1 and by_provider["newsapi"].fetches == 4
    assert by_provider["serper"].status is Status.OFFLINE
    assert by_provider["serper"].last_error == "HTTP 500"


def test_no_warehouse_means_no_sources(pipeline_env):
    assert source_health(pipeline_env / "missing.duckdb") == []
