"""Partitions shared across domains: raw events, entities and scores are daily by fetch date."""

import dagster as dg

# end_offset=1 makes today's partition available, so a scheduled or manual run collects now.
daily_partitions = dg.DailyPartitionsDefinition(
    start_date="2026-01-01", end_offset=1, timezone="UTC"
)
