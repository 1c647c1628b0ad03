"""The per-file ingestion asset against a real Dagster instance."""

from __future__ import annotations

from pipeline_tests.sales.conftest import connect, materialize_file


def test_upload_partition_loads_a_real_file(instance, land, superstore_csv):
    digest = land(superstore_csv, "superstore", instance=instance)
    result = materialize_file(instance, digest)
    assert result.success
    upload = result.asset_materializations_for_node("sales_file_ingest")[0]
    assert upload.metadata["status"].value == "loaded"
    assert upload.metadata["rows_loaded"].value == 10194
    with connect() as conn:
        assert conn.execute("SELECT count(*) FROM sales.transactions").fetchall() == [(10194,)]
