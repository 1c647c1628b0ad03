"""monitoring.yaml: cadences, cron validation with line numbers, unknown clients, and a bad
file never taking the code location down."""

import datetime as dt
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from pipeline.lib.news.monitoring import CADENCES, cron_for, load_monitoring
from pipeline.lib.settings import REPO_ROOT
from pipeline_tests.conftest import validate_definitions

KNOWN = {"acme-northwind", "acme-helix", "globex-lumen"}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "monitoring.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("value", "cron"),
    [
        ("manual", None),
        ("hourly", CADENCES["hourly"]),
        ("Daily", CADENCES["daily"]),
        ("weekly", CADENCES["weekly"]),
        ("monthly", CADENCES["monthly"]),
        ("*/15 * * * *", "*/15 * * * *"),
        ("0 6 * * MON-FRI", "0 6 * * MON-FRI"),
    ],
)
def test_cadences(value, cron):
    assert cron_for(value) == (cron, None)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("61 * * * *", "not a valid cron"),
        ("0 25 * * *", "not a valid cron"),
        ("* * * * * *", "5-field cron"),
        ("every hour", "5-field cron"),
        ("fortnightly", "5-field cron"),
    ],
)
def test_bad_crons(value, message):
    cron, problem = cron_for(value)
    assert cron is None and message in problem


def test_errors_name_the_line_and_good_entries_survive(tmp_path):
    path = write(
        tmp_path,
        """schedules:
  - name: good_hourly
    clients: [acme-northwind]
    schedule: hourly
  - name: bad_cron
    clients: [acme-helix]
    schedule: "61 * * * *"
  - name: partly_unknown
    clients: [acme-helix, nobody]
    schedule: daily
  - name: all_unknown
    clients: [ghost]
    schedule: daily
  - name: no_target
    schedule: daily
  - name: good_hourly
    clients: all
    schedule: weekly
  - name: tenant_daily
    tenant: globex
    schedule: "30 7 * * *"
  - name: on_demand
    client: globex-lumen
    schedule: manual
  - name: typo
    clients: all
    schedule: daily
    timezone: UTC
""",
    )
    config = load_monitoring(path, KNOWN)
    assert [e.name for e in config.entries] == [
        "good_hourly",
        "partly_unknown",
        "tenant_daily",
        "on_demand",
    ]
    assert config.entries[1].clients == ("acme-helix",)
    assert config.entries[3].cron is None
    assert config.errors == [
        "monitoring.yaml:5: bad_cron: schedule '61 * * * *' is not a valid cron expression; entry skipped",
        "monitoring.yaml:8: partly_unknown: unknown client(s) nobody left out",
        "monitoring.yaml:11: all_unknown: unknown client(s) ghost left out",
        "monitoring.yaml:11: all_unknown: no known client left; entry skipped",
        "monitoring.yaml:14: no_target: give 'clients' (ids or all) or 'tenant'; entry skipped",
        "monitoring.yaml:16: name 'good_hourly' is used twice; entry skipped",
        "monitoring.yaml:25: typo: unknown key(s) timezone; entry skipped",
    ]


def test_not_yaml_and_wrong_shape(tmp_path):
    config = load_monitoring(write(tmp_path, "schedules: [\n  - name: x\n"), KNOWN)
    assert config.entries == [] and config.errors[0].startswith("monitoring.yaml:")
    assert "not valid YAML" in config.errors[0]
    config = load_monitoring(write(tmp_path, "- just a list\n"), KNOWN)
    assert config.errors == ["monitoring.yaml: expected a top-level 'schedules:' list"]
    assert load_monitoring(tmp_path / "absent.yaml").entries == []


def test_bundled_monitoring_file_is_valid():
    from pipeline.lib.news.clients import load_clients_csv

    clients, _ = load_clients_csv(
        REPO_ROOT / "data" / "samples" / "news" / "clients.csv", is_sample=True
    )
    config = load_monitoring(
        REPO_ROOT / "data" / "config" / "monitoring.yaml", {c.client_id for c in clients}
    )
    assert config.errors == []
    assert {e.name for e in config.entries} >= {"all_clients_hourly", "orchard_on_demand"}


def _config_dir(tmp_path: Path, monkeypatch, text: str) -> None:
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    (config_dir / "monitoring.yaml").write_text(text, encoding="utf-8")
    monkeypatch.setenv("PIPELINE_CONFIG_DIR", str(config_dir))


