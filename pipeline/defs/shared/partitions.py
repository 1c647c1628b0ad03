"""Partitions shared across domains: raw events, entities and scores are daily by fetch date."""

import dagster as dg

from pipeline.lib.settings import partitions_start_date

# The first partition is the deployment's first day of data (PIPELINE_START_DATE, or the day
# recorded on the first load), so the UI does not list months of empty days as missing.
# end_offset=1 makes today's partition available, so a scheduled or manual run collects now.
daily_partitions = dg.DailyPartitionsDefinition(
    start_date=partitions_start_date().isoformat(), end_offset=1, timezone="UTC"
)
