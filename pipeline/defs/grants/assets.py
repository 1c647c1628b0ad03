"""Grants assets: organisation profiles, raw grant payloads per source, one row per grant with
its version changes, and discovery trends."""

import datetime as dt

import dagster as dg
from pydantic import Field

from pipeline.defs.grants.providers import GrantSourcesResource
from pipeline.defs.shared.metadata import partition_metadata, table_metadata
from pipeline.defs.shared.partitions import daily_partitions
from pipeline.defs.shared.resources import WarehouseResource
from pipeline.defs.shared.run_limits import DISCOVERY_TAGS
from pipeline.lib.grants import store
from pipeline.lib.grants.organizations import OrganizationsConfigError, load_organizations
from pipeline.lib.grants.sources import collect, load_source_config
from pipeline.lib.raw_events import insert_events, record_fetch, utc_now
from pipeline.lib.settings import settings


def _bullets(lines: list[str], empty: str = "none") -> dg.MetadataValue:
    return dg.MetadataValue.md("\n".join(f"- {line}" for line in lines) or empty)


@dg.asset(
    group_name="grants",
    kinds={"duckdb", "yaml"},
    # Edits are picked up within a minute by organization_profile_sensor; the daily run is
    # the backstop for a sensor that was switched off.
    automation_condition=dg.AutomationCondition.on_cron("0 5 * * *"),
    description="Organisation profiles from data/config/organizations.yaml with a completeness "
    "score; profiles below the threshold are not matched and list what they lack.",
)
def organizations(warehouse: WarehouseResource) -> dg.MaterializeResult:
    try:
        loaded = load_organizations(settings().config_dir)
    except OrganizationsConfigError as error:
        raise dg.Failure(str(error)) from error
    with warehouse.get_connection() as conn:
        store.write_organizations(conn, loaded.organizations, utc_now())
        metadata = table_metadata(conn, "core.organizations", order_by="org_id")
    incomplete = [
        f"{o.profile.org_id} ({o.completeness:.0%}): lacks {', '.join(o.missing)}"
        for o in loaded.organizations
        if not o.is_matchable
    ]
    return dg.MaterializeResult(
        metadata={
            **metadata,
            "matchable": sum(o.is_matchable for o in loaded.organizations),
            "min_completeness": loaded.min_completeness,
            "not_matched": _bullets(incomplete),
        }
    )


class GrantFetchConfig(dg.Config):
    """Restrict a run to some providers (grants_gov_extract, grants_gov_search, simpler_grants,
    grant_feed); empty means every configured source."""

    providers: list[str] = Field(default_factory=list)


