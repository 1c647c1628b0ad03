"""notify_hourly_schedule: every hour on the hour (UTC), the message assets with
`due_now_only: true` and the tick as `as_of`, then delivery and stats.

Hourly because digest hours are local: 08:00 in New York is 13:00 UTC in winter and 12:00 in
summer, so a fixed UTC cron cannot serve every timezone. Each run sends a user's digest only
once their local digest hour has come and only if their period has none yet, so the digest of a
local day (or ISO week) goes out once, at the first tick from 08:00 local, on both sides of a
DST change. A missed tick is caught up by the next one. Instant alerts ride along in case the
automation sensor is off; their eager condition normally runs them as soon as scores land."""

import dagster as dg

from pipeline.defs.notify.assets import MESSAGE_KINDS
from pipeline.lib.settings import schedule_cron

# By name: the asset definitions are loaded from assets.py only.
notify_hourly_job = dg.define_asset_job(
    "notify_hourly_job",
    selection=dg.AssetSelection.assets(*MESSAGE_KINDS, "email_log", "notification_stats"),
    description="Instant alerts, digests and deadline reminders that are due, then delivery "
    "and stats.",
)


def hourly_run_config(as_of: str) -> dict:
    due = {"due_now_only": True, "as_of": as_of}
    return {
        "ops": {
            "daily_digest": {"config": due},
            "weekly_digest": {"config": due},
            "deadline_reminders": {"config": due},
            "instant_alerts": {"config": {"as_of": as_of}},
        }
    }


@dg.schedule(
    cron_schedule=schedule_cron("0 * * * *"),
    job=notify_hourly_job,
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Digests and deadline reminders at each user's local digest hour (the assets "
    "decide who is due), plus delivery of anything pending.",
)
def notify_hourly_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    tick = context.scheduled_execution_time
    return dg.RunRequest(
        run_key=f"notify-{tick.isoformat()}",
        run_config=hourly_run_config(tick.isoformat()),
        tags={"pipeline/trigger": "notify_hourly_schedule"},
    )
