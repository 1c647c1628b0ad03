"""What keeps the lake near the file's speed: one attach per process, one commit per unit of
work, small writes inlined into the catalog, and compaction of small files."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import duckdb
import pytest

from pipeline.defs.shared.resources import warehouse_resource
from pipeline.lib import lake
from pipeline_tests.lake.conftest import BUCKET

DAYS = "INSERT INTO sales.dirty_days (datasource, order_date) SELECT 'ds', DATE '2024-01-01' + range::INTEGER FROM range(?, ?)"


def _snapshots(conn) -> int:
    return conn.execute(
        f"SELECT count(*) FROM ducklake_snapshots('{lake.CATALOG_ALIAS}')"
    ).fetchall()[0][0]


def _parquet_files(data: Path) -> list[Path]:
    return sorted(data.rglob("*.parquet"))


def test_the_lake_is_attached_once_per_process(sqlite_lake):
    with warehouse_resource().get_connection() as first:
        first.execute("SELECT 1").fetchall()
    attached = dict(lake._attached)
    with warehouse_resource().get_connection(read_only=True) as second:
        second.execute("SELECT count(*) FROM sales.dirty_days").fetchall()
    assert lake._attached == attached  # the same database, not a second attach


def test_statements_of_one_connection_make_one_snapshot(sqlite_lake):
    resource = warehouse_resource()
    with resource.get_connection() as conn:
        before = _snapshots(conn)
    with resource.get_connection() as conn:
        for start in range(0, 30, 10):
            conn.execute(DAYS, [start, start + 10])
    with resource.get_connection(read_only=True) as conn:
        assert _snapshots(conn) == before + 1
        assert conn.execute("SELECT count(*) FROM sales.dirty_days").fetchall()[0][0] == 30


def test_small_writes_are_inlined_and_compaction_writes_them_out_once(sqlite_lake):
    data = Path(os.environ["PIPELINE_LAKE_DATA"])
    resource = warehouse_resource()
    for start in range(0, 400, 100):
        with resource.get_connection() as conn:
            conn.execute(DAYS, [start, start + 100])
    # Four commits of 100 rows (DuckLake's own default inlines up to 10): all in the catalog.
    assert _parquet_files(data) == []

    done = resource.backend.compact()
    assert "merged" in done
    assert len([f for f in _parquet_files(data) if "dirty_days" in str(f)]) == 1
    with resource.get_connection(read_only=True) as conn:
        assert conn.execute("SELECT count(*) FROM sales.dirty_days").fetchall()[0][0] == 400


def test_a_connection_opened_inside_another_sees_its_writes(sqlite_lake):
    resource = warehouse_resource()
    with resource.get_connection() as outer:
        outer.execute(DAYS, [0, 5])
        with resource.get_connection(read_only=True) as inner:
            assert inner.execute("SELECT count(*) FROM sales.dirty_days").fetchall()[0][0] == 5
        outer.execute(DAYS, [5, 10])
    with resource.get_connection(read_only=True) as conn:
        assert conn.execute("SELECT count(*) FROM sales.dirty_days").fetchall()[0][0] == 10


def test_a_fresh_lake_gets_its_schema_in_one_commit(sqlite_lake):
    """Each commit is a catalog snapshot: every migration in one transaction makes one, after
    the lake's creation and the migrations table."""
    with warehouse_resource().get_connection(read_only=True) as conn:
        changes = conn.execute(
            f"SELECT changes FROM ducklake_snapshots('{lake.CATALOG_ALIAS}') ORDER BY snapshot_id"
        ).fetchall()
    assert len(changes) == 3, changes


def _replace_days(resource, rounds: int) -> None:
    """Rounds of delete + insert of 2,000 rows (over the inlining limit: Parquet files)."""
    for _ in range(rounds):
        with resource.get_connection() as conn:
            conn.execute("DELETE FROM sales.dirty_days")
            conn.execute(DAYS, [0, 2000])


def test_compaction_keeps_recent_snapshots_and_their_files(sqlite_lake):
    data = Path(os.environ["PIPELINE_LAKE_DATA"])
    resource = warehouse_resource()
    _replace_days(resource, 3)
    with resource.get_connection(read_only=True) as conn:
        snapshots = _snapshots(conn)
    files = _parquet_files(data)

    done = resource.backend.compact()  # the default keeps 7 days of snapshots
    assert "expired 0 snapshot(s) older than 7 day(s)" in done
    assert set(files) <= set(_parquet_files(data))
    with resource.get_connection(read_only=True) as conn:
        assert _snapshots(conn) >= snapshots


def test_compaction_expires_old_snapshots_and_deletes_only_their_files(sqlite_lake):
    data = Path(os.environ["PIPELINE_LAKE_DATA"])
    resource = warehouse_resource()
    _replace_days(resource, 4)
    before = _parquet_files(data)
    backend = resource.backend
    backend.snapshot_days = 0  # below what the setting allows: expire everything but the last

    done = backend.compact()
    assert "expired 0 " not in done, done
    after = _parquet_files(data)
    assert len(after) < len(before), done
    with resource.get_connection(read_only=True) as conn:
        # The one current when the compaction began, and the compaction's own.
        assert _snapshots(conn) <= 2
        assert conn.execute("SELECT count(*) FROM sales.dirty_days").fetchall()[0][0] == 2000
    assert "deleted 0 file(s) no snapshot uses" not in done


