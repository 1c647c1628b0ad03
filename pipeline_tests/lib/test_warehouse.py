import subprocess
import sys
import textwrap
import time

import duckdb
import polars as pl
import pytest

from pipeline.lib import merge, warehouse


def test_fresh_warehouse_gets_every_schema_and_records_migrations(warehouse_path):
    with warehouse.connection(warehouse_path) as conn:
        schemas = {
            r[0]
            for r in conn.execute("SELECT schema_name FROM information_schema.schemata").fetchall()
        }
        assert {"raw", "core", "ai", "sales", "analytics", "notify", "meta"} <= schemas
        versions = warehouse.applied_versions(conn)
    assert versions == {m.version for m in warehouse.available_migrations()}


def test_migrate_is_forward_only_and_idempotent(warehouse_path):
    conn = warehouse.open_connection(warehouse_path)
    first = warehouse.migrate(conn)
    assert first and first[0].startswith("0001_")
    assert warehouse.migrate(conn) == []
    conn.close()


def test_older_warehouse_upgrades_in_place_keeping_rows(warehouse_path):
    conn = warehouse.open_connection(warehouse_path)
    conn.execute(
        "CREATE SCHEMA meta; CREATE TABLE meta.schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp)"
    )
    first = warehouse.available_migrations()[0]
    conn.execute(first.sql)
    conn.execute(
        "INSERT INTO meta.schema_migrations (version, name) VALUES (?, ?)",
        [first.version, first.name],
    )
    conn.execute(
        "INSERT INTO raw.events VALUES ('e1','grant','p','',NULL,true,'h','{}',NULL,DATE '2026-01-02',now(),'new')"
    )
    applied = warehouse.migrate(conn)
    assert all(not name.startswith("0001_") for name in applied)
    assert conn.execute("SELECT count(*) FROM raw.events").fetchone()[0] == 1
    conn.close()


def test_failed_migration_is_rolled_back_and_named(warehouse_path, monkeypatch):
    broken = warehouse.Migration(
        9999, "broken", "CREATE TABLE raw.half (x INT); SELECT * FROM no_such_table;"
    )
    monkeypatch.setattr(warehouse, "available_migrations", lambda: [broken])
    conn = warehouse.open_connection(warehouse_path)
    with pytest.raises(RuntimeError, match="9999_broken"):
        warehouse.migrate(conn)
    assert 9999 not in warehouse.applied_versions(conn)
    conn.close()


def test_pending_migrations_apply_all_or_none(warehouse_path, monkeypatch):
    """A warehouse is never left half-upgraded: one failing migration rolls back the ones
    before it in the same run, and the error names it."""
    every = warehouse.available_migrations()
    good = warehouse.Migration(9998, "good", "CREATE TABLE raw.extra (x INT);")
    broken = warehouse.Migration(9999, "broken", "SELECT * FROM no_such_table;")
    monkeypatch.setattr(warehouse, "available_migrations", lambda: [*every, good, broken])
    conn = warehouse.open_connection(warehouse_path)
    with pytest.raises(RuntimeError, match="9999_broken"):
        warehouse.migrate(conn)
    assert warehouse.applied_versions(conn) == set()
    assert not warehouse.table_exists(conn, "raw.events")
    monkeypatch.setattr(warehouse, "available_migrations", lambda: [*every, good])
    assert warehouse.migrate(conn)[-1] == "9998_good"
    assert warehouse.table_exists(conn, "raw.extra")
    conn.close()


def _hold_lock(path, seconds: float) -> subprocess.Popen:
    script = textwrap.dedent(
        f"""
        import duckdb, sys, time
        conn = duckdb.connect({str(path)!r})
        print("locked", flush=True)
        time.sleep({seconds})
        conn.close()
        """
    )
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "locked"
    return process


def test_writer_waits_for_another_process_lock_instead_of_failing(warehouse_path):
    warehouse.DuckDBFile(warehouse_path).ensure_schema()
    holder = _hold_lock(warehouse_path, 1.5)
    started = time.monotonic()
    with warehouse.connection(warehouse_path) as conn:
        conn.execute("CREATE TABLE core.waited AS SELECT 1 AS x")
    assert time.monotonic() - started >= 0.5
    holder.wait(timeout=10)


def test_a_wait_for_the_lock_is_logged_once_not_per_retry(warehouse_path, caplog):
    warehouse.DuckDBFile(warehouse_path).ensure_schema()
    holder = _hold_lock(warehouse_path, 2.0)
    # An earlier test may have left this logger at INFO: the migration lines are not ours.
    caplog.clear()
    with caplog.at_level("INFO", logger="pipeline.lib.warehouse"):
        warehouse.open_connection(warehouse_path).close()
    holder.wait(timeout=10)
    lines = [r.getMessage() for r in caplog.records if r.name == "pipeline.lib.warehouse"]
    assert len(lines) == 2, lines  # several retries happened in those 2 s
    assert "is locked by another process; waiting up to" in lines[0]
    assert lines[1].startswith("warehouse lock acquired after")


def test_lock_held_past_timeout_is_a_clear_error(warehouse_path):
    warehouse.DuckDBFile(warehouse_path).ensure_schema()
    holder = _hold_lock(warehouse_path, 5)
    try:
        with pytest.raises(warehouse.WarehouseLockedError, match="stayed locked"):
            warehouse.open_connection(warehouse_path, timeout_s=0.5)
    finally:
        holder.kill()
        holder.wait()


def test_replace_where_and_upsert_are_idempotent(warehouse_path):
    with warehouse.connection(warehouse_path) as conn:
        conn.execute("CREATE TABLE core.t (k VARCHAR PRIMARY KEY, d DATE, v INT)")
        frame = pl.DataFrame(
            {"k": ["a", "b"], "d": ["2026-01-01", "2026-01-01"], "v": [1, 2]}
        ).with_columns(pl.col("d").str.to_date())
        for _ in range(2):
            warehouse.replace_where(conn, "core.t", frame, "d = ?", ["2026-01-01"])
        assert conn.execute("SELECT count(*) FROM core.t").fetchone()[0] == 2
        merge.upsert(conn, "core.t", frame.with_columns(pl.lit(9).alias("v")))
        assert conn.execute("SELECT sum(v) FROM core.t").fetchone()[0] == 18


def test_non_lock_errors_are_not_retried(tmp_path):
    not_a_db = tmp_path / "junk.duckdb"
    not_a_db.write_bytes(b"this is not a duckdb file" * 100)
    started = time.monotonic()
    with pytest.raises(duckdb.Error):
        warehouse.open_connection(not_a_db, timeout_s=30)
    assert time.monotonic() - started < 5


def test_the_backend_is_chosen_once_from_the_setting(tmp_path):
    from pipeline.lib import lake, warehouse_choice

    file = warehouse_choice.choose(str(tmp_path / "w.duckdb"), None, lock_timeout_s=1)
    assert isinstance(file, warehouse.DuckDBFile) and not file.exists()
    on_lake = warehouse_choice.choose("ducklake:sqlite:/c.sqlite", str(tmp_path), lock_timeout_s=1)
    assert isinstance(on_lake, lake.DuckLake) and on_lake.exists()
    assert on_lake.target.data_path == f"{tmp_path}/"
    # Past the choice a lake is never a string again: a path is only ever a DuckDB file.
    with pytest.raises(TypeError, match="warehouse_choice"):
        warehouse.as_warehouse("ducklake:sqlite:/c.sqlite")
