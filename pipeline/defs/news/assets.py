"""News assets: the CRM client list, raw news per client and source, deduplicated articles."""

import datetime as dt

import dagster as dg
from pydantic import Field

from pipeline.defs.news.providers import CrmResource, NewsSourcesResource
from pipeline.defs.shared.failures import deterministic_failure
from pipeline.defs.shared.metadata import partition_metadata, table_metadata
from pipeline.defs.shared.partitions import daily_partitions
from pipeline.defs.shared.resources import WarehouseResource
from pipeline.defs.shared.run_limits import DISCOVERY_TAGS
from pipeline.lib.news import store
from pipeline.lib.news.sources import collect


@dg.asset(
    group_name="news",
    kinds={"duckdb"},
    automation_condition=dg.AutomationCondition.on_cron("0 * * * *"),
    description="Clients whose news we follow (CSV, Salesforce or HubSpot), one row per client "
    "with its tenant, aliases, web domain and owner.",
)
def crm_clients(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, crm: CrmResource
) -> dg.MaterializeResult:
    clients, problems, provider = crm.load()
    for problem in problems:
        context.log.warning(f"skipped CRM row: {problem}")
    with warehouse.get_connection() as conn:
        store.write_clients(conn, clients)
        metadata = table_metadata(conn, "core.crm_clients", order_by="tenant_id, client_id")
    return dg.MaterializeResult(
        metadata={
            **metadata,
            "crm_provider": provider,
            "tenants": len({c.tenant_id for c in clients}),
            "skipped_rows": dg.MetadataValue.md("\n".join(f"- {p}" for p in problems) or "none"),
        }
    )


class NewsFetchConfig(dg.Config):
    """Restrict a run to some clients (a manual run for one client) or to one tenant; empty
    means every client."""

    clients: list[str] = Field(default_factory=list)
    tenant: str = ""


@dg.asset(
    group_name="news",
    kinds={"duckdb"},
    partitions_def=daily_partitions,
    deps=[crm_clients],
    # Calls outside news providers: counted by the discovery run limits (docs/operations.md).
    tags=DISCOVERY_TAGS,
    description="Every news item fetched per client and source (raw provider payload, content "
    "hash, provenance), one row per item; failed sources are recorded in raw.source_fetches.",
)
def raw_news_events(
    context: dg.AssetExecutionContext,
    config: NewsFetchConfig,
    warehouse: WarehouseResource,
    news_sources: NewsSourcesResource,
) -> dg.MaterializeResult:
    partition_date = dt.date.fromisoformat(context.partition_key)
    with warehouse.get_connection() as conn:
        clients = store.read_clients(conn, config.clients or None)
    unknown = sorted(set(config.clients) - {c.client_id for c in clients})
    if unknown:
        raise deterministic_failure(
            context,
            f"unknown client id(s) {', '.join(unknown)}: not in core.crm_clients "
            "(check the id in monitoring.yaml or the CRM)",
        )
    if config.tenant:
        clients = [c for c in clients if c.tenant_id == config.tenant]
        if not clients:
            raise deterministic_failure(
                context, f"no client of tenant {config.tenant!r} in core.crm_clients"
            )
    fetched = new = failures = 0
    per_source: dict[str, str] = {}
    for client in clients:
        for source in news_sources.sources_for(client):
            # The HTTP call happens with no warehouse connection open.
            outcome = collect(client, source, partition_date=partition_date)
            with warehouse.get_connection() as conn:
                new += store.store_outcome(conn, outcome)
            fetched += outcome.fetch.items
            label = f"{client.client_id}/{outcome.fetch.provider}"
            if outcome.fetch.status == "error":
                failures += 1
                per_source[label] = outcome.fetch.error or "error"
                context.log.warning(f"news source failed for {label}: {outcome.fetch.error}")
    with warehouse.get_connection() as conn:
        metadata = partition_metadata(
            conn, "raw.events", partition_date, "fetched_at DESC", kind="news"
        )
    return dg.MaterializeResult(
        metadata={
            **metadata,
            "clients": len(clients),
            "items_fetched": fetched,
            "new_events": new,
            "failed_sources": failures,
            "source_errors": dg.MetadataValue.md(
                "\n".join(f"- {k}: {v}" for k, v in per_source.items()) or "none"
            ),
        }
    )


@dg.asset(
    group_name="news",
    kinds={"duckdb", "polars"},
    partitions_def=daily_partitions,
    deps=[raw_news_events],
    automation_condition=dg.AutomationCondition.eager(),
    description="One row per article per client: canonical URL, exact dedup by canonical URL "
    "and content hash, syndicated copies grouped by SimHash (near_duplicate_of).",
)
def client_news(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    partition_date = dt.date.fromisoformat(context.partition_key)
    with warehouse.get_connection() as conn:
        result = store.build_client_news(conn, partition_date)
        metadata = partition_metadata(
            conn, "core.client_news", partition_date, "tenant_id, client_id, published_at DESC"
        )
    return dg.MaterializeResult(
        metadata={
            **metadata,
            "raw_events": result.events,
            "unparseable_events": result.unparsed,
            "articles_parsed": result.articles,
            "articles_written": result.written,
            "near_duplicates": result.near_duplicates,
            "duplicates_dropped": result.articles - result.written,
        }
    )
