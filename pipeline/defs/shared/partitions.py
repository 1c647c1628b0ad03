"""Partitions shared across domains: raw events, entities and scores are daily by fetch date."""

import dagster as dg

from pipeline.lib.settings import first_partition_day

# The first partition is the deployment's first day of data (PIPELINE_START_DATE, or the day
# recorded when the definitions first load), so the UI does not list months of empty days as
# missing. Importing this module only reads it.
# end_offset=1 makes today's partition available, so a scheduled or manual run collects now.
daily_partitions = dg.DailyPartitionsDefinition(
    start_date=first_partition_day().isoformat(), end_offset=1, timezone="UTC"
)
