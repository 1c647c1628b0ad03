"""`pipeline demo` on the DuckLake backend (catalog in PostgreSQL, data on S3), chosen by
configuration only: every run and ERROR check passes and every table ends with the same rows
as the same demo on the embedded DuckDB file."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from pipeline.cli import main
from pipeline.defs.shared.resources import warehouse_resource
from pipeline.lib import warehouse
from pipeline_tests.test_demo import COUNTED_TABLES, demo


def _counts() -> dict[str, int]:
    with warehouse_resource().get_connection(read_only=True) as conn:
        return {t: warehouse.scalar(conn, f"SELECT count(*) FROM {t}") for t in COUNTED_TABLES}


@pytest.mark.slow
@pytest.mark.server
def test_demo_on_the_lake_matches_the_embedded_warehouse(
    pipeline_env, tmp_path, postgres_url, s3_server, monkeypatch
):
    first = demo()
    assert first["ok"]
    embedded = _counts()
    assert embedded["sales.transactions"] > 0 and embedded["core.grants"] > 0

    for name in ("PIPELINE_LANDING", "PIPELINE_OUTBOX"):
        monkeypatch.setenv(name, str(tmp_path / "lake_run" / name.lower()))
    home = tmp_path / "lake_home"
    home.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("PIPELINE_WAREHOUSE", f"ducklake:postgres:{postgres_url}")
    monkeypatch.setenv("PIPELINE_LAKE_DATA", "s3://lake/data/")
    on_lake = demo()
    assert on_lake["ok"], on_lake["failed_runs"] or on_lake["failed_error_checks"]
    assert warehouse_resource().describe().startswith("ducklake:postgres:")
    assert _counts() == embedded
    # `pipeline health` reads the lake's source fetches through the same resource.
    health = CliRunner().invoke(main, ["health", "--json"])
    assert health.exit_code in (0, 1), health.output
    assert json.loads(health.stdout)["sources"]
    # Data files really went to S3.
    listed = s3_server.client().list_objects_v2(Bucket="lake", Prefix="data/")
    assert listed.get("KeyCount", 0) > 0
