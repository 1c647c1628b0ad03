"""health_report: health per asset and per source with a score, hourly, in the warehouse
(health.asset_health, health.source_health, health.summary) and in its metadata; also exported
as JSON (pipeline.lib.health_export) for `pipeline serve`'s /healthz and /metrics."""

import dataclasses
import datetime as dt
import time
from typing import Any

import dagster as dg
import polars as pl

from pipeline.defs.health import figures
from pipeline.defs.health.state import health_view
from pipeline.defs.shared.metadata import table_metadata
from pipeline.defs.shared.resources import WarehouseResource
from pipeline.lib import health, health_export
from pipeline.lib.warehouse import replace_where

REPORT_CRON = "0 * * * *"
# The asset graph health_report judges: pipeline.definitions binds the code location's own
# (an in-process run has no repository in Dagster 1.13, and a run's job holds only its assets);
# pipeline.graph_runner and tests hand over the graph of what they run, or None for the run's
# repository.
ASSET_GRAPH_RESOURCE = "asset_graph"


def _timestamp(seconds: float | None) -> dt.datetime | None:
    return None if seconds is None else dt.datetime.fromtimestamp(seconds, dt.UTC)


def _row(item: health.AssetHealth | health.SourceHealth, reported_at: dt.datetime) -> dict:
    """The warehouse row of an asset's health (reasons joined) or a source's (without them)."""
    row = {**dataclasses.asdict(item), "reported_at": reported_at}
    reasons = row.pop("reasons")
    if isinstance(item, health.SourceHealth):
        return {**row, "last_fetch_at": _timestamp(item.last_fetch_at)}
    row["group_name"] = row.pop("group")
    row.update(
        reasons="; ".join(reasons), last_materialized_at=_timestamp(item.last_materialized_at)
    )
    return row


def _problems_markdown(assets: list[health.AssetHealth], sources: list[health.SourceHealth]) -> str:
    lines = [
        f"| {a.status} | {a.asset} | {'; '.join(a.reasons)} |"
        for a in assets
        if a.status not in (health.Status.HEALTHY, health.Status.UNKNOWN)
    ]
    lines += [
        f"| {s.status} | source {s.kind}/{s.provider} | {'; '.join(s.reasons)} |"
        for s in sources
        if s.status is not health.Status.HEALTHY
    ]
    if not lines:
        return "_nothing degraded, unhealthy or offline_"
    return "\n".join(["| status | what | why |", "| --- | --- | --- |", *lines])


@dg.asset(
    group_name="health",
    automation_condition=dg.AutomationCondition.on_cron(REPORT_CRON),
    tags={"criticality": "low"},
    description=(
        "Health per asset (from its latest check results, runs and freshness) and per source "
        "(raw.source_fetches), with a 0-100 score; the `pipeline health` view, kept hourly."
    ),
)
def health_report(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    asset_graph: dg.ResourceParam[Any],
) -> dg.MaterializeResult:
    now = time.time()
    # The whole code location's graph, not this run's job (which holds health_report only).
    graph = asset_graph or context.repository_def.asset_graph
    view = health_view(graph, context.instance, warehouse.backend, now, leave_out="health_report")
    assets, sources, score, code = view.assets, view.sources, view.score, view.exit_code
    counts = health.status_counts(a.status for a in assets)
    reported_at = _timestamp(now)
    tables = {
        "health.asset_health": [_row(a, reported_at) for a in assets],
        "health.source_health": [_row(s, reported_at) for s in sources],
        "health.summary": [
            {
                "report": "latest",
                "score": score,
                "exit_code": code,
                **counts,
                "reported_at": reported_at,
            }
        ],
    }
    with warehouse.get_connection() as conn:
        # The report is a snapshot: each table holds the latest one only.
        for table, rows in tables.items():
            if rows:
                replace_where(conn, table, pl.DataFrame(rows, infer_schema_length=None), "true")
            else:
                conn.execute(f"DELETE FROM {table}")
        metadata = table_metadata(conn, "health.asset_health", order_by="score, asset")
        exported = figures.warehouse_figures(conn)
    # pipeline serve's /healthz and /metrics read this file, never the warehouse.
    exported["check_results"] = figures.check_results(graph, context.instance)
    exported["freshness_lag_seconds"] = figures.freshness_lag(view, now)
    health_export.write({**view.report(), "reported_at": now, "figures": exported})

    context.log.info("health score %s/100: %s", score, counts)
    return dg.MaterializeResult(
        metadata={
            **metadata,
            "score": dg.MetadataValue.int(score),
            "exit_code": dg.MetadataValue.int(code),
            **{f"assets_{status}": dg.MetadataValue.int(n) for status, n in counts.items()},
            "failing_ticks": dg.MetadataValue.int(len(view.failing_ticks)),
            "stuck_sales_files": dg.MetadataValue.int(len(view.stuck)),
            "sources": dg.MetadataValue.int(len(sources)),
            "sources_not_healthy": dg.MetadataValue.int(
                sum(1 for s in sources if s.status is not health.Status.HEALTHY)
            ),
            "problems": dg.MetadataValue.md(_problems_markdown(assets, sources)),
        }
    )
