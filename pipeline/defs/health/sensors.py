"""Operator alerts, one per root cause, from one sensor (health_alert_sensor) through notify's
send_operator_alert: a failing asset check, a failing sensor/schedule tick, or a failed run.

A failed non-blocking check does not fail its run (dagster issue 29896), so the sensor reads
the latest check results itself. A failed run is one alert for its job and assets: the failed
step, the error's last line, the checks that could not run because of it (no alert of their
own: the run is their cause) and a link to the run in the UI (PIPELINE_UI_URL). Each thing
alerts when it starts failing and says "resolved" once when it recovers; what is firing lives
in the sensor cursor. Reminders while it keeps failing are paced by the sender's per-key
re-notify interval, the one de-duplication layer.
"""

import datetime as dt
import time

import dagster as dg

from pipeline.defs.health.state import check_facts, criticality, latest_ticks
from pipeline.defs.shared.resources import WarehouseResource
from pipeline.lib import alerting, health
from pipeline.lib.settings import ui_url

# Runs finished within this window are judged (older ones were judged when they were recent).
RUN_WINDOW_S = 24 * 3600
RUN_LIMIT = 500
RUN_OUTCOMES = [dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE]
# Set by Dagster on a failed run: "true" when the daemon will retry it.
WILL_RETRY_TAG = "dagster/will_retry"
PLANNED = dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED


def send(*, key: str, subject: str, body: str, severity: str, warehouse: WarehouseResource) -> bool:
    # Imported at send time: notify owns the channel (SMTP or the outbox) and its settings.
    from pipeline.defs.notify.operator_alerts import send_operator_alert

    return send_operator_alert(
        key=key, subject=subject, body=body, severity=severity, warehouse=warehouse
    )


def check_observations(
    graph, facts: dict[dg.AssetCheckKey, health.CheckFact]
) -> list[alerting.Observation]:
    """One observation per check that has a result: failing, or passing again. A check that
    could not run is listed in its run's alert instead."""
    observations = []
    for key, fact in facts.items():
        if fact.passed is None:
            continue  # never ran, running now, or its run died (the run's alert names it)
        asset = key.asset_key.to_user_string()
        level = criticality(graph.get(key.asset_key))
        severity = fact.severity
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
        "Alerts operators once when an asset check, a sensor/schedule tick or a job's runs "
        "start failing, reminds while it keeps failing, and says when it is resolved."
    ),
)
def health_alert_sensor(
    context: dg.SensorEvaluationContext, warehouse: WarehouseResource
) -> dg.SkipReason:
    previous = alerting.load_state(context.cursor)
    graph = context.repository_def.asset_graph
    facts = check_facts(graph, context.instance)
    observations = check_observations(graph, facts)
    observations += run_observations(graph, context.instance, facts)
    observations += tick_observations(context.instance, exclude=context.sensor_name)
    firing, alerts = alerting.decide(previous, observations, time.time())
    sent = unsent = 0
    for alert in alerts:
        try:
            sent += send(
                key=alert.key,
                subject=alert.subject,
                body=alert.body,
                severity=alert.severity,
                warehouse=warehouse,
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


def run_failure(instance: dg.DagsterInstance, run: dg.DagsterRun) -> tuple[str, str]:
    """The failed step (or "run" when it failed outside any step) and its error's last line."""
    for event in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_FAILURE):
        data = event.dagster_event and event.dagster_event.event_specific_data
        if data is not None and data.error is not None:
            return event.step_key or "step", alerting.error_last_line(data.error)
    for event in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.RUN_FAILURE):
        data = event.dagster_event and event.dagster_event.event_specific_data
        error = getattr(data, "error", None)
        message = alerting.error_last_line(error) if error is not None else event.message
        return "run", (message or "failed").strip()[:300]
    return "run", "failed"


def _run_watch(run: dg.DagsterRun) -> tuple[str, str]:
    """What a run is an instance of: its job and the assets it targets (key, readable name)."""
    assets = sorted(k.to_user_string() for k in run.asset_selection or ())
    label = f"job {run.job_name}" + (f" ({', '.join(assets)[:120]})" if assets else "")
    return f"run:{run.job_name}:{','.join(assets)}", label


def run_observations(
    graph, instance: dg.DagsterInstance, facts: dict[dg.AssetCheckKey, health.CheckFact]
) -> list[alerting.Observation]:
    """One observation per job and asset selection from its latest finished run: failing with
    the failed step, its error's last line, the checks that could not run because of it and a
    link to the run; passing again when a later run succeeded. A failed run the daemon will
    retry is not judged yet (its retry is), nor one a failing blocking check stopped (that
    check alerts)."""
    since = time.time() - RUN_WINDOW_S
    records = instance.get_run_records(
        dg.RunsFilter(
            statuses=RUN_OUTCOMES, updated_after=dt.datetime.fromtimestamp(since, dt.UTC)
        ),
        limit=RUN_LIMIT,
    )
    latest: dict[str, tuple[str, dg.DagsterRun]] = {}
    for record in sorted(records, key=lambda r: r.update_timestamp, reverse=True):
        run = record.dagster_run
        if run.tags.get(WILL_RETRY_TAG) == "true":
            continue
        key, label = _run_watch(run)
        latest.setdefault(key, (label, run))
    observations = []
    for key, (label, run) in sorted(latest.items()):
        link = f"{ui_url()}/runs/{run.run_id}"
        if run.status == dg.DagsterRunStatus.SUCCESS:
            observations.append(
                alerting.Observation(key, False, label, f"Run {run.run_id} succeeded: {link}")
            )
            continue
        if any(fact.passed is False and fact.run_id == run.run_id for fact in facts.values()):
            continue  # a blocking check failed the run: the check's own alert is the one
        step, error = run_failure(instance, run)
        lost = sorted(
            f"{k.asset_key.to_user_string()}:{k.name}"
            for k, fact in facts.items()
            if fact.execution_failed and fact.run_id == run.run_id
        )
        planned = instance.all_logs(run.run_id, of_type=PLANNED)
        assets = {e.dagster_event.asset_key for e in planned if e.dagster_event}
        critical = any(graph.has(k) and criticality(graph.get(k)) == "critical" for k in assets)
        body = [
            f"Run {run.run_id} of {run.job_name} failed at {step}:",
            error,
            "",
            f"Partition: {run.tags.get('dagster/partition', '-')}",
            f"Run: {link}",
        ]
        if lost:
            body += ["", f"Checks that could not run because of it ({len(lost)}):"]
            body += [f"- {name}" for name in lost]
        observations.append(
            alerting.Observation(
                key,
                True,
                f"{label}: {step} failed: {error}"[:200],
                "\n".join(body),
                severity="critical" if critical else "high",
            )
        )
    return observations
