"""Operator alerts: failing asset checks and failing sensor/schedule ticks (health_alert_sensor)
and failed runs (run_failure_alert_sensor), sent through notify's send_operator_alert.

A failed non-blocking check does not fail its run (dagster issue 29896), so run-failure
sensors never see it: health_alert_sensor reads the latest check results itself. It tells
when a check starts failing and says "resolved" when it passes again; what is firing lives in
the sensor cursor. Reminders while it keeps failing are paced by the sender's per-key
re-notify interval, the one de-duplication layer.
"""

import time

import dagster as dg

from pipeline.defs.health.state import check_facts, criticality, latest_ticks
from pipeline.lib import alerting


def send(*, key: str, subject: str, body: str, severity: str) -> bool:
    # Imported at send time: notify owns the channel (SMTP or the outbox) and its settings.
    from pipeline.defs.notify.operator_alerts import send_operator_alert

    return send_operator_alert(key=key, subject=subject, body=body, severity=severity)


def check_observations(graph, instance: dg.DagsterInstance) -> list[alerting.Observation]:
    """One observation per check that has a result: failing, or passing again."""
    observations = []
    for key, fact in check_facts(graph, instance).items():
        if fact.passed is None and not fact.execution_failed:
            continue  # never ran, or running now
        asset = key.asset_key.to_user_string()
        level = criticality(graph.get(key.asset_key))
        severity = "ERROR" if fact.execution_failed else fact.severity
        if fact.execution_failed:
            subject = f"check {key.name} on {asset} could not run"
            outcome = "could not run: its run failed before the check reported"
        else:
            subject = f"{severity} check {key.name} on {asset}"
            outcome = f"{'passed' if fact.passed else 'failed'}: {fact.description or '-'}"
        observations.append(
            alerting.Observation(
                key=f"check:{asset}:{key.name}",
                failing=not fact.passed,
                subject=subject,
                body=f"Asset check {key.name} on asset {asset} {outcome}\nSeverity {severity}, "
                f"{'blocking' if fact.blocking else 'not blocking'}; asset criticality {level}."
                "\nRun `pipeline health` for the whole picture.",
                severity=alerting.alert_severity(severity, level, fact.blocking),
            )
        )
    return observations


def tick_observations(instance: dg.DagsterInstance, exclude: str) -> list[alerting.Observation]:
    """One observation per sensor and schedule from its latest finished tick."""
    return [
        alerting.Observation(
            key=f"tick:{tick.kind}:{tick.name}",
            failing=tick.failed,
            subject=f"{tick.kind} {tick.name} tick",
            body=f"The latest tick of {tick.kind} {tick.name} "
            f"{'failed' if tick.failed else 'succeeded'}."
            + (f"\n\n{tick.error[:2000]}" if tick.error else ""),
            severity="high",
        )
        for tick in latest_ticks(instance, exclude=exclude)
    ]


@dg.sensor(
    name="health_alert_sensor",
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Alerts operators once when an asset check or a sensor/schedule tick starts failing, "
        "reminds while it keeps failing, and says when it is resolved."
    ),
)
def health_alert_sensor(context: dg.SensorEvaluationContext) -> dg.SkipReason:
    previous = alerting.load_state(context.cursor)
    observations = check_observations(context.repository_def.asset_graph, context.instance)
    observations += tick_observations(context.instance, exclude=context.sensor_name)
    firing, alerts = alerting.decide(previous, observations, time.time())
    sent = unsent = 0
    for alert in alerts:
        try:
            sent += send(
                key=alert.key, subject=alert.subject, body=alert.body, severity=alert.severity
            )
        except Exception as error:
            # Keep the old state for this key, so the next tick tries again.
            unsent += 1
            context.log.warning("could not send alert %s: %s", alert.key, error)
            if alert.watch_key in previous:
                firing[alert.watch_key] = previous[alert.watch_key]
            else:
                firing.pop(alert.watch_key, None)
    context.update_cursor(alerting.dump_state(firing))
    if unsent:
        raise RuntimeError(f"{unsent} of {len(alerts)} operator alerts could not be sent")
    return dg.SkipReason(f"{sent} alert(s) sent; firing: {', '.join(sorted(firing)) or 'nothing'}")


def _root_cause(error) -> str:
    """The innermost error message: Dagster wraps user errors in its own step error."""
    while error.cause is not None:
        error = error.cause
    return error.message.strip()[:500]


@dg.run_failure_sensor(
    name="run_failure_alert_sensor",
    monitor_all_code_locations=True,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Alerts operators when a run fails (one alert per job and asset selection "
    "within notify's re-notify interval).",
)
def run_failure_alert_sensor(context: dg.RunFailureSensorContext) -> None:
    run = context.dagster_run
    planned = context.instance.all_logs(
        run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED
    )
    asset_keys = {e.dagster_event.asset_key for e in planned if e.dagster_event} | set(
        run.asset_selection or ()
    )
    assets = sorted(k.to_user_string() for k in asset_keys)
    steps = [
        f"- {event.step_key}: {_root_cause(event.event_specific_data.error)}"
        for event in context.get_step_failure_events()
        if event.event_specific_data and event.event_specific_data.error
    ]
    graph = context.repository_def.asset_graph if context.repository_def else None
    critical = graph and any(
        graph.has(k) and criticality(graph.get(k)) == "critical" for k in asset_keys
    )
    body = "\n".join(
        [
            f"Run {run.run_id} of {run.job_name} failed.",
            f"Assets: {', '.join(assets) or '-'}",
            f"Partition: {run.tags.get('dagster/partition', '-')}",
            "",
            context.failure_event.message or "",
            *steps,
        ]
    )
    send(
        key=f"run_failure:{run.job_name}:{','.join(assets)}",
        subject=f"Run failed: {run.job_name}" + (f" ({', '.join(assets)[:120]})" if assets else ""),
        body=body,
        severity="critical" if critical else "high",
    )
