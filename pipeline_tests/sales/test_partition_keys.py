"""sales_files partition keys: the file's name and a short content hash, valid for Dagster,
and the full-hash keys of instances from before still work."""

from __future__ import annotations

import time

import dagster as dg
import pytest

from pipeline.definitions import defs
from pipeline.defs.sales.recovery import file_states, landed_files
from pipeline.lib.hashing import file_hash
from pipeline.lib.sales.landing import upload_key
from pipeline.lib.sales.partition_keys import hash_prefix, names_file, partition_key
from pipeline.lib.sales.process import registered_partition
from pipeline_tests.sales.conftest import connect
from pipeline_tests.sales.test_crash_recovery import nothing_job
from pipeline_tests.sales.test_sensor import settle, tick

DIGEST = "3f9a2c1d4e5f" + "0" * 52


def test_the_key_is_the_name_and_twelve_hash_digits():
    key = partition_key("orders_2026q1.csv", DIGEST)
    assert key == "orders_2026q1.csv-3f9a2c1d4e5f"
    assert hash_prefix(key) == hash_prefix(DIGEST) == "3f9a2c1d4e5f"
    assert names_file(key, "orders_2026q1.csv", DIGEST)
    assert names_file(DIGEST, "orders_2026q1.csv", DIGEST)  # the older full-hash form
    assert not names_file(key, "other.csv", DIGEST)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Q1 sales, final [v2].csv", "Q1_sales_final_v2_.csv"),
        ("ventes_été.csv", "ventes_été.csv"),
        ("a|b...csv", "a_b.csv"),
        ("tab\there\n.csv", "tab_here_.csv"),
    ],
)
def test_names_dagster_refuses_are_spelled_safely(name, expected):
    key = partition_key(name, DIGEST)
    assert key == f"{expected}-3f9a2c1d4e5f"
    # What Dagster refuses in a dynamic partition key, or in its multi-partition/range syntax.
    assert "..." not in key and not set(key) & {"|", ",", "[", "]", "\t", "\n", "\r", "\0"}
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("sales_files", [key])
        assert instance.get_dynamic_partitions("sales_files") == [key]


def test_files_with_the_same_name_and_other_bytes_get_their_own_partition(
    instance, landing, supermarket_csv, superstore_csv
):
    for source, datasource in ((supermarket_csv, "north"), (superstore_csv, "south")):
        landing.put_file(source, upload_key(datasource, "orders.csv"))
        settle(landing.root / upload_key(datasource, "orders.csv"))
    result = tick(instance, defs())
    keys = sorted(r.partition_key for r in result.run_requests)
    assert len(set(keys)) == 2 and all(k.startswith("orders.csv-") for k in keys)
    assert set(keys) == {
        partition_key("orders.csv", file_hash(supermarket_csv)),
        partition_key("orders.csv", file_hash(superstore_csv)),
    }


def test_a_full_hash_partition_from_an_older_instance_still_works(
    instance, landing, land, superstore_csv
):
    land(superstore_csv, "store")
    digest = file_hash(superstore_csv)
    instance.add_dynamic_partitions("sales_files", [digest])
    settle(landing.root / upload_key("store", superstore_csv.name))

    # The sensor (a reset cursor: every file is looked at again) knows the content.
    loaded = defs()
    result = tick(instance, loaded)
    assert not result.run_requests and not result.dynamic_partitions_requests

    # A failed run under the old key counts for the file, and recovery retries under that key.
    run = instance.create_run_for_job(nothing_job, tags={"dagster/partition": digest})
    instance.report_run_failed(run, "boom")
    with connect() as conn:
        [state] = file_states(instance, landed_files(conn), time.time())
    assert state.attempts == 1 and state.retry_due and state.partition_key == digest

    # The old key still names the file and processes it.
    with connect() as conn:
        assert registered_partition(conn, digest)["file_name"] == superstore_csv.name
    assert dg.materialize(
        list(loaded.assets),
        selection=["sales_uploads", "sales_transactions", "sales_rejects"],
        partition_key=digest,
        instance=instance,
        resources=loaded.resources,
    ).success
    with connect() as conn:
        assert conn.execute("SELECT status FROM sales.files").fetchall() == [("loaded",)]
