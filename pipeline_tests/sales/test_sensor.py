"""The landing-zone sensor evaluated against a real instance."""

from __future__ import annotations

import json
import os
import time

import dagster as dg

from pipeline.definitions import defs
from pipeline.defs.sales.sensors import SETTLE_SECONDS
from pipeline.lib.hashing import file_hash
from pipeline.lib.sales.landing import upload_key
from pipeline_tests.sales.conftest import connect, materialize_file


def tick(instance, loaded, cursor=None):
    sensor = loaded.resolve_sensor_def("sales_landing_sensor")
    with dg.build_sensor_context(
        instance=instance, definitions=loaded, resources=loaded.resources, cursor=cursor
    ) as context:
        return sensor(context)


def settle(path):
    past = time.time() - 60
    os.utime(path, (past, past))


def test_sensor_adds_one_partition_per_new_content(
    instance, landing, supermarket_csv, superstore_csv
):
    loaded = defs()
    sensor = loaded.resolve_sensor_def("sales_landing_sensor")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    for source, datasource in ((supermarket_csv, "market"), (superstore_csv, "store")):
        landing.put_file(source, upload_key(datasource, source.name))
        settle(landing.root / upload_key(datasource, source.name))
    (landing.root / "sales/market/notes.txt.bak").write_text("ignored")

    result = tick(instance, loaded)
    # Keys a person recognises: the file's name and the start of its content hash.
    keys = {
        f"supermarket_sales.csv-{file_hash(supermarket_csv)[:12]}",
        f"sample_superstore.csv-{file_hash(superstore_csv)[:12]}",
    }
    assert {r.partition_key for r in result.run_requests} == keys
    [add] = result.dynamic_partitions_requests
    assert add.partitions_def_name == "sales_files" and set(add.partition_keys) == keys
    with connect() as conn:
        assert conn.execute("SELECT datasource, status FROM sales.files ORDER BY 1").fetchall() == [
            ("market", "landed"),
            ("store", "landed"),
        ]
    instance.add_dynamic_partitions("sales_files", list(add.partition_keys))

    # Nothing new: no runs. A renamed copy has the same content: still nothing new.
    again = tick(instance, loaded, result.cursor)
    assert not again.run_requests
    landing.put_file(supermarket_csv, upload_key("market", "renamed copy.csv"))
    settle(landing.root / upload_key("market", "renamed copy.csv"))
    renamed = tick(instance, loaded, again.cursor)
    assert not renamed.run_requests and not renamed.dynamic_partitions_requests
    assert "sales/market/renamed copy.csv" in json.loads(renamed.cursor)["files"]

    # A run requested by the sensor loads the file.
    request = next(r for r in result.run_requests if r.tags["sales/file"] == superstore_csv.name)
    assert materialize_file(instance, request.partition_key, loaded, request.tags).success
    with connect() as conn:
        assert conn.execute("SELECT count(*) FROM sales.transactions").fetchall() == [(10194,)]


def test_sensor_waits_for_a_file_still_being_written(instance, landing, supermarket_csv):
    loaded = defs()
    landing.put_file(supermarket_csv, upload_key("market", "fresh.csv"))
    just_now = time.time()
    os.utime(landing.root / "sales/market/fresh.csv", (just_now, just_now))
    result = tick(instance, loaded)
    if time.time() - just_now < SETTLE_SECONDS:  # a slow machine may take longer to load defs
        assert not result.run_requests
        assert "sales/market/fresh.csv" not in json.loads(result.cursor)["files"]
