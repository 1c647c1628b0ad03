"""`pipeline ingest FILE --datasource NAME [--wait]` per CONTRACT.md."""

from __future__ import annotations

import json

import dagster as dg
from click.testing import CliRunner

from pipeline.cli import main
from pipeline.lib.sales.landing import open_landing
from pipeline.lib.settings import settings
from pipeline.web.upload_status import upload_states
from pipeline_tests.sales.conftest import connect


def ingest(*args):
    return CliRunner().invoke(main, ["ingest", *map(str, args)], catch_exceptions=False)


def test_ingest_wait_loads_and_same_bytes_change_nothing(pipeline_env, supermarket_csv):
    result = ingest(supermarket_csv, "--datasource", "market", "--wait")
    assert result.exit_code == 0, result.output
    assert "loaded 1,000 rows from supermarket_sales.csv" in result.output
    assert (settings().data_dir / "landing/sales/market/supermarket_sales.csv").exists()
    with connect() as conn:
        assert conn.execute("SELECT count(*) FROM analytics.sales_daily").fetchall()[0][0] > 0

    again = ingest(supermarket_csv, "--datasource", "other", "--wait", "--json")
    assert again.exit_code == 0
    report = json.loads(again.output)
    assert report["unchanged"] is True and report["status"] == "loaded"
    with connect() as conn:
        assert conn.execute("SELECT count(*) FROM sales.transactions").fetchall() == [(1000,)]
    assert not (settings().data_dir / "landing/sales/other").exists()
    # The copy made while hashing was discarded, and nothing else is left half-landed.
    assert list((settings().data_dir / "landing/.incoming").iterdir()) == []


def test_ingest_wait_is_one_recorded_run_with_the_analytics(pipeline_env, supermarket_csv):
    result = ingest(supermarket_csv, "--datasource", "market", "--wait", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)  # Dagster's run log goes to stderr
    assert len(report["runs"]) == 1 and report["failed_runs"] == []
    with dg.DagsterInstance.get() as instance:
        [run] = instance.get_runs()
        assert run.run_id == report["runs"][0] and run.tags["pipeline/trigger"] == "ingest"
        assert run.tags["dagster/partition"] == report["partition"]
        assert run.tags["sales/datasource"] == "market"  # as the landing sensor tags its runs
        assert run.tags["sales/file"] == "supermarket_sales.csv"
        assert report["partition"] == f"supermarket_sales.csv-{report['file_hash'][:12]}"
        records = instance.get_records_for_run(
            run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
        ).records
        assert {r.event_log_entry.asset_materialization.asset_key.to_user_string()
                for r in records} >= {"sales_uploads", "sales_transactions", "sales_daily",
                                      "sales_overview", "profitability", "dashboard"}  # fmt: skip
        checks = instance.get_records_for_run(
            run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
        ).records
        assert {"sales_lines_unique", "sales_rejects_share", "dashboard_page_schema"} <= {
            r.event_log_entry.dagster_event.event_specific_data.check_name for r in checks
        }


def test_a_file_ingested_from_the_cli_is_loaded_on_the_team_s_upload_page(
    pipeline_env, supermarket_csv
):
    result = ingest(supermarket_csv, "--datasource", "acme.market", "--wait")
    assert result.exit_code == 0, result.output
    with dg.DagsterInstance.get() as instance:
        [state] = upload_states("acme", instance, open_landing())
    assert (state.datasource, state.file, state.state) == (
        "market",
        "supermarket_sales.csv",
        "loaded",
    )
    assert state.rows_loaded == 1000


def test_ingest_wait_exits_non_zero_on_a_rejected_file(pipeline_env, tmp_path):
    junk = tmp_path / "junk.csv"
    junk.write_bytes(bytes(range(256)) * 40)
    result = ingest(junk, "--datasource", "market", "--wait")
    assert result.exit_code == 1
    [verdict] = [line for line in result.stdout.splitlines() if line.startswith("REJECTED")]
    # The file is named once, then the reason.
    assert verdict.startswith("REJECTED junk.csv: binary content") and verdict.count("junk") == 1
    rejected = settings().data_dir / "landing/rejected/market"
    assert (rejected / "junk.csv").exists() and (rejected / "junk.csv.errors.json").exists()


def test_ingest_without_wait_only_lands(pipeline_env, superstore_csv):
    result = ingest(superstore_csv, "--datasource", "store")
    assert result.exit_code == 0 and "sales_landing_sensor" in result.output
    assert (settings().data_dir / "landing/sales/store/sample_superstore.csv").exists()


def test_the_same_bytes_landed_twice_under_another_name_are_one_partition(
    pipeline_env, superstore_csv, tmp_path
):
    assert ingest(superstore_csv, "--datasource", "store").exit_code == 0
    renamed = tmp_path / "store_export.csv"
    renamed.write_bytes(superstore_csv.read_bytes())
    result = ingest(renamed, "--datasource", "store", "--wait", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    # The first name the bytes landed under names the partition.
    assert report["partition"].startswith("sample_superstore.csv-")
    with dg.DagsterInstance.get() as instance:
        assert instance.get_dynamic_partitions("sales_files") == [report["partition"]]


def test_ingest_refuses_unknown_types(pipeline_env, tmp_path):
    doc = tmp_path / "notes.docx"
    doc.write_text("x")
    assert ingest(doc, "--datasource", "store").exit_code == 2
