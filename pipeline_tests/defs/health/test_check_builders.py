"""The reusable check builders on a real instance and warehouse: each passes on good data and
fails on planted bad data."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import pytest

from pipeline.defs.shared.check_builders import (
    range_check,
    share_check,
    source_error_share_check,
    unique_check,
    volume_anomaly_checks,
)
from pipeline.defs.shared.resources import WarehouseResource, warehouse_resource
from pipeline.lib import warehouse
from pipeline.lib.raw_events import SourceFetch, record_fetch

ROWS = {"n": 10}


@dg.asset
def toy_events(warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.get_connection() as conn:
        conn.execute("CREATE SCHEMA IF NOT EXISTS toy")
        conn.execute(
            "CREATE OR REPLACE TABLE toy.events AS SELECT i AS id, i / 100.0 AS score,"
            " CASE WHEN i % 5 = 0 THEN 'local' ELSE 'openai' END AS scorer"
            f" FROM range({ROWS['n']}) t(i)"
        )
    return dg.MaterializeResult(metadata={"dagster/row_count": ROWS["n"]})


CHECKS = [
    volume_anomaly_checks([toy_events]),
    unique_check(toy_events, "toy.events", ["id"], blocking=True),
    range_check(toy_events, "toy.events", "score", minimum=0, maximum=1),
    share_check(
        toy_events, "toy.events", "scorer = 'local'", max_share=0.25, name="ai_fallback_share"
    ),
    source_error_share_check(toy_events, "news", max_share=0.5),
]


def run(instance, selection=None) -> dict[str, dg.AssetCheckEvaluation]:
    result = dg.materialize(
        [toy_events, *CHECKS],
        instance=instance,
        resources={"warehouse": warehouse_resource()},
        selection=selection,
        raise_on_error=False,
    )
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def only_checks():
    return dg.AssetSelection.all_asset_checks()


@pytest.fixture
def rows():
    ROWS["n"] = 10
    yield ROWS
    ROWS["n"] = 10


def test_all_pass_on_good_data(instance, rows):
    evaluations = run(instance)
    assert {name: e.passed for name, e in evaluations.items()} == {
        "volume_anomaly": True,
        "unique_id": True,
        "score_in_range": True,
        "ai_fallback_share": True,
        "source_error_share": True,
    }


def test_volume_anomaly_against_materialisation_history(instance, rows):
    for _ in range(4):
        assert run(instance)["volume_anomaly"].passed
    rows["n"] = 3
    dropped = run(instance)["volume_anomaly"]
    assert not dropped.passed
    assert dropped.severity == dg.AssetCheckSeverity.WARN
    assert "30% of the trailing median 10" in dropped.description


def test_table_checks_fail_on_planted_rows(instance, rows, warehouse_path):
    run(instance)
    with warehouse.connection(warehouse_path) as conn:
        conn.execute("INSERT INTO toy.events VALUES (1, 4.0, 'local'), (2, 0.5, 'local')")
    evaluations = run(instance, only_checks())
    assert not evaluations["unique_id"].passed
    assert evaluations["unique_id"].severity == dg.AssetCheckSeverity.ERROR
    assert not evaluations["score_in_range"].passed
    assert "1 of 12 score values" in evaluations["score_in_range"].description
    assert not evaluations["ai_fallback_share"].passed


def test_source_error_share_from_source_fetches(instance, rows, warehouse_path):
    now = dt.datetime.now(dt.UTC)
    with warehouse.connection(warehouse_path) as conn:
        for minutes, status in [(5, "error"), (4, "error"), (3, "ok")]:
            started = now - dt.timedelta(minutes=minutes)
            record_fetch(
                conn,
                SourceFetch("news", "newsapi", True, started.date(), started, status),
            )
    evaluation = run(instance)["source_error_share"]
    assert not evaluation.passed
    assert "2 of 3 news fetches failed" in evaluation.description


def test_missing_table_is_a_warning_not_an_error(instance, rows):
    evaluations = run(instance, only_checks())
    assert not evaluations["unique_id"].passed
    assert evaluations["unique_id"].severity == dg.AssetCheckSeverity.WARN
    assert "does not exist yet" in evaluations["unique_id"].description
