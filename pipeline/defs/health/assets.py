"""health_report: health per asset and per source with a score, hourly, in the warehouse
(health.asset_health, health.source_health, health.summary) and in its metadata."""

import datetime as dt
import time

import dagster as dg
import polars as pl

from pipeline.defs.health.state import asset_health, source_health
from pipeline.defs.shared.metadata import table_metadata
from pipeline.defs.shared.resources import WarehouseResource
from pipeline.lib import health
from pipeline.lib.warehouse import replace_where

REPORT_CRON = "0 * * * *"


def _timestamp(seconds: float | None) -> dt.datetime | None:
    return None if seconds is None else dt.datetime.fromtimestamp(seconds, dt.UTC)


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


def code_location_graph(context: dg.AssetExecutionContext):
    """The whole code location's asset graph, not this run's job (which holds health_report
    only). A run launched from a code location (daemon, UI, `dagster asset materialize`) carries
    its repository; an in-process run (`pipeline demo`, tests) has none in Dagster 1.13, so the
    code location is loaded."""
    if context.run.remote_job_origin is not None:
        return context.repository_def.asset_graph
    from pipeline.definitions import defs

    return defs().resolve_asset_graph()


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
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    now = time.time()
    graph = code_location_graph(context)
    assets = [a for a in asset_health(graph, context.instance, now) if a.asset != "health_report"]
    sources = source_health(warehouse.location, now)
    score = health.overall_score(assets, sources)
    code = health.exit_code([a.status for a in assets] + [s.status for s in sources])
    counts = health.status_counts(a.status for a in assets)
    reported_at = _timestamp(now)

    asset_rows = pl.DataFrame(
        [
            {
                "asset": a.asset,
                "group_name": a.group,
                "status": str(a.status),
                "freshness": str(a.freshness),
                "score": a.score,
                "criticality": a.criticality,
                "checks_passed": a.checks_passed,
                "checks_failed": a.checks_failed,
                "reasons": "; ".join(a.reasons),
                "last_materialized_at": _timestamp(a.last_materialized_at),
                "reported_at": reported_at,
            }
            for a in assets
        ],
        schema_overrides={
            "last_materialized_at": pl.Datetime("us", "UTC"),
            "reported_at": pl.Datetime("us", "UTC"),
            "group_name": pl.String,
        },
    )
    source_rows = pl.DataFrame(
        [
            {
                "kind": s.kind,
                "provider": s.provider,
                "status": str(s.status),
                "score": s.score,
                "fetches": s.fetches,
                "errors": s.errors,
                "error_share": s.error_share,
                "last_fetch_at": _timestamp(s.last_fetch_at),
                "last_error": s.last_error,
                "reported_at": reported_at,
            }
            for s in sources
        ],
        schema_overrides={
            "last_fetch_at": pl.Datetime("us", "UTC"),
            "reported_at": pl.Datetime("us", "UTC"),
            "last_error": pl.String,
            "error_share": pl.Float64,
        },
    )
    summary_row = pl.DataFrame(
        [
            {
                "report": "latest",
                "score": score,
                "exit_code": code,
                **counts,
                "reported_at": reported_at,
            }
        ],
        schema_overrides={"reported_at": pl.Datetime("us", "UTC")},
    )
    with warehouse.get_connection() as conn:
        # The report is a snapshot: each table holds the latest one only.
        if asset_rows.height:
            replace_where(conn, "health.asset_health", asset_rows, "true")
        else:
            conn.execute("DELETE FROM health.asset_health")
        if source_rows.height:
            replace_where(conn, "health.source_health", source_rows, "true")
        else:
            conn.execute("DELETE FROM health.source_health")
        replace_where(conn, "health.summary", summary_row, "true")
        metadata = table_metadata(conn, "health.asset_health", order_by="score, asset")

    context.log.info("health score %s/100: %s", score, counts)
    return dg.MaterializeResult(
        metadata={
            **metadata,
            "score": dg.MetadataValue.int(score),
            "exit_code": dg.MetadataValue.int(code),
            **{f"assets_{status}": dg.MetadataValue.int(n) for status, n in counts.items()},
            "sources": dg.MetadataValue.int(len(sources)),
            "sources_not_healthy": dg.MetadataValue.int(
                sum(1 for s in sources if s.status is not health.Status.HEALTHY)
            ),
            "problems": dg.MetadataValue.md(_problems_markdown(assets, sources)),
        }
    )