def test_compaction_deletes_orphaned_files_only_once_a_day_old(sqlite_lake):
    data = Path(os.environ["PIPELINE_LAKE_DATA"])
    resource = warehouse_resource()
    _replace_days(resource, 1)
    folder = _parquet_files(data)[0].parent
    # What a write killed before its commit leaves behind: files the catalog never named.
    old, young = folder / "ducklake-killed-old.parquet", folder / "ducklake-killed-young.parquet"
    for orphan in (old, young):
        with resource.get_connection(read_only=True) as conn:
            conn.execute(f"COPY (SELECT 1 AS x) TO '{orphan}' (FORMAT parquet)")
    two_days_ago = time.time() - 2 * 86400
    os.utime(old, (two_days_ago, two_days_ago))

    done = resource.backend.compact()
    assert "and 1 orphaned file(s)" in done, done
    assert not old.exists()
    assert young.exists()  # may be a write still in progress
    with resource.get_connection(read_only=True) as conn:
        assert conn.execute("SELECT count(*) FROM sales.dirty_days").fetchall()[0][0] == 2000


def test_the_snapshot_retention_is_read_where_the_lake_is_chosen(sqlite_lake, monkeypatch):
    assert "snapshots kept 7 day(s)" in warehouse_resource().describe()
    monkeypatch.setenv("PIPELINE_LAKE_SNAPSHOT_DAYS", "1.5")
    assert "snapshots kept 1.5 day(s)" in warehouse_resource().describe()
    # Shorter could delete the files of a snapshot a query in another process still reads.
    monkeypatch.setenv("PIPELINE_LAKE_SNAPSHOT_DAYS", "0.5")
    with (
        pytest.raises(
            ValueError, match=r"PIPELINE_LAKE_SNAPSHOT_DAYS: '0\.5' is not a number of days >= 1"
        ),
        warehouse_resource().get_connection(),
    ):
        pass
    # A bad value stops every process that opens the lake, not only the nightly compaction.
    monkeypatch.setenv("PIPELINE_LAKE_SNAPSHOT_DAYS", "a week")
    with (
        pytest.raises(ValueError, match="PIPELINE_LAKE_SNAPSHOT_DAYS: 'a week'"),
        warehouse_resource().get_connection(),
    ):
        pass


@pytest.mark.server
def test_compaction_deletes_expired_files_from_s3(postgres_lake, s3_server):
    def objects() -> set[str]:
        """The table's files (the flush may write another table's inlined rows out)."""
        listed = s3_server.client().list_objects_v2(Bucket=BUCKET)
        return {item["Key"] for item in listed.get("Contents", []) if "dirty_days" in item["Key"]}

    resource = warehouse_resource()
    _replace_days(resource, 3)
    before = objects()
    backend = resource.backend
    backend.snapshot_days = 0  # below what the setting allows: expire everything but the last
    done = backend.compact()
    assert objects() < before, done
    with resource.get_connection(read_only=True) as conn:
        assert _snapshots(conn) <= 2
        assert conn.execute("SELECT count(*) FROM sales.dirty_days").fetchall()[0][0] == 2000


@pytest.mark.server
@pytest.mark.parametrize("snapshot_days", [1.0, 0.0], ids=["kept", "expired"])
def test_a_query_that_began_before_the_compaction_keeps_its_files(
    postgres_lake, snapshot_days, tmp_path, monkeypatch
):
    """Why PIPELINE_LAKE_SNAPSHOT_DAYS has a floor: a transaction reads the files of the
    snapshot it began on, and expiring that snapshot deletes them under it. (Data in a folder:
    DuckDB may still answer from its cache of S3 reads.)"""
    monkeypatch.setenv("PIPELINE_LAKE_DATA", str(tmp_path / "lake-data"))
    resource = warehouse_resource()
    _replace_days(resource, 1)

    def replace_and_compact():  # another thread: its connection is not nested in the reader's
        _replace_days(resource, 1)  # every line rewritten: the reader's files are only its own
        backend = resource.backend
        backend.snapshot_days = snapshot_days
        backend.compact()

    with resource.get_connection(read_only=True) as reader:
        reader.execute("BEGIN")
        # Not count(*), which the catalog's statistics answer without reading a file.
        count = "SELECT count(DISTINCT order_date) FROM sales.dirty_days"
        assert reader.execute(count).fetchall() == [(2000,)]
        worker = threading.Thread(target=replace_and_compact)
        worker.start()
        worker.join()
        if snapshot_days:
            assert reader.execute(count).fetchall() == [(2000,)]
        else:
            with pytest.raises(duckdb.IOException, match="parquet"):
                reader.execute(count).fetchall()
        reader.execute("ROLLBACK")
