"""`pipeline check` and `pipeline health` against a real instance and warehouse: exit codes 0/1/2
from passing, WARN-failing and ERROR-failing checks, stale and never-materialised assets."""

from __future__ import annotations

import json
import time

import dagster as dg
import pytest
from click.testing import CliRunner

import pipeline.definitions
from pipeline.cli import ensure_dagster_home, main
from pipeline.defs.health.state import asset_health
from pipeline.defs.sales.recovery import PROCESS_TAG
from pipeline.lib.health import Status
from pipeline.lib.processes import process_identity
from pipeline_tests.defs.health.toy_defs import plant, record_tick, toy_definitions


@pytest.fixture
def toy(pipeline_env, monkeypatch):
    """The CLI sees the toy code location and a real SQLite instance at DAGSTER_HOME."""
    definitions = toy_definitions()
    monkeypatch.setattr(pipeline.definitions, "defs", lambda: definitions)
    ensure_dagster_home()
    return definitions


def materialize_all(definitions):
    with dg.DagsterInstance.get() as instance:
        result = dg.materialize(
            list(definitions.assets) + list(definitions.asset_checks),
            instance=instance,
            resources=definitions.resources,
            raise_on_error=False,
        )
    return result


def run(*args):
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_health_is_unknown_warning_before_anything_ran(toy):
    code, output = run("health")
    assert code == 1, output
    assert "UNKNOWN" in output and "toy_scores" in output


def test_healthy_after_materialising_with_passing_checks(toy):
    assert materialize_all(toy).success
    code, output = run("health")
    assert code == 0, output
    assert output.count("HEALTHY") == 2
    code, output = run("check")
    assert code == 0, output
    assert "2 passed, 0 failed" in output
    with dg.DagsterInstance.get() as instance:
        (check_run,) = [run for run in instance.get_runs() if run.job_name == "check_job"]
    # Recovery can tell this run from a live one if the process running it is killed.
    assert check_run.tags[PROCESS_TAG] == process_identity()


def test_warn_check_failure_gives_exit_1(toy, warehouse_path):
    materialize_all(toy)
    plant(warehouse_path, "INSERT INTO toy.scores VALUES (1, 0.5)")
    code, output = run("check")
    assert code == 1, output
    assert "FAIL WARN  toy_scores:toy_scores_unique" in output
    code, output = run("health", "--json")
    assert code == 1
    report = json.loads(output)
    scores = next(a for a in report["assets"] if a["asset"] == "toy_scores")
    assert scores["status"] == "degraded"
    assert any("toy_scores_unique" in r for r in scores["reasons"])


def test_error_check_failure_gives_exit_2_then_recovers(toy, warehouse_path):
    materialize_all(toy)
    plant(warehouse_path, "INSERT INTO toy.scores VALUES (3, 7.5)")
    code, output = run("check")
    assert code == 2, output
    assert "1 scores out of range" in output
    code, output = run("health")
    assert code == 2, output
    assert "UNHEALTHY  toy_scores" in output
    # The warehouse is fixed: a new check run clears it, without materialising anything.
    plant(warehouse_path, "DELETE FROM toy.scores WHERE score > 1")
    assert run("check")[0] == 0
    assert run("health")[0] == 0


def test_check_that_crashes_counts_as_failing(toy, warehouse_path):
    materialize_all(toy)
    plant(warehouse_path, "DROP TABLE toy.scores")
    code, output = run("check")
    assert code == 2, output
    assert "check run(s) failed" in output
    code, output = run("health")
    assert code == 1, output
    assert "could not run" in output


def test_stale_asset_is_unhealthy(toy):
    materialize_all(toy)
    with dg.DagsterInstance.get() as instance:
        later = time.time() + 3 * 3600
        by_asset = {
            h.asset: h for h in asset_health(toy.resolve_asset_graph(), instance, now=later)
        }
        assert by_asset["toy_scores"].status is Status.UNHEALTHY
        assert "stale" in by_asset["toy_scores"].reasons[0]
        # No freshness policy: toy_summary stays healthy however old it gets.
        assert by_asset["toy_summary"].status is Status.HEALTHY
        warn = {
            h.asset: h
            for h in asset_health(toy.resolve_asset_graph(), instance, now=time.time() + 1.5 * 3600)
        }
        assert warn["toy_scores"].status is Status.DEGRADED


def test_failed_run_without_materialisation_is_offline(pipeline_env, monkeypatch):
    @dg.asset
    def fragile():
        raise RuntimeError("provider down")

    definitions = dg.Definitions(assets=[fragile])
    monkeypatch.setattr(pipeline.definitions, "defs", lambda: definitions)
    ensure_dagster_home()
    with dg.DagsterInstance.get() as instance:
        assert not dg.materialize([fragile], instance=instance, raise_on_error=False).success
    code, output = run("health")
    assert code == 2, output
    assert "OFFLINE" in output and "last run failed" in output


def test_failing_sensor_tick_is_a_warning(toy):
    from pipeline.defs.shared.dagster_private import TickStatus

    materialize_all(toy)
    with dg.DagsterInstance.get() as instance:
        record_tick(instance, "landing_sensor", TickStatus.FAILURE, "S3 endpoint unreachable")
    code, output = run("health")
    assert code == 1, output
    assert "FAILING    sensor landing_sensor" in output and "S3 endpoint unreachable" in output
    report = json.loads(run("health", "--json")[1])
    assert report["failing_ticks"][0]["name"] == "landing_sensor"
