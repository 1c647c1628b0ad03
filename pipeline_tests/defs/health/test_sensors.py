"""The alert sensor on a real instance: a failing check alerts once, is not re-alerted every
tick, is reminded after the re-notify interval, and its recovery sends "resolved"; a failed run
is one alert (its checks that could not run inside it) and one "resolved"."""

from __future__ import annotations

import dagster as dg
import pytest

from pipeline.defs.health.sensors import health_alert_sensor
from pipeline.defs.shared.resources import warehouse_resource
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
            resources=self.toy.resources,  # a direct call takes no resources from definitions
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


def fragile_definitions(broken: dict) -> dg.Definitions:
    """A critical asset with three checks (an ERROR, a WARN and a blocking one) that fails
    while `broken["now"]` is true."""

    @dg.asset(tags={"criticality": "critical"})
    def fragile():
        if broken["now"]:
            raise RuntimeError("provider answered:\nHTML instead of JSON")

    def check(name: str, severity: dg.AssetCheckSeverity, blocking: bool):
        @dg.asset_check(asset=fragile, name=name, blocking=blocking)
        def _check() -> dg.AssetCheckResult:
            return dg.AssetCheckResult(passed=True, severity=severity)

        return _check

    checks = [
        check("rows_present", dg.AssetCheckSeverity.ERROR, False),
        check("volume_ok", dg.AssetCheckSeverity.WARN, False),
        check("keys_unique", dg.AssetCheckSeverity.ERROR, True),
    ]
    return dg.Definitions(
        assets=[fragile],
        asset_checks=checks,
        jobs=[dg.define_asset_job("fragile_job", selection=[fragile])],
        sensors=[health_alert_sensor],
        resources={"warehouse": warehouse_resource()},
    )


def test_failed_run_is_one_alert_and_one_resolved(instance, operator_alerts, monkeypatch):
    monkeypatch.setenv("PIPELINE_UI_URL", "http://ui.example:3000/")
    broken = {"now": True}
    definitions = fragile_definitions(broken)
    job = definitions.resolve_job_def("fragile_job")
    failed = job.execute_in_process(instance=instance, raise_on_error=False)
    assert not failed.success
    ticker = Ticker(definitions, instance)
    ticker.tick()
    ticker.tick()
    [alert] = operator_alerts.sent
    assert alert["subject"] == ("Failing: job fragile_job: fragile failed: HTML instead of JSON")
    assert alert["severity"] == "critical"
    body = alert["body"]
    assert f"http://ui.example:3000/runs/{failed.run_id}" in body
    for check in ("fragile:keys_unique", "fragile:rows_present", "fragile:volume_ok"):
        assert f"- {check}" in body

    broken["now"] = False
    assert job.execute_in_process(instance=instance).success
    ticker.tick()
    ticker.tick()
    assert [a["subject"] for a in operator_alerts.sent] == [
        alert["subject"],
        "Resolved: job fragile_job",
    ]


def test_failed_run_the_daemon_retries_waits_for_its_retry(instance, operator_alerts):
    definitions = fragile_definitions({"now": True})
    job = definitions.resolve_job_def("fragile_job")
    failed = job.execute_in_process(instance=instance, raise_on_error=False)
    instance.add_run_tags(failed.run_id, {"dagster/will_retry": "true"})
    Ticker(definitions, instance).tick()
    assert operator_alerts.sent == []


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


def test_failed_run_reaches_operators_as_one_email_over_smtp(instance, monkeypatch):
    """The real channel: one failed run of an asset with three checks is one e-mail on a real
    SMTP server, and its recovery one more."""
    from pipeline_tests.fakes.smtp_server import FakeSMTPServer

    server = FakeSMTPServer().start()
    try:
        for name, value in server.env().items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("PIPELINE_OPERATOR_EMAILS", "ops@example.org")
        broken = {"now": True}
        definitions = fragile_definitions(broken)
        job = definitions.resolve_job_def("fragile_job")
        job.execute_in_process(instance=instance, raise_on_error=False)
        ticker = Ticker(definitions, instance)
        ticker.tick()
        ticker.tick()
        broken["now"] = False
        job.execute_in_process(instance=instance)
        ticker.tick()
        ticker.tick()
        subjects = [m.message["Subject"] for m in server.handler.received]
    finally:
        server.stop()
    assert subjects == [
        "[CRITICAL] Failing: job fragile_job: fragile failed: HTML instead of JSON",
        "[LOW] Resolved: job fragile_job",
    ]
