"""Where the daily partitions start: PIPELINE_START_DATE, else the deployment's first day,
recorded once in the data dir so it never moves later on its own."""

import datetime as dt
import os
import re
import subprocess
import sys

import pytest
from click.testing import CliRunner

from pipeline.cli import main
from pipeline.lib.settings import (
    PREVIOUS_START_DATE,
    REPO_ROOT,
    START_DATE_FILE,
    StartDateError,
    first_partition_day,
    partitions_start_date,
)

TODAY = dt.date(2026, 12, 4)


@pytest.fixture
def unset_start(pipeline_env, monkeypatch):
    # The test session pins PIPELINE_START_DATE (conftest.py); these tests need the default.
    monkeypatch.delenv("PIPELINE_START_DATE")
    return pipeline_env


def test_a_new_deployment_starts_today_and_keeps_that_day(unset_start):
    assert partitions_start_date(TODAY) == TODAY
    assert (unset_start / START_DATE_FILE).read_text() == "2026-12-04\n"
    # Days later the first day stays: a start that moved on would hide earlier partitions.
    assert partitions_start_date(TODAY + dt.timedelta(days=30)) == TODAY


def test_an_existing_warehouse_keeps_the_previous_start(unset_start):
    (unset_start / "warehouse.duckdb").write_bytes(b"")
    assert partitions_start_date(TODAY) == PREVIOUS_START_DATE == dt.date(2026, 1, 1)
    assert (unset_start / START_DATE_FILE).read_text() == "2026-01-01\n"


def test_a_ducklake_warehouse_keeps_the_previous_start(unset_start, monkeypatch):
    # Shared by hosts whose data dirs differ: no host can tell it is new.
    monkeypatch.setenv("PIPELINE_WAREHOUSE", "ducklake:postgres:dbname=lake host=127.0.0.1")
    assert partitions_start_date(TODAY) == PREVIOUS_START_DATE


def test_the_setting_wins_over_the_recorded_day(unset_start, monkeypatch):
    assert partitions_start_date(TODAY) == TODAY
    monkeypatch.setenv("PIPELINE_START_DATE", " 2026-11-20 ")
    assert partitions_start_date(TODAY) == dt.date(2026, 11, 20)


def test_reading_the_start_records_nothing(unset_start):
    assert first_partition_day(TODAY) == TODAY
    assert not (unset_start / START_DATE_FILE).exists()
    assert partitions_start_date(TODAY) == TODAY  # the explicit call records it
    assert (unset_start / START_DATE_FILE).read_text() == "2026-12-04\n"


@pytest.mark.slow
def test_importing_the_partitions_writes_nothing_and_loading_the_definitions_records(unset_start):
    def run(code: str) -> str:
        env = {k: v for k, v in os.environ.items() if k != "PIPELINE_START_DATE"}
        done = subprocess.run(
            [sys.executable, "-c", code],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    today = dt.datetime.now(dt.UTC).date().isoformat()
    imported = run(
        "from pipeline.defs.shared.partitions import daily_partitions as p;"
        "print(p.get_first_partition_key())"
    )
    assert imported == today
    assert not (unset_start / START_DATE_FILE).exists()
    run("from pipeline.definitions import defs; defs()")
    assert (unset_start / START_DATE_FILE).read_text() == f"{today}\n"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("30.11.2026", "PIPELINE_START_DATE: '30.11.2026' is not an ISO date (YYYY-MM-DD)"),
        ("2026-02-30", "is not an ISO date"),
        ("2026-12-05", "PIPELINE_START_DATE: 2026-12-05 is after today (2026-12-04 UTC)"),
    ],
)
def test_a_bad_setting_is_refused_with_a_clear_error(unset_start, monkeypatch, value, message):
    monkeypatch.setenv("PIPELINE_START_DATE", value)
    with pytest.raises(StartDateError, match=re.escape(message)):
        partitions_start_date(TODAY)


def test_a_damaged_record_names_its_file(unset_start):
    (unset_start / START_DATE_FILE).write_text("yesterday\n")
    with pytest.raises(StartDateError, match=f"{START_DATE_FILE}: 'yesterday' is not an ISO"):
        partitions_start_date(TODAY)


def test_a_data_dir_that_cannot_record_asks_for_the_setting(unset_start, monkeypatch, tmp_path):
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("")
    monkeypatch.setenv("PIPELINE_DATA_DIR", str(not_a_dir / "data"))
    monkeypatch.setenv("PIPELINE_WAREHOUSE", str(not_a_dir / "data" / "warehouse.duckdb"))
    with pytest.raises(StartDateError, match="set PIPELINE_START_DATE"):
        partitions_start_date(TODAY)


@pytest.mark.slow
def test_definitions_load_with_the_setting_or_refuse_it(pipeline_env):
    def load(start: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [
                sys.executable,
                "-c",
                "from pipeline.defs.shared.partitions import daily_partitions as p;"
                "print(p.get_first_partition_key())",
            ],
            cwd=REPO_ROOT,
            env={**os.environ, "PIPELINE_START_DATE": start},
            capture_output=True,
            text=True,
            timeout=300,
        )

    loaded = load("2026-11-30")
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.strip() == "2026-11-30"
    refused = load("30/11/2026")
    assert refused.returncode != 0
    assert "PIPELINE_START_DATE: '30/11/2026' is not an ISO date (YYYY-MM-DD)" in refused.stderr


def test_pipeline_news_refuses_a_day_before_the_first_partition(pipeline_env):
    result = CliRunner().invoke(main, ["news", "--client", "acme-bluepeak", "--date", "2025-12-31"])
    assert result.exit_code == 2
    assert "--date 2025-12-31 is not a daily partition: they run from 2026-01-01" in result.output


def test_pipeline_env_says_where_the_partitions_start(pipeline_env):
    result = CliRunner().invoke(main, ["env"])
    assert "daily partitions from 2026-01-01 (PIPELINE_START_DATE)" in result.output
