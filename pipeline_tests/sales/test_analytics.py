"""Analytics after loads; a late file recomputes exactly its days."""

from __future__ import annotations

import dagster as dg
import pytest

from pipeline.definitions import defs
from pipeline.defs.sales.operations import process_now
from pipeline_tests.sales.conftest import connect, materialize_file

ANALYTICS = [
    "sales_daily",
    "sales_overview",
    "product_performance",
    "branch_performance",
    "profitability",
]


def query(sql, params=None):
    with connect() as conn:
        return conn.execute(sql, params or []).fetchall()


def write(path, rows):
    path.write_text("order_id,date,store,category,qty,price,unit cost\n" + "\n".join(rows) + "\n")
    return path


def test_analytics_and_late_file_recompute_only_its_days(instance, land, tmp_path):
    loaded = defs()
    first = write(
        tmp_path / "march.csv",
        [
            "A1,2024-03-01,North,Tools,2,10,6",
            "A2,2024-03-01,South,Tools,1,10,6",
            "A3,2024-03-02,North,Paint,4,5,4",
            "A4,2024-04-02,North,Paint,1,5,2",
        ],
    )
    results = process_now(loaded, instance, land(first, "shop", instance=instance))
    assert all(r.success for r in results)
    materialized = {
        e.asset_key.to_user_string() for e in results[0].get_asset_materialization_events()
    }
    assert set(ANALYTICS) <= materialized
    assert query(
        "SELECT order_date::VARCHAR, branch, product_line, revenue, cost, profit, orders, units"
        " FROM analytics.sales_daily ORDER BY ALL"
    ) == [
        ("2024-03-01", "North", "Tools", 20.0, 12.0, 8.0, 1, 2.0),
        ("2024-03-01", "South", "Tools", 10.0, 6.0, 4.0, 1, 1.0),
        ("2024-03-02", "North", "Paint", 20.0, 16.0, 4.0, 1, 4.0),
        ("2024-04-02", "North", "Paint", 5.0, 2.0, 3.0, 1, 1.0),
    ]
    before = query(
        "SELECT order_date, updated_at FROM analytics.sales_daily WHERE order_date <> '2024-03-02'"
    )

    late = write(tmp_path / "late.csv", ["B1,2024-03-02,North,Paint,1,5,4"])
    results = process_now(loaded, instance, land(late, "shop", instance=instance))
    daily = next(
        e.step_materialization_data.materialization
        for e in results[0].get_asset_materialization_events()
        if e.asset_key == dg.AssetKey("sales_daily")
    )
    assert daily.metadata["recomputed_days"].value == 1
    assert daily.metadata["recomputed"].value == "shop 2024-03-02"
    assert query(
        "SELECT revenue, orders FROM analytics.sales_daily WHERE order_date = '2024-03-02'"
    ) == [(25.0, 2)]
    # Other days were not rewritten.
    assert (
        query(
            "SELECT order_date, updated_at FROM analytics.sales_daily WHERE order_date <> '2024-03-02'"
        )
        == before
    )

    [(revenue, profit, margin, orders, files)] = query(
        "SELECT revenue, profit, margin, orders, files_loaded FROM analytics.sales_overview WHERE datasource = '(all)'"
    )
    assert (revenue, profit, orders, files) == (60.0, 20.0, 5, 2)
    assert margin == pytest.approx(20 / 60)
    assert query("SELECT branch, revenue_rank FROM analytics.branch_performance ORDER BY 2") == [
        ("North", 1),
        ("South", 2),
    ]
    assert query("SELECT product_line, revenue FROM analytics.product_performance ORDER BY 1") == [
        ("Paint", 30.0),
        ("Tools", 30.0),
    ]
    [(prev, change)] = query(
        "SELECT prev_margin, margin_change FROM analytics.profitability"
        " WHERE month = '2024-04-01' AND product_line = 'Paint'"
    )
    assert prev == pytest.approx(5 / 25) and change == pytest.approx(3 / 5 - 5 / 25)


def test_analytics_assets_are_eager():
    graph = defs().resolve_asset_graph()
    for name in ANALYTICS:
        condition = graph.get(dg.AssetKey(name)).automation_condition
        assert condition is not None and "eager" in str(condition.get_label() or condition)


def test_a_loaded_file_makes_the_analytics_due(instance, land, tmp_path):
    """The automation sensor's view: after a file partition loads, every analytics asset
    directly downstream is requested."""
    loaded = defs()
    selection = dg.AssetSelection.groups("sales")
    first = dg.evaluate_automation_conditions(
        defs=loaded, instance=instance, asset_selection=selection
    )
    path = write(tmp_path / "one.csv", ["A1,2024-03-01,North,Tools,2,10,6"])
    digest = land(path, "shop", instance=instance)
    assert materialize_file(instance, digest, loaded).success
    after = dg.evaluate_automation_conditions(
        defs=loaded, instance=instance, asset_selection=selection, cursor=first.cursor
    )
    requested = {name for name in ANALYTICS if after.get_num_requested(dg.AssetKey(name))}
    assert {
        "sales_daily",
        "sales_overview",
        "product_performance",
        "branch_performance",
    } <= requested
