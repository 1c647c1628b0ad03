"""S3 landing zone end to end on a loopback S3 API (moto ThreadedMotoServer) through the
project's boto3 client (pipeline.lib.s3): sensor -> partition -> load; a bad file moves to
rejected/ in the bucket."""

from __future__ import annotations

import json

import dagster as dg
import pytest

from pipeline.definitions import defs
from pipeline_tests.sales.conftest import connect, materialize_file

pytestmark = pytest.mark.server


@pytest.fixture
def s3(pipeline_env, s3_server, monkeypatch):
    monkeypatch.setenv("PIPELINE_LANDING", "s3://sales-bucket/inbox")
    client = s3_server.client()
    client.create_bucket(Bucket="sales-bucket")
    return client


def keys(client):
    listed = client.list_objects_v2(Bucket="sales-bucket").get("Contents", [])
    return sorted(o["Key"] for o in listed)


def test_s3_landing_zone_end_to_end(instance, s3, supermarket_csv, tmp_path):
    s3.upload_file(str(supermarket_csv), "sales-bucket", "inbox/sales/market/supermarket_sales.csv")
    s3.put_object(Bucket="sales-bucket", Key="inbox/sales/market/bad.csv", Body=b"a,b\n1,2\n")
    s3.put_object(Bucket="sales-bucket", Key="inbox/elsewhere/ignored.csv", Body=b"x")
    loaded = defs()
    sensor = loaded.resolve_sensor_def("sales_landing_sensor")
    with dg.build_sensor_context(
        instance=instance, definitions=loaded, resources=loaded.resources
    ) as context:
        result = sensor(context)
    assert len(result.run_requests) == 2
    instance.add_dynamic_partitions(
        "sales_files", list(result.dynamic_partitions_requests[0].partition_keys)
    )
    for request in result.run_requests:
        assert materialize_file(instance, request.partition_key, loaded).success
    with connect() as conn:
        assert conn.execute(
            "SELECT file_name, status, rows_loaded FROM sales.files ORDER BY 1"
        ).fetchall() == [("bad.csv", "rejected", 0), ("supermarket_sales.csv", "loaded", 1000)]
    assert keys(s3) == [
        "inbox/elsewhere/ignored.csv",
        "inbox/rejected/market/bad.csv",
        "inbox/rejected/market/bad.csv.errors.json",
        "inbox/sales/market/supermarket_sales.csv",
        "inbox/sales/market/supermarket_sales.csv.spec.yaml",
    ]
    report = json.loads(
        s3.get_object(Bucket="sales-bucket", Key="inbox/rejected/market/bad.csv.errors.json")[
            "Body"
        ].read()
    )
    assert "missing required columns" in report["reason"]
