"""The sales file size limit (PIPELINE_MAX_FILE_MB, default 500): enforced before `pipeline
ingest` copies a file in and before the sensor reads one already landed, local or S3, with a
one-line reason (issue 22 item 5). A limit of 0.1 MB stands in for 500 MB here."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from pipeline.cli import main
from pipeline.definitions import defs
from pipeline.lib.sales.landing import LocalLanding, upload_key
from pipeline.lib.settings import DEFAULT_MAX_FILE_MB, settings
from pipeline_tests.sales.conftest import connect, process_landed
from pipeline_tests.sales.test_sensor import settle, tick

LIMIT = "over the 0.1 MB limit for sales files (PIPELINE_MAX_FILE_MB)"


@pytest.fixture
def small_limit(pipeline_env, monkeypatch):
    monkeypatch.setenv("PIPELINE_MAX_FILE_MB", "0.1")  # the 127 KB supermarket file is over it


def registered_files() -> int:
    with connect() as conn:
        return conn.execute("SELECT count(*) FROM sales.files").fetchone()[0]


def test_the_limit_defaults_to_500_mb_and_a_bad_value_is_one_clear_error(monkeypatch):
    monkeypatch.delenv("PIPELINE_MAX_FILE_MB", raising=False)
    assert DEFAULT_MAX_FILE_MB == 500 and settings().max_file_bytes == 500 * 2**20
    for bad in ("lots", "0", "-1", "inf", "nan"):
        monkeypatch.setenv("PIPELINE_MAX_FILE_MB", bad)
        with pytest.raises(ValueError, match=r"PIPELINE_MAX_FILE_MB: .* is not a positive number"):
            settings()


def test_ingest_refuses_a_file_over_the_limit_before_copying(small_limit, supermarket_csv):
    result = CliRunner().invoke(main, ["ingest", str(supermarket_csv), "--datasource", "shop"])
    assert result.exit_code == 1
    [line] = result.output.strip().splitlines()
    assert line == f"Error: not landed: supermarket_sales.csv: 0.12 MB is {LIMIT}; split the file"
    landing = settings().data_dir / "landing"
    assert not landing.exists() or list(landing.rglob("*")) == []  # nothing copied in


def test_ingest_refuses_a_file_name_with_a_control_character(pipeline_env, tmp_path):
    odd = tmp_path / "two\nlines.csv"
    odd.write_text("Order ID,Date,Qty,Price\nA1,2024-05-01,1,2.5\n")
    result = CliRunner().invoke(main, ["ingest", str(odd), "--datasource", "shop"])
    assert result.exit_code == 1
    [line] = result.output.strip().splitlines()
    assert "'two\\nlines.csv' holds a control character" in line
    assert not (settings().data_dir / "landing/sales").exists()


def test_the_sensor_refuses_a_landed_file_over_the_limit_unread(
    small_limit, instance, landing, supermarket_csv, tmp_path
):
    small = tmp_path / "small.csv"
    small.write_text("Order ID,Date,Qty,Price\nA1,2024-05-01,1,2.5\n")
    for source in (supermarket_csv, small):
        landing.put_file(source, upload_key("shop", source.name))
        settle(landing.root / upload_key("shop", source.name))

    result = tick(instance, defs())

    assert [r.tags["sales/file"] for r in result.run_requests] == ["small.csv"]
    moved = landing.root / "rejected/shop/supermarket_sales.csv"
    assert moved.read_bytes() == supermarket_csv.read_bytes()  # nothing lost
    report = json.loads((moved.parent / "supermarket_sales.csv.errors.json").read_text())
    assert LIMIT in report["reason"] and "\n" not in report["reason"]
    assert report["nothing_loaded"] is True and report["size_bytes"] == moved.stat().st_size
    assert registered_files() == 1


def test_a_run_refuses_a_file_that_grew_over_the_limit_after_landing(
    land, landing, supermarket_csv, monkeypatch
):
    partition = land(supermarket_csv, "shop")
    monkeypatch.setenv("PIPELINE_MAX_FILE_MB", "0.1")
    outcome = process_landed(partition, LocalLanding(landing.root))
    assert (outcome.status, outcome.rows_loaded) == ("rejected", 0)
    assert LIMIT in outcome.reason
    with connect() as conn:
        assert conn.execute("SELECT count(*) FROM sales.transactions").fetchone()[0] == 0


@pytest.mark.server
def test_an_s3_object_over_the_limit_is_refused_without_downloading(
    small_limit, instance, s3_server, monkeypatch, supermarket_csv
):
    monkeypatch.setenv("PIPELINE_LANDING", "s3://size-limit/inbox")
    client = s3_server.client()
    client.create_bucket(Bucket="size-limit")
    client.upload_file(str(supermarket_csv), "size-limit", "inbox/sales/market/big.csv")

    result = tick(instance, defs())

    assert not result.run_requests
    listed = client.list_objects_v2(Bucket="size-limit")["Contents"]
    assert sorted(o["Key"] for o in listed) == [
        "inbox/rejected/market/big.csv",
        "inbox/rejected/market/big.csv.errors.json",
    ]
    body = client.get_object(Bucket="size-limit", Key="inbox/rejected/market/big.csv.errors.json")
    assert LIMIT in json.loads(body["Body"].read())["reason"]
    assert registered_files() == 0
