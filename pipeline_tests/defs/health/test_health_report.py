"""health_report on a real instance and warehouse: per-asset and per-source rows, score and
metadata; a second report replaces the first (no growing row counts)."""

from __future__ import annotations

import datetime as dt

import dagster as dg

from pipeline.defs.health.assets import ASSET_GRAPH_RESOURCE, health_report
from pipeline.lib import warehouse
from pipeline.lib.raw_events import SourceFetch, record_fetch
from pipeline_tests.defs.health.toy_defs import plant, record_tick, toy_definitions


def test_health_report_summarises_assets_and_sources(instance, warehouse_path):
    toy = toy_definitions()
    everything = [*toy.assets, *toy.asset_checks, health_report]
    # What the in-process runner does: hand the code location's graph over as a resource.
    resources = {**toy.resources, ASSET_GRAPH_RESOURCE: toy.resolve_asset_graph()}
    assert dg.materialize(everything, instance=instance, resources=resources).success
    started = dt.datetime.now(dt.UTC)
    with warehouse.connection(warehouse_path) as conn:
        record_fetch(conn, SourceFetch("news", "newsapi", True, started.date(), started, "ok"))
    plant(warehouse_path, "INSERT INTO toy.scores VALUES (1, 0.4)")
    dg.materialize(
        everything,
        instance=instance,
        resources=resources,
        selection=dg.AssetSelection.all_asset_checks(),
    )

    for _ in range(2):
        result = dg.materialize(
            everything, instance=instance, resources=resources, selection=[health_report.key]
        )
    metadata = result.asset_materializations_for_node("health_report")[0].metadata
    assert metadata["assets_healthy"].value == 1
    assert metadata["assets_degraded"].value == 1
    assert metadata["score"].value == round((60 * 3 + 100 * 2 + 100) / 6)
    assert "toy_scores_unique" in metadata["problems"].value
    assert metadata["dagster/row_count"].value == 2

    with warehouse.connection(warehouse_path, read_only=True) as conn:
        rows = dict(conn.execute("SELECT asset, status FROM health.asset_health").fetchall())
        sources = conn.execute("SELECT provider, status FROM health.source_health").fetchall()
        summary = conn.execute("SELECT score, exit_code, degraded FROM health.summary").fetchall()
    assert rows == {"toy_scores": "degraded", "toy_summary": "healthy"}
    assert sources == [("newsapi", "healthy")]
    assert summary == [(metadata["score"].value, 1, 1)]


def test_health_report_is_requested_once_an_hour(instance):
    from pipeline.defs.shared.resources import warehouse_resource

    defs = dg.Definitions(
        assets=[health_report],
        resources={"warehouse": warehouse_resource(), ASSET_GRAPH_RESOURCE: None},
    )
    start = dt.datetime(2026, 11, 22, 10, 30, tzinfo=dt.UTC)
    requested, cursor = [], None
    for minutes in (0, 31, 40, 95):
        result = dg.evaluate_automation_conditions(
            defs=defs,
            instance=instance,
            evaluation_time=start + dt.timedelta(minutes=minutes),
            cursor=cursor,
        )
        requested.append(result.total_requested)
        cursor = result.cursor
    assert requested == [0, 1, 0, 1]


def test_health_report_counts_failing_ticks_as_pipeline_health_does(instance, warehouse_path):
    from pipeline.defs.shared.dagster_private import TickStatus

    toy = toy_definitions()
    everything = [*toy.assets, *toy.asset_checks, health_report]
    resources = {**toy.resources, ASSET_GRAPH_RESOURCE: toy.resolve_asset_graph()}
    assert dg.materialize(everything, instance=instance, resources=resources).success
    record_tick(instance, "landing_sensor", TickStatus.FAILURE, "S3 endpoint unreachable")

    result = dg.materialize(
        everything, instance=instance, resources=resources, selection=[health_report.key]
    )
    metadata = result.asset_materializations_for_node("health_report")[0].metadata
    # Every asset is healthy, but a failing sensor is a warning for both views.
    assert metadata["assets_healthy"].value == 2
    assert metadata["failing_ticks"].value == 1
    assert metadata["exit_code"].value == 1
    with warehouse.connection(warehouse_path, read_only=True) as conn:
        assert conn.execute("SELECT exit_code FROM health.summary").fetchall() == [(1,)]
