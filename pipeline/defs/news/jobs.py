import datetime as dt
import time

import dagster as dg

from pipeline.defs.shared.partitions import daily_partitions
from pipeline.defs.shared.run_limits import DISCOVERY_TAGS

# What a monitoring schedule or a manual run for one client executes: the client list when it
# is missing or stale (the schedule decides: news_run_selection), fetch, then dedup.
# Selected by key: importing the asset objects here would make the defs loader collect them
# twice.
CRM_CLIENTS = dg.AssetKey("crm_clients")
FETCH_ASSETS = (dg.AssetKey("raw_news_events"), dg.AssetKey("client_news"))
# crm_clients refreshes hourly (its cron automation); older than this, a news run reloads it.
CRM_STALE_AFTER = dt.timedelta(hours=2)

news_fetch_job = dg.define_asset_job(
    "news_fetch_job",
    selection=dg.AssetSelection.assets(CRM_CLIENTS, *FETCH_ASSETS),
    partitions_def=daily_partitions,
    # Every run of it calls outside news providers: queue and rate limits (docs/operations.md).
    tags=DISCOVERY_TAGS,
    description="Load the CRM client list when missing or stale, fetch news for the clients "
    "in the run config (all by default) and rebuild client_news for the partition.",
)


def news_run_selection(instance: dg.DagsterInstance) -> list[dg.AssetKey]:
    """The assets a news run materialises: the fetch and dedup, plus crm_clients when it was
    never materialised or not within CRM_STALE_AFTER (a fresh deployment's first tick knows no
    client yet)."""
    last = instance.get_latest_materialization_event(CRM_CLIENTS)
    fresh = last is not None and time.time() - last.timestamp < CRM_STALE_AFTER.total_seconds()
    return list(FETCH_ASSETS) if fresh else [CRM_CLIENTS, *FETCH_ASSETS]
