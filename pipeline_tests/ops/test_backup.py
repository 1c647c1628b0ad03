"""`pipeline backup` / `pipeline restore` round trips, refusals, and an old warehouse
upgrading in place."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from pipeline.cli import main
from pipeline.lib import backup as backups
from pipeline.lib import warehouse
from pipeline.lib.settings import partitions_start_date

OLD_WAREHOUSE_BACKUP = Path(__file__).parents[1] / "fixtures" / "ops" / "warehouse_v0001"


def run_cli(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def snapshot(path: Path) -> dict[str, list[tuple]]:
    """Every row of every table except the migration record's timestamps, sorted."""
    with warehouse.connection(path, read_only=True) as conn:
        tables = backups.table_row_counts(conn)
        return {
            table: sorted(map(repr, conn.execute(f"SELECT * FROM {table}").fetchall()))
            for table in tables
            if table != "meta.schema_migrations"
        }


@pytest.fixture
def filled_warehouse(warehouse_path: Path) -> Path:
    with warehouse.connection(warehouse_path) as conn:
        conn.execute(
            "INSERT INTO raw.events VALUES ('e1','grant','p','',NULL,true,'h','{\"a\": [1, 2]}',"
            "'https://example.org/?q=1',DATE '2026-01-02',TIMESTAMPTZ '2026-01-02 03:04:05+00','new')"
        )
        conn.execute(
            "CREATE TABLE core.ops_types (k VARCHAR PRIMARY KEY, tags VARCHAR[], amount DECIMAL(12,2),"
            " score DOUBLE, seen TIMESTAMPTZ, day DATE, flag BOOLEAN, note VARCHAR)"
        )
        conn.execute(
            "INSERT INTO core.ops_types VALUES"
            " ('a', ['x','y'], 12.5, 0.25, TIMESTAMPTZ '2026-02-01 00:00:00+00', DATE '2026-02-01', true, 'it''s'),"
            " ('b', [], NULL, NULL, NULL, NULL, false, NULL)"
        )
    return warehouse_path


def test_backup_and_restore_round_trip_every_row(filled_warehouse, tmp_path):
    before = snapshot(filled_warehouse)
    target = tmp_path / "backup"

    result = run_cli("backup", str(target))
    assert result.exit_code == 0, result.output
    assert "tables" in result.output
    manifest = json.loads((target / "manifest.json").read_text())
    assert manifest["tables"]["raw.events"] == 1
    assert manifest["tables"]["core.ops_types"] == 2
    assert manifest["schema_version"] == max(m.version for m in warehouse.available_migrations())
    assert (target / "raw_events.parquet").exists()

    with warehouse.connection(filled_warehouse) as conn:
        conn.execute("DELETE FROM core.ops_types WHERE k = 'a'")
        conn.execute("INSERT INTO raw.events SELECT * REPLACE ('e2' AS event_id) FROM raw.events")

    refused = CliRunner().invoke(main, ["restore", str(target)])
    assert refused.exit_code != 0
    assert "--force" in refused.output

    restored = run_cli("restore", str(target), "--force")
    assert restored.exit_code == 0, restored.output
    assert snapshot(filled_warehouse) == before
    # Keys survive: the primary key still rejects a duplicate.
    with (
        warehouse.connection(filled_warehouse) as conn,
        pytest.raises(duckdb.ConstraintException),
    ):
        conn.execute("INSERT INTO core.ops_types (k) VALUES ('a')")


def test_restore_into_a_fresh_location_needs_no_force(filled_warehouse, tmp_path, monkeypatch):
    before = snapshot(filled_warehouse)
    backups.backup(filled_warehouse, tmp_path / "backup")
    elsewhere = tmp_path / "elsewhere" / "warehouse.duckdb"
    monkeypatch.setenv("PIPELINE_WAREHOUSE", str(elsewhere))
    assert run_cli("restore", str(tmp_path / "backup")).exit_code == 0
    assert snapshot(elsewhere) == before
    assert not elsewhere.with_name("warehouse.duckdb.restoring").exists()


def test_restore_moves_the_daily_partitions_start_back_to_the_restored_data(
    filled_warehouse, tmp_path, monkeypatch
):
    backups.backup(filled_warehouse, tmp_path / "backup")
    new_data = tmp_path / "new_data"
    monkeypatch.setenv("PIPELINE_DATA_DIR", str(new_data))
    monkeypatch.setenv("PIPELINE_WAREHOUSE", str(new_data / "warehouse.duckdb"))
    monkeypatch.delenv("PIPELINE_START_DATE", raising=False)
    today = dt.datetime.now(dt.UTC).date()
    assert partitions_start_date() == today  # a new deployment starts today

    restored = run_cli("restore", str(tmp_path / "backup"))
    assert "daily partitions now start on 2026-01-02" in restored.output
    assert partitions_start_date() == dt.date(2026, 1, 2)  # raw.events' first partition

    monkeypatch.setenv("PIPELINE_START_DATE", "2026-01-05")
    fixed = run_cli("restore", str(tmp_path / "backup"), "--force")
    assert "set it to 2026-01-02 or those days have no daily partition" in fixed.output


