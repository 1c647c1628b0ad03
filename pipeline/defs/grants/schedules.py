"""Daily grant discovery: fetch every source for today's partition; grants, grant_changes,
discovery_trends and grant_matches follow through their eager automation."""

import dagster as dg

from pipeline.defs.shared.partitions import daily_partitions
from pipeline.defs.shared.run_limits import DISCOVERY_TAGS, discovery_run_allowed
from pipeline.lib.rate_limit import DISCOVERY_RATE_LIMIT
from pipeline.lib.settings import schedule_cron

# Selected by key: importing the asset objects here would make the defs loader collect them
# twice.
grants_discovery_job = dg.define_asset_job(
    "grants_discovery_job",
    selection=dg.AssetSelection.assets("raw_grant_events", "grants", "grant_changes"),
    partitions_def=daily_partitions,
    tags=DISCOVERY_TAGS,
    description="Fetch every grant source for the partition and resolve the records into grants.",
)


@dg.schedule(
    job=grants_discovery_job,
    cron_schedule=schedule_cron("0 6 * * *"),
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every day at 06:00 UTC: discover grants for that day's partition.",
)
def grants_discovery_schedule(context: dg.ScheduleEvaluationContext):
    if not discovery_run_allowed(context.instance):
        return dg.SkipReason(
            f"discovery rate limit: {DISCOVERY_RATE_LIMIT.max_runs} runs per "
            f"{DISCOVERY_RATE_LIMIT.window} already requested"
        )
    day = context.scheduled_execution_time.date().isoformat()
    return dg.RunRequest(
        run_key=f"grants-{day}",
        partition_key=day,
        tags={**DISCOVERY_TAGS, "pipeline/trigger": "grants_discovery_schedule"},
    )
