"""A tiny code location for the instance tests: a schedule and a sensor that start STOPPED, so
whether they run is state the instance must remember across a daemon restart."""

import dagster as dg


@dg.asset(tags={"pipeline/pool": "discovery"})
def heartbeat() -> int:
    return 1


heartbeat_job = dg.define_asset_job("heartbeat_job", selection=[heartbeat])

heartbeat_schedule = dg.ScheduleDefinition(
    name="heartbeat_schedule", job=heartbeat_job, cron_schedule="0 3 * * *"
)


@dg.sensor(job=heartbeat_job, minimum_interval_seconds=1)
def heartbeat_sensor(context: dg.SensorEvaluationContext) -> dg.SkipReason:
    # Ticking is enough for the tests; requesting runs would need a run launcher worker.
    return dg.SkipReason("heartbeat")


defs = dg.Definitions(
    assets=[heartbeat],
    jobs=[heartbeat_job],
    schedules=[heartbeat_schedule],
    sensors=[heartbeat_sensor],
)
