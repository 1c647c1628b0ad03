"""Alert sensors on a real instance: a failing check alerts once, is not re-alerted every tick,
is reminded after the re-notify interval, and its recovery sends "resolved"; failed runs alert."""

from __future__ import annotations

import dagster as dg
import pytest

from pipeline.defs.health.sensors import health_alert_sensor, run_failure_alert_sensor
from pipeline_tests.defs.health.toy_defs import plant, record_tick, toy_definitions


@pytest.fixture
def toy(instance):
    definitions = toy_definitions()
    return dg.Definitions.merge(definitions, dg.Definitions(sensors=[health_alert_sensor]))


def run_checks(toy, instance):
    dg.materialize(
        [*toy.assets, *toy.asset_checks],
        instance=instance,
        resources=toy.resources,
        selection=dg.AssetSelection.all_asset_checks(),
        raise_on_error=False,
    )


class Ticker:
    """Evaluates the sensor like the daemon does, carrying its cursor between ticks."""

    def __init__(self, toy, instance):
        self.toy, self.instance, self.cursor = toy, instance, None

    def tick(self):
        context = dg.build_sensor_context(
            instance=self.instance,
            definitions=self.toy,
            cursor=self.cursor,
            sensor_name="health_alert_sensor",
        )
        result = health_alert_sensor(context)
        self.cursor = context.cursor
        return result


def test_check_failure_alerts_once_reminds_and_resolves(
    toy, instance, warehouse_path, operator_alerts, monkeypatch
):
    dg.materialize([*toy.assets, *toy.asset_checks], instance=instance, resources=toy.resources)
    ticker = Ticker(toy, instance)
    ticker.tick()
    assert operator_alerts.sent == []

    plant(warehouse_path, "INSERT INTO toy.scores VALUES (7, 3.5)")
    run_checks(toy, instance)
    ticker.tick()
    assert len(operator_alerts.sent) == 1
    alert = operator_alerts.sent[0]
    assert alert["subject"] == "Failing: ERROR check toy_scores_in_range on toy_scores"
    # ERROR + blocking on a high-criticality asset.
    assert alert["severity"] == "critical"
    assert "1 scores out of range" in alert["body"]

    # Still failing: quiet on the next ticks, even after another failing evaluation.
    ticker.tick()
    run_checks(toy, instance)
    ticker.tick()
    assert len(operator_alerts.sent) == 1

    monkeypatch.setenv("PIPELINE_ALERT_RENOTIFY_HOURS", "0")
    ticker.tick()
    assert operator_alerts.sent[-1]["subject"].startswith("Still failing: ERROR check")
    monkeypatch.delenv("PIPELINE_ALERT_RENOTIFY_HOURS")

    plant(warehouse_path, "DELETE FROM toy.scores WHERE score > 1")
    run_checks(toy, instance)
    ticker.tick()
    assert operator_alerts.sent[-1]["subject"] == (
        "Resolved: ERROR check toy_scores_in_range on toy_scores"
    )
    assert len(operator_alerts.sent) == 3
    ticker.tick()
    assert len(operator_alerts.sent) == 3


def test_warn_check_alerts_with_low_severity(toy, instance, warehouse_path, operator_alerts):
    dg.materialize([*toy.assets, *toy.asset_checks], instance=instance, resources=toy.resources)
    plant(warehouse_path, "INSERT INTO toy.scores VALUES (1, 0.3)")
    run_checks(toy, instance)
    Ticker(toy, instance).tick()
    assert [(a["subject"], a["severity"]) for a in operator_alerts.sent] == [
        ("Failing: WARN check toy_scores_unique on toy_scores", "medium")
    ]


def test_unsent_alert_is_retried_next_tick(toy, instance, warehouse_path, operator_alerts):
    dg.materialize([*toy.assets, *toy.asset_checks], instance=instance, resources=toy.resources)
    plant(warehouse_path, "INSERT INTO toy.scores VALUES (7, 3.5)")
    run_checks(toy, instance)
    ticker = Ticker(toy, instance)
    operator_alerts.fail_with = OSError("SMTP down")
    with pytest.raises(RuntimeError, match="could not be sent"):
        ticker.tick()
    operator_alerts.fail_with = None
    ticker.tick()
    assert len(operator_alerts.sent) == 1


def test_run_failure_alert(instance, operator_alerts):
    @dg.asset(tags={"criticality": "critical"})
    def fragile():
        raise RuntimeError("provider returned HTML instead of JSON")

    definitions = dg.Definitions(assets=[fragile], sensors=[run_failure_alert_sensor])
    result = dg.materialize([fragile], instance=instance, raise_on_error=False)
    assert not result.success
    run = instance.get_run_by_id(result.run_id)
    failure = instance.all_logs(result.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)[0]
    context = dg.build_run_status_sensor_context(
        sensor_name="run_failure_alert_sensor",
        dagster_event=failure.dagster_event,
        dagster_instance=instance,
        dagster_run=run,
        repository_def=definitions.get_repository_def(),
    ).for_run_failure()
    run_failure_alert_sensor(context)
    [alert] = operator_alerts.sent
    assert alert["subject"] == "Run failed: __ephemeral_asset_job__ (fragile)"
    assert alert["severity"] == "critical"
    assert "provider returned HTML instead of JSON" in alert["body"]


def test_failing_sensor_ticks_alert_once_and_resolve(toy, instance, operator_alerts):
    from pipeline.defs.shared.dagster_private import TickStatus

    ticker = Ticker(toy, instance)
    record_tick(instance, "landing_sensor", TickStatus.FAILURE, "S3 endpoint unreachable")
    ticker.tick()
    record_tick(instance, "landing_sensor", TickStatus.FAILURE, "S3 endpoint unreachable")
    ticker.tick()
    assert [(a["subject"], a["severity"]) for a in operator_alerts.sent] == [
        ("Failing: sensor landing_sensor tick", "high")
    ]
    assert "S3 endpoint unreachable" in operator_alerts.sent[0]["body"]
    record_tick(instance, "landing_sensor", TickStatus.SKIPPED)
    ticker.tick()
    assert operator_alerts.sent[-1]["subject"] == "Resolved: sensor landing_sensor tick"


def test_alerts_reach_operators_through_notify(toy, instance, warehouse_path, monkeypatch):
    """The real send_operator_alert: a failing check becomes one e-mail in the outbox and in
    notify.email_log; the recovery another."""
    from pipeline.lib import warehouse
    from pipeline.lib.settings import settings

    monkeypatch.setenv("PIPELINE_OPERATOR_EMAILS", "ops@example.org")
    dg.materialize([*toy.assets, *toy.asset_checks], instance=instance, resources=toy.resources)
    plant(warehouse_path, "INSERT INTO toy.scores VALUES (7, 3.5)")
    run_checks(toy, instance)
    ticker = Ticker(toy, instance)
    ticker.tick()
    ticker.tick()
    plant(warehouse_path, "DELETE FROM toy.scores WHERE score > 1")
    run_checks(toy, instance)
    ticker.tick()
    with warehouse.connection(warehouse_path, read_only=True) as conn:
        subjects = [
            row[0]
            for row in conn.execute(
                "SELECT subject FROM notify.email_log WHERE kind = 'operator_alert'"
                " ORDER BY created_at"
            ).fetchall()
        ]
    assert subjects == [
        "[CRITICAL] Failing: ERROR check toy_scores_in_range on toy_scores",
        "[LOW] Resolved: ERROR check toy_scores_in_range on toy_scores",
    ]
    assert len(list(settings().outbox.rglob("*.eml"))) == 2