BROKEN = """schedules:
  - name: fine
    clients: [acme-northwind]
    schedule: "*/10 * * * *"
  - name: broken
    clients: [acme-helix]
    schedule: "99 * * * *"
  - name: stranger
    clients: [nobody-at-all]
    schedule: hourly
"""


def test_code_location_loads_with_a_broken_file(pipeline_env, tmp_path, monkeypatch):
    _config_dir(tmp_path, monkeypatch, BROKEN)
    from pipeline.definitions import defs

    loaded = defs()
    names = {s.name for s in loaded.schedules}
    assert "news_fine" in names and "news_broken" not in names and "news_stranger" not in names
    errors = loaded.metadata["news/monitoring_errors"].value
    assert "monitoring.yaml:5" in errors and "99 * * * *" in errors
    assert "monitoring.yaml:8" in errors and "nobody-at-all" in errors
    # The whole repository still resolves (what a code-location load does).
    assert loaded.resolve_job_def("news_fetch_job")


@pytest.mark.slow
def test_dagster_validates_with_a_broken_file(pipeline_env, tmp_path, monkeypatch):
    _config_dir(tmp_path, monkeypatch, BROKEN)
    result = validate_definitions()
    assert result.returncode == 0, result.stdout + result.stderr


def test_schedule_requests_a_run_for_its_clients(pipeline_env, tmp_path, monkeypatch, instance):
    _config_dir(tmp_path, monkeypatch, BROKEN)
    from pipeline.definitions import defs

    loaded = defs()
    schedule = loaded.resolve_schedule_def("news_fine")
    assert schedule.cron_schedule == "*/10 * * * *"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    context = dg.build_schedule_context(
        instance=instance,
        scheduled_execution_time=dt.datetime(2026, 11, 22, 9, 10, tzinfo=dt.UTC),
        repository_def=loaded.get_repository_def(),
    )
    request = schedule.evaluate_tick(context).run_requests[0]
    assert request.partition_key == "2026-11-22"
    assert request.run_config["ops"]["raw_news_events"]["config"] == {
        "clients": ["acme-northwind"],
        "tenant": "",
    }


def test_monitoring_check_fails_on_unknown_entries(pipeline_env, tmp_path, monkeypatch, instance):
    from pipeline_tests.news.conftest import materialize_news

    materialize_news(instance)
    from pipeline.definitions import defs
    from pipeline.defs.news.checks import monitoring_config

    result = dg.materialize(
        [*defs().assets, monitoring_config],
        selection=dg.AssetSelection.checks(monitoring_config),
        instance=instance,
        resources=defs().resources,
    )
    assert result.get_asset_check_evaluations()[0].passed
    _config_dir(
        tmp_path,
        monkeypatch,
        BROKEN + "  - name: other_tenant\n    tenant: initech\n    schedule: daily\n",
    )
    result = dg.materialize(
        [*defs().assets, monitoring_config],
        selection=dg.AssetSelection.checks(monitoring_config),
        instance=instance,
        resources=defs().resources,
        raise_on_error=False,
    )
    evaluation = result.get_asset_check_evaluations()[0]
    assert not evaluation.passed
    assert evaluation.severity == dg.AssetCheckSeverity.ERROR
    assert "monitoring.yaml:5" in evaluation.description
    assert "unknown tenant 'initech'" in evaluation.description


def test_manual_run_for_one_client_through_the_job(instance, news_warehouse):
    from pipeline.definitions import defs
    from pipeline.defs.news.assets import crm_clients

    loaded = defs()
    dg.materialize([crm_clients], instance=instance, resources=loaded.resources)
    result = loaded.resolve_job_def("news_fetch_job").execute_in_process(
        instance=instance,
        partition_key="2026-11-21",
        run_config={"ops": {"raw_news_events": {"config": {"clients": ["globex-quarry"]}}}},
    )
    assert result.success
    with news_warehouse() as conn:
        clients = conn.execute("SELECT DISTINCT client_id FROM core.client_news").fetchall()
    assert clients == [("globex-quarry",)]


@pytest.mark.slow
def test_cli_news_for_one_client(pipeline_env):
    env_dir = pipeline_env
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipeline",
            "news",
            "--client",
            "acme-bluepeak",
            "--date",
            "2026-11-21",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "raw_news_events [2026-11-21]: {'clients': 1" in result.stdout
    assert (env_dir / "warehouse.duckdb").exists()
    failed = subprocess.run(
        [sys.executable, "-m", "pipeline", "news", "--client", "nobody"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert failed.returncode == 1
    assert "unknown client id(s) nobody" in failed.stderr
