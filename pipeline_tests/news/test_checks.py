"""News health tests: source freshness and the monitoring config check on a real warehouse."""

import datetime as dt

from pipeline.lib.news.health import monitoring_problems, source_freshness
from pipeline.lib.news.monitoring import load_monitoring
from pipeline.lib.raw_events import SourceFetch, record_fetch
from pipeline.lib.warehouse import connection

NOW = dt.datetime(2026, 11, 22, 12, tzinfo=dt.UTC)


def fetch(provider, status, hours_ago, scope="acme-northwind"):
    at = NOW - dt.timedelta(hours=hours_ago)
    return SourceFetch(
        kind="news",
        provider=provider,
        is_sample=False,
        partition_date=at.date(),
        started_at=at,
        finished_at=at,
        status=status,
        scope=scope,
        tenant_id="acme",
        error=None if status == "ok" else "HTTP 500",
    )


def test_source_freshness(warehouse_path):
    with connection(warehouse_path) as conn:
        verdict = source_freshness(conn, max_age=dt.timedelta(hours=26), now=NOW)
        assert verdict.passed and "no news source" in verdict.description
        for item in [
            fetch("newsapi", "ok", 2),
            fetch("serper", "ok", 40),
            fetch("serper", "error", 1),
            fetch("rss", "error", 1),
        ]:
            record_fetch(conn, item)
        verdict = source_freshness(conn, max_age=dt.timedelta(hours=26), now=NOW)
    assert not verdict.passed
    assert "serper (last success 40.0h ago)" in verdict.description
    assert "rss (last success never)" in verdict.description
    assert "newsapi" not in verdict.description


def test_monitoring_problems_against_the_warehouse(warehouse_path, tmp_path):
    config_path = tmp_path / "monitoring.yaml"
    config_path.write_text(
        "schedules:\n"
        "  - name: ok\n    clients: [acme-northwind]\n    schedule: hourly\n"
        "  - name: gone\n    clients: [acme-gone]\n    schedule: daily\n"
        "  - name: bad\n    clients: all\n    schedule: '0 0 31 2 * *'\n",
        encoding="utf-8",
    )
    with connection(warehouse_path) as conn:
        conn.execute(
            "INSERT INTO core.crm_clients (client_id, tenant_id, name, provider, is_sample,"
            " synced_at) VALUES ('acme-northwind', 'acme', 'Northwind', 'csv', true, now())"
        )
        verdict = monitoring_problems(conn, load_monitoring(config_path))
    assert not verdict.passed
    assert "monitoring.yaml:5: gone: unknown client(s) acme-gone" in verdict.description
    assert "monitoring.yaml:8: bad:" in verdict.description