@dg.asset(
    group_name="grants",
    kinds={"duckdb"},
    partitions_def=daily_partitions,
    # Calls outside grant providers: counted by the discovery run limits (docs/operations.md).
    tags=DISCOVERY_TAGS,
    description="Every grant record fetched per source (raw payload, content hash, provider, "
    "is_sample), once per distinct payload; each fetch's outcome is in raw.source_fetches.",
)
def raw_grant_events(
    context: dg.AssetExecutionContext,
    config: GrantFetchConfig,
    warehouse: WarehouseResource,
    grant_sources: GrantSourcesResource,
) -> dg.MaterializeResult:
    partition_date = dt.date.fromisoformat(context.partition_key)
    paths = settings()
    try:
        matchable = [
            o for o in load_organizations(paths.config_dir).organizations if o.is_matchable
        ]
        source_config = load_source_config(
            paths.config_dir, [area for o in matchable for area in o.profile.focus_areas]
        )
    except ValueError as error:
        raise dg.Failure(str(error)) from error
    sources = grant_sources.sources(source_config.search, source_config.feeds)
    if config.providers:
        sources = [s for s in sources if s.provider in config.providers]
        if not sources:
            raise dg.Failure(f"no configured grant source is one of {config.providers}")

    def store_batch(events) -> int:
        # One short connection per batch: readers of the warehouse get their turn in between.
        with warehouse.get_connection() as conn:
            return insert_events(conn, events)

    outcomes = []
    for source in sources:
        fetch = collect(source, partition_date=partition_date, store=store_batch)
        with warehouse.get_connection() as conn:
            record_fetch(conn, fetch)
        outcomes.append(fetch)
        label = f"{fetch.provider}{'/' + fetch.scope if fetch.scope else ''}"
        if fetch.status == "error":
            context.log.warning(f"grant source {label} failed: {fetch.error}")
        else:
            context.log.info(f"grant source {label}: {fetch.items} records, {fetch.new_items} new")
    with warehouse.get_connection() as conn:
        metadata = partition_metadata(
            conn, "raw.events", partition_date, "fetched_at DESC", kind="grant"
        )
    failed = [f for f in outcomes if f.status == "error"]
    if failed and len(failed) == len(outcomes):
        raise dg.Failure(
            "every grant source failed: " + "; ".join(f"{f.provider}: {f.error}" for f in failed),
            metadata=metadata,
        )
    return dg.MaterializeResult(
        metadata={
            **metadata,
            "records_fetched": sum(f.items for f in outcomes),
            "new_events": sum(f.new_items for f in outcomes),
            "sources": _bullets(
                [
                    f"{f.provider}{' ' + f.scope if f.scope else ''}"
                    f"{' (sample)' if f.is_sample else ''}: {f.items} records, {f.new_items} new"
                    + (f", error: {f.error}" if f.error else "")
                    for f in outcomes
                ]
            ),
            "failed_sources": len(failed),
        }
    )


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            "grants",
            group_name="grants",
            kinds={"duckdb", "python"},
            deps=[raw_grant_events],
            automation_condition=dg.AutomationCondition.eager(),
            description="One row per grant across sources (OpportunityID, then opportunity "
            "number, then title + agency), newest version kept (core.grants, with the source "
            "records behind each grant in core.grant_sources).",
        ),
        dg.AssetSpec(
            "grant_changes",
            group_name="grants",
            kinds={"duckdb"},
            deps=[raw_grant_events],
            automation_condition=dg.AutomationCondition.eager(),
            description="What changed between versions of a grant: close date moved, amounts "
            "or status changed (core.grant_changes), for notifications.",
        ),
    ],
    partitions_def=daily_partitions,
    can_subset=False,
)
def grant_entities(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    partition_date = dt.date.fromisoformat(context.partition_key)
    with warehouse.get_connection() as conn:
        build = store.build_grants(conn, partition_date)
        grants_metadata = partition_metadata(
            conn, "core.grants", partition_date, "close_date NULLS LAST"
        )
        changes_metadata = partition_metadata(
            conn, "core.grant_changes", partition_date, "changed_at DESC"
        )
    for problem in build.invalid[:20]:
        context.log.warning(f"unreadable grant record: {problem}")
    yield dg.MaterializeResult(
        asset_key="grants",
        metadata={
            **grants_metadata,
            "raw_events": build.events,
            "records": build.records,
            "invalid_records": len(build.invalid),
            "invalid_examples": _bullets(build.invalid[:10]),
            "not_funding_items": build.not_grants,
            "new_grants": build.new_grants,
            "updated_grants": build.updated_grants,
        },
    )
    yield dg.MaterializeResult(
        asset_key="grant_changes", metadata={**changes_metadata, "new_changes": build.changes}
    )


@dg.asset(
    group_name="grants",
    kinds={"duckdb"},
    deps=["grants"],
    automation_condition=dg.AutomationCondition.eager(),
    description="Grants discovered per day and source with trailing 7- and 30-day sums "
    "(analytics.discovery_trends); the dashboard charts it.",
)
def discovery_trends(warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.get_connection() as conn:
        store.rebuild_discovery_trends(conn, utc_now())
        metadata = table_metadata(conn, "analytics.discovery_trends", order_by="day DESC")
        totals = conn.execute(
            "SELECT provider, sum(discovered)::BIGINT FROM analytics.discovery_trends"
            " GROUP BY ALL ORDER BY ALL"
        ).fetchall()
    for provider, discovered in totals:
        metadata[f"discovered_{provider}"] = int(discovered)
    return dg.MaterializeResult(metadata=metadata)
