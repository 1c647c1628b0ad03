"""A backup's files are checked against the SHA-256 its manifest recorded before anything is
restored: a changed, missing or extra file stops the restore, named in one line, and the
warehouse keeps every row and value (issue 22, item 3)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline.cli import main
from pipeline.lib import backup as backups
from pipeline.lib import warehouse
from pipeline_tests.ops.test_backup import OLD_WAREHOUSE_BACKUP, snapshot

SALES_FILE = "sales_transactions.parquet"


@pytest.fixture
def sales_warehouse(warehouse_path: Path) -> Path:
    """3,000 sales lines with varied costs: a parquet file big enough to damage in its middle."""
    with warehouse.connection(warehouse_path) as conn:
        conn.execute(
            "INSERT INTO sales.transactions (datasource, order_id, line, order_date, branch,"
            " product_line, quantity, unit_price, revenue, cost, source_file, file_hash,"
            " row_number, loaded_at)"
            " SELECT 'shop', 'O' || i, 1, DATE '2026-01-01' + (i % 90)::INTEGER, 'B' || (i % 7),"
            " 'L' || (i % 5), 1 + i % 4, 10 + (i * 37 % 1000) / 10, 10 + (i * 37 % 1000) / 10,"
            " (i * 7919 % 10007) / 100, 'f.csv', 'h', i, TIMESTAMPTZ '2026-03-01 00:00:00+00'"
            " FROM range(3000) t(i)"
        )
    return warehouse_path


def zero_bytes_in_the_middle(path: Path, count: int = 200) -> None:
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + count] = bytes(count)
    path.write_bytes(bytes(data))


def restore_refused(source: str, *extra: str):
    result = CliRunner().invoke(main, ["restore", source, "--force", *extra])
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    return lines[0]


def test_the_manifest_records_a_sha256_of_every_file(sales_warehouse, tmp_path):
    manifest = backups.backup(sales_warehouse, tmp_path / "backup")
    files = {f.name for f in (tmp_path / "backup").iterdir()} - {"manifest.json"}
    assert set(manifest.files) == files and {"load.sql", "schema.sql", SALES_FILE} <= files
    assert all(len(digest) == 64 for digest in manifest.files.values())
    written = json.loads((tmp_path / "backup" / "manifest.json").read_text())
    assert written["files"] == manifest.files


def test_zeroed_bytes_in_a_backup_file_stop_the_restore_naming_the_file(sales_warehouse, tmp_path):
    before = snapshot(sales_warehouse)
    backups.backup(sales_warehouse, tmp_path / "backup")
    zero_bytes_in_the_middle(tmp_path / "backup" / SALES_FILE)

    line = restore_refused(str(tmp_path / "backup"))

    assert f"table sales.transactions, file {SALES_FILE}" in line
    assert "SHA-256" in line
    assert snapshot(sales_warehouse) == before
    assert not sales_warehouse.with_name(sales_warehouse.name + ".restoring").exists()


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        (lambda b: (b / "schema.sql").write_text("-- nothing\n"), "file schema.sql does not match"),
        (lambda b: (b / SALES_FILE).unlink(), f"file {SALES_FILE} is missing"),
        (lambda b: (b / "extra.parquet").write_bytes(b"PAR1"), "does not list: extra.parquet"),
    ],
    ids=["sql-changed", "missing", "extra"],
)
def test_a_changed_missing_or_extra_file_is_refused(sales_warehouse, tmp_path, damage, expected):
    before = snapshot(sales_warehouse)
    backups.backup(sales_warehouse, tmp_path / "backup")
    damage(tmp_path / "backup")
    assert expected in restore_refused(str(tmp_path / "backup"))
    assert snapshot(sales_warehouse) == before


def test_a_backup_without_checksums_needs_the_unverified_flag(warehouse_path, tmp_path):
    source = tmp_path / "old"
    shutil.copytree(OLD_WAREHOUSE_BACKUP, source)
    line = restore_refused(str(source))
    assert "no checksums" in line and "--unverified" in line
    assert not warehouse_path.exists()

    restored = CliRunner().invoke(main, ["restore", str(source), "--force", "--unverified"])
    assert restored.exit_code == 0, restored.output
    with warehouse.connection(warehouse_path, read_only=True) as conn:
        assert warehouse.scalar(conn, "SELECT count(*) FROM raw.events") == 3


def test_the_unverified_flag_does_not_excuse_a_damaged_file(sales_warehouse, tmp_path):
    backups.backup(sales_warehouse, tmp_path / "backup")
    zero_bytes_in_the_middle(tmp_path / "backup" / SALES_FILE)
    assert SALES_FILE in restore_refused(str(tmp_path / "backup"), "--unverified")


def test_a_damaged_object_in_an_s3_backup_is_refused(sales_warehouse, tmp_path, s3_server):
    client = s3_server.client()
    client.create_bucket(Bucket="exports")
    before = snapshot(sales_warehouse)
    url = "s3://exports/warehouse/2026-03-02"
    assert CliRunner().invoke(main, ["backup", url]).exit_code == 0
    key = f"warehouse/2026-03-02/{SALES_FILE}"
    body = tmp_path / SALES_FILE
    body.write_bytes(client.get_object(Bucket="exports", Key=key)["Body"].read())
    zero_bytes_in_the_middle(body)
    client.put_object(Bucket="exports", Key=key, Body=body.read_bytes())

    line = restore_refused(url)

    assert line.startswith(f"Error: backup {url} is damaged")
    assert f"file {SALES_FILE} does not match" in line
    assert snapshot(sales_warehouse) == before
