"""News checks: duplicates (blocking), freshness per source and the monitoring configuration.
Volume and failing sources are health's cross-cutting checks (pipeline/defs/health/coverage.py)."""

import datetime as dt

import dagster as dg

from pipeline.defs.news.schedules import load_config
from pipeline.defs.shared.check_builders import to_result, unique_check
from pipeline.defs.shared.resources import WarehouseResource
from pipeline.lib.news.health import monitoring_problems, source_freshness

# Scoring and alerts downstream must never see the same article twice for a client.
no_duplicate_canonical_url = unique_check(
    "client_news",
    "core.client_news",
    ["client_id", "canonical_url"],
    name="no_duplicate_canonical_url",
    blocking=True,
)

SOURCE_MAX_AGE = dt.timedelta(hours=26)


def _reading(warehouse: WarehouseResource):
    return warehouse.read_connection()


@dg.asset_check(
    asset="raw_news_events",
    name="source_freshness",
    description=f"every news provider had a successful fetch within {SOURCE_MAX_AGE}",
)
def news_source_freshness(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with _reading(warehouse) as conn:
        verdict = source_freshness(conn, max_age=SOURCE_MAX_AGE, now=dt.datetime.now(dt.UTC))
    return to_result(verdict, dg.AssetCheckSeverity.WARN)


@dg.asset_check(
    asset="crm_clients",
    name="monitoring_config",
    description="data/config/monitoring.yaml parses, its crons are valid and it names only "
    "known clients and tenants",
)
def monitoring_config(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with _reading(warehouse) as conn:
        verdict = monitoring_problems(conn, load_config())
    return to_result(verdict, dg.AssetCheckSeverity.ERROR)
