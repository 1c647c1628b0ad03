"""Crash recovery for real: `pipeline ingest --wait` killed with SIGKILL in the middle of a
load, then the health report, the landing sensor and a re-run as the daemon would do them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest
from click.testing import CliRunner

from pipeline.cli import main
from pipeline.definitions import defs
from pipeline.defs.sales.recovery import GRACE_SECONDS, MAX_ATTEMPTS, file_states, scratch_root
from pipeline.lib.processes import is_alive, process_identity
from pipeline.lib.sales.landing import INCOMING_DIR, abandoned_partials
from pipeline.lib.settings import REPO_ROOT, settings
from pipeline_tests.sales.conftest import connect, materialize_file
from pipeline_tests.sales.test_sensor import tick


def generate(path: Path, rows: int) -> None:
    """A sales CSV big enough that staging and loading it takes seconds."""
    import duckdb

    duckdb.connect().execute(
        f"""COPY (
            SELECT printf('INV-%010d', i // 3) AS "Invoice ID",
                   DATE '2024-01-01' + (i * 7 % 730)::INTEGER AS "Date",
                   ['Harbour St', 'Market Sq', 'Station Rd'][1 + i % 3] AS "Branch",
                   ['Groceries', 'Household, garden', 'Electronics'][1 + i * 13 % 3]
                       AS "Product line",
                   round(1 + (i * 37 % 9973) / 100.0, 2) AS "Unit price",
                   1 + i % 9 AS "Quantity"
            FROM range({rows}) t(i)
        ) TO '{path}' (HEADER, DELIMITER ',', FORCE_QUOTE ("Product line"))"""
    )


def dead_process_identity() -> str:
    """The identity of a process that has ended (and was this host's)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    identity = process_identity(child.pid)
    child.wait()
    return identity


def kill_mid_load(big_csv: Path) -> int:
    """Start `pipeline ingest --wait` and SIGKILL it once it is staging the file."""
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pipeline",
            "ingest",
            str(big_csv),
            "--datasource",
            "bulk",
            "--wait",
        ],
        cwd=REPO_ROOT,
        env=os.environ.copy(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 120
    while not list(scratch_root().glob("*/stage.duckdb")):
        assert child.poll() is None, child.stdout.read().decode()
        assert time.monotonic() < deadline, "ingest never started staging"
        time.sleep(0.05)
    time.sleep(0.5)  # well into the load
    child.send_signal(signal.SIGKILL)
    assert child.wait() == -signal.SIGKILL
    return child.pid


def health_report() -> tuple[int, dict]:
    result = CliRunner().invoke(main, ["health", "--json"], catch_exceptions=False)
    return result.exit_code, json.loads(result.stdout)


@pytest.mark.slow
def test_a_killed_ingest_is_reported_failed_retried_and_cleaned(pipeline_env, tmp_path):
    big_csv = tmp_path / "big.csv"
    generate(big_csv, 1_000_000)
    kill_mid_load(big_csv)

    # What the crash left: a run STARTED forever, the file landed, scratch on disk.
    with dg.DagsterInstance.get() as instance:
        [run] = instance.get_runs()
        assert run.status == dg.DagsterRunStatus.STARTED
        key = run.tags["dagster/partition"]
        assert key.startswith("big.csv-")
    with connect() as conn:
        assert conn.execute("SELECT status FROM sales.files").fetchall() == [("landed",)]
        assert conn.execute("SELECT count(*) FROM sales.transactions").fetchall() == [(0,)]
    assert list(scratch_root().iterdir())
    # A copy a killed `pipeline ingest` was making, and one nobody touched for long.
    incoming = settings().data_dir / "landing" / INCOMING_DIR
    orphan = incoming / f"{dead_process_identity().replace(':', '+')}__x.partial"
    orphan.write_bytes(b"half a file")
    old = incoming / "0123.partial"
    old.write_bytes(b"older half")
    past = time.time() - GRACE_SECONDS - 60
    os.utime(old, (past, past))
    mine = incoming / f"{process_identity().replace(':', '+')}__y.partial"
    mine.write_bytes(b"a copy in progress")

    # Before recovery, health says so.
    code, report = health_report()
    assert code >= 1
    [stuck] = report["stuck_files"]
    assert stuck["partition_key"] == key and "died" in stuck["reason"]

    # One sensor tick: the run is marked failed, scratch and abandoned copies are gone, and
    # the file is run again.
    loaded = defs()
    with dg.DagsterInstance.get() as instance:
        result = tick(instance, loaded)
        run = instance.get_run_by_id(run.run_id)
        assert run.status == dg.DagsterRunStatus.FAILURE
        failure = instance.get_records_for_run(
            run.run_id, of_type=dg.DagsterEventType.RUN_FAILURE
        ).records
        assert "is gone" in failure[0].event_log_entry.dagster_event.message
    assert list(scratch_root().iterdir()) == []
    assert not orphan.exists() and not old.exists() and mine.exists()
    [retry] = result.run_requests
    assert retry.partition_key == key and retry.run_key == f"{key}:retry-1"

    # The re-run (as the daemon would launch it) loads the file; nothing is stuck any more.
    with dg.DagsterInstance.get() as instance:
        assert materialize_file(instance, retry.partition_key, loaded, retry.tags).success
        again = tick(instance, loaded, result.cursor)
        assert not again.run_requests
    with connect() as conn:
        assert conn.execute("SELECT status, rows_loaded FROM sales.files").fetchall() == [
            ("loaded", 1_000_000)
        ]
    code, report = health_report()
    assert report["stuck_files"] == []


@dg.op
def nothing():
    pass


@dg.job
def nothing_job():
    nothing()


def test_retries_stop_after_max_attempts_and_health_fails(pipeline_env, instance, land):
    key = land(Path(__file__).parents[1] / "fixtures/sales/supermarket_sales.csv", "market")
    with connect() as conn:
        [row] = conn.execute(
            "SELECT file_hash, datasource, file_name, landed_at FROM sales.files"
        ).fetchall()
    files = [dict(zip(("file_hash", "datasource", "file_name", "landed_at"), row, strict=True))]
    now = time.time()
    # Landed a moment ago with no run: not stuck yet; after the grace period a run is due.
    [fresh] = file_states(instance, files, now)
    assert not fresh.stuck and not fresh.retry_due
    [late] = file_states(instance, files, now + GRACE_SECONDS + 1)
    assert late.stuck and late.retry_due and not late.gave_up
    for attempt in range(MAX_ATTEMPTS):
        run = instance.create_run_for_job(nothing_job, tags={"dagster/partition": key})
        instance.report_run_failed(run, "boom")
        [state] = file_states(instance, files, now)
        assert state.attempts == attempt + 1
    assert state.gave_up and state.stuck and not state.retry_due
    code, report = health_report()
    assert code == 2 and "no more automatic retries" in report["stuck_files"][0]["reason"]


def test_a_live_process_is_alive_and_a_dead_one_is_not():
    assert is_alive(process_identity()) is True
    assert is_alive(dead_process_identity()) is False
    # A reused pid has another start time.
    host, pid, _ = process_identity().split(":")
    assert is_alive(f"{host}:{pid}:1") is False
    assert is_alive(f"another-host:{pid}:1") is None


def test_partials_in_use_are_kept(tmp_path):
    incoming = tmp_path / INCOMING_DIR
    incoming.mkdir()
    busy = incoming / f"{process_identity().replace(':', '+')}__a.partial"
    busy.write_bytes(b"x")
    beside = tmp_path / "sales/market/.orders.csv.partial"
    beside.parent.mkdir(parents=True)
    beside.write_bytes(b"x")
    assert abandoned_partials(tmp_path, GRACE_SECONDS) == []
    later = time.time() + GRACE_SECONDS + 1
    assert set(abandoned_partials(tmp_path, GRACE_SECONDS, later)) == {busy, beside}


def test_the_stuck_check_warns_then_fails(pipeline_env, instance, land):
    key = land(Path(__file__).parents[1] / "fixtures/sales/supermarket_sales.csv", "market")
    from pipeline.defs.sales.checks import sales_uploads_not_stuck
    from pipeline.defs.shared.resources import warehouse_resource

    def evaluate() -> dg.AssetCheckResult:
        context = dg.build_asset_check_context(
            instance=instance, resources={"warehouse": warehouse_resource()}
        )
        return sales_uploads_not_stuck(context)

    assert evaluate().passed
    run = instance.create_run_for_job(nothing_job, tags={"dagster/partition": key})
    instance.report_run_failed(run, "boom")
    warned = evaluate()
    assert not warned.passed and warned.severity == dg.AssetCheckSeverity.WARN
    assert "1 run(s) failed" in warned.description
    for _ in range(MAX_ATTEMPTS - 1):
        run = instance.create_run_for_job(nothing_job, tags={"dagster/partition": key})
        instance.report_run_failed(run, "boom")
    failed = evaluate()
    assert not failed.passed and failed.severity == dg.AssetCheckSeverity.ERROR
