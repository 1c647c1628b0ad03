"""The recipient_events asset folds what recipients did on `pipeline serve` (opens, clicks,
unsubscribes, saved preferences: appended to the recipient event store, never written to the
warehouse by the service) into raw.recipient_events and the tables derived from it;
recipient_events_sensor asks for it (and notification_stats) when the store has new events.
The sensor reads only the store, so it never waits on the warehouse."""

import dagster as dg

from pipeline.defs.shared.metadata import table_metadata
from pipeline.defs.shared.resources import WarehouseResource
from pipeline.lib.notify.event_fold import fold_into
from pipeline.lib.notify.recipient_events import default_store
from pipeline.lib.settings import settings

RECIPIENT_EVENTS = "recipient_events"


@dg.asset(
    name=RECIPIENT_EVENTS,
    group_name="notify",
    kinds={"duckdb", "sqlite"},
    # Also daily without traffic: keeps it fresh (notify's freshness policy) and is a safety
    # net when the sensor is off.
    automation_condition=dg.AutomationCondition.on_cron("0 0 * * *"),
    description="What recipients did, from the recipient event store (raw.recipient_events, "
    "once per event id), folded into notify.email_log opens (pixel loads) / clicks (redirects "
    "followed), notify.unsubscribes and notify.preference_overrides.",
)
def recipient_events(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    events = default_store()
    try:
        with warehouse.get_connection() as conn:
            report = fold_into(conn, events, settings().config_dir)
            metadata = table_metadata(conn, "raw.recipient_events", order_by="seq DESC")
    finally:
        events.close()
    context.log.info(f"folded {report.new_events} new recipient event(s)")
    return dg.MaterializeResult(metadata={**metadata, **report.as_metadata()})


@dg.sensor(
    target=[RECIPIENT_EVENTS, "notification_stats"],
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Folds new recipient events (opens, clicks, unsubscribes, saved preferences "
    "from `pipeline serve`) into the warehouse. Unsubscribes and preferences already count "
    "before that: the sender and the preferences page read the event store.",
)
def recipient_events_sensor(context: dg.SensorEvaluationContext):
    events = default_store()
    try:
        last = events.last_seq()
    finally:
        events.close()
    if str(last) == (context.cursor or "0"):
        return dg.SkipReason("no new recipient events")
    context.update_cursor(str(last))
    return dg.RunRequest(run_key=f"recipient-events-{last}")
