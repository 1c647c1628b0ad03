import dagster as dg

from pipeline.defs.shared.partitions import daily_partitions
from pipeline.defs.shared.run_limits import DISCOVERY_TAGS

# What a monitoring schedule or a manual run for one client executes: fetch, then dedup.
# Selected by key: importing the asset objects here would make the defs loader collect them
# twice.
news_fetch_job = dg.define_asset_job(
    "news_fetch_job",
    selection=dg.AssetSelection.assets("raw_news_events", "client_news"),
    partitions_def=daily_partitions,
    # Every run of it calls outside news providers: queue and rate limits (docs/operations.md).
    tags=DISCOVERY_TAGS,
    description="Fetch news for the clients in the run config (all by default) and rebuild "
    "client_news for the partition.",
)