def test_backup_refuses_a_non_empty_directory_and_a_missing_warehouse(
    filled_warehouse, tmp_path, monkeypatch
):
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "something.txt").write_text("keep me")
    result = CliRunner().invoke(main, ["backup", str(occupied)])
    assert result.exit_code != 0 and "not empty" in result.output
    assert (occupied / "something.txt").read_text() == "keep me"

    monkeypatch.setenv("PIPELINE_WAREHOUSE", str(tmp_path / "nothing.duckdb"))
    result = CliRunner().invoke(main, ["backup", str(tmp_path / "new")])
    assert result.exit_code != 0 and "no warehouse" in result.output


def test_restore_of_something_that_is_not_a_backup_is_a_clear_error(warehouse_path, tmp_path):
    (tmp_path / "random").mkdir()
    result = CliRunner().invoke(main, ["restore", str(tmp_path / "random")])
    assert result.exit_code != 0 and "not a warehouse backup" in result.output


def test_a_damaged_backup_leaves_the_warehouse_untouched(filled_warehouse, tmp_path):
    before = snapshot(filled_warehouse)
    target = tmp_path / "backup"
    backups.backup(filled_warehouse, target)
    manifest = json.loads((target / "manifest.json").read_text())
    manifest["tables"]["raw.events"] = 7
    (target / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(backups.BackupError, match="row counts differ"):
        backups.restore(target, filled_warehouse, force=True)
    assert snapshot(filled_warehouse) == before


def _garble(path: Path) -> None:
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 40] = b"x" * 40
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("table", "damage"),
    [
        ("raw.events", _garble),
        ("sales.files", lambda path: path.write_bytes(path.read_bytes()[:100])),
        ("core.grants", lambda path: path.unlink()),
    ],
    ids=["garbled", "truncated", "missing"],
)
def test_a_damaged_file_in_a_backup_is_one_clear_line(filled_warehouse, tmp_path, table, damage):
    before = snapshot(filled_warehouse)
    target = tmp_path / "backup"
    backups.backup(filled_warehouse, target)
    file = target / (table.replace(".", "_") + ".parquet")
    damage(file)
    result = CliRunner().invoke(main, ["restore", str(target), "--force"])
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert f"table {table}, file {file.name}" in lines[0]
    assert snapshot(filled_warehouse) == before
    assert not filled_warehouse.with_name(filled_warehouse.name + ".restoring").exists()


def test_a_warehouse_from_an_older_version_upgrades_in_place(warehouse_path, tmp_path):
    source = tmp_path / "old"
    shutil.copytree(OLD_WAREHOUSE_BACKUP, source)
    assert backups.Manifest.read(source).schema_version == 1

    result = backups.restore(source, warehouse_path, unverified=True)

    newer = [m for m in warehouse.available_migrations() if m.version > 1]
    assert result.upgraded_by == [f"{m.version:04d}_{m.name}" for m in newer]
    with warehouse.connection(warehouse_path, read_only=True) as conn:
        assert warehouse.schema_version(conn) == warehouse.available_migrations()[-1].version
        assert warehouse.scalar(conn, "SELECT count(*) FROM raw.events") == 3
        assert warehouse.scalar(conn, "SELECT count(*) FROM raw.source_fetches") == 1
        applied = warehouse.scalar(
            conn, "SELECT applied_at FROM meta.schema_migrations WHERE version = 1"
        )
        # The original migration record is kept, not re-applied.
        assert applied.year == 2026 and applied.month == 1


def test_restore_waits_for_another_process_to_release_the_warehouse(filled_warehouse, tmp_path):
    backups.backup(filled_warehouse, tmp_path / "backup")
    script = textwrap.dedent(
        f"""
        import duckdb, time
        conn = duckdb.connect({str(filled_warehouse)!r})
        print("locked", flush=True)
        time.sleep(1.5)
        conn.close()
        """
    )
    holder = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    started = time.monotonic()
    backups.restore(tmp_path / "backup", filled_warehouse, force=True)
    assert time.monotonic() - started >= 0.5
    holder.wait(timeout=10)


@pytest.fixture
def s3(s3_server):
    s3_server.client().create_bucket(Bucket="exports")
    return s3_server


def test_backup_to_s3_and_restore_from_it(filled_warehouse, tmp_path, monkeypatch, s3):
    before = snapshot(filled_warehouse)
    result = run_cli("backup", "s3://exports/warehouse/2026-03-02")
    assert result.exit_code == 0, result.output
    keys = {
        item["Key"]
        for item in s3.client().list_objects_v2(Bucket="exports", Prefix="warehouse/")["Contents"]
    }
    assert {"warehouse/2026-03-02/manifest.json", "warehouse/2026-03-02/raw_events.parquet"} <= keys

    again = CliRunner().invoke(main, ["backup", "s3://exports/warehouse/2026-03-02"])
    assert again.exit_code != 0 and "not empty" in again.output

    elsewhere = tmp_path / "restored" / "warehouse.duckdb"
    monkeypatch.setenv("PIPELINE_WAREHOUSE", str(elsewhere))
    restored = run_cli("restore", "s3://exports/warehouse/2026-03-02/")
    assert restored.exit_code == 0, restored.output
    assert snapshot(elsewhere) == before

    missing = CliRunner().invoke(main, ["restore", "s3://exports/nothing-here"])
    assert missing.exit_code != 0 and "not a warehouse backup" in missing.output
