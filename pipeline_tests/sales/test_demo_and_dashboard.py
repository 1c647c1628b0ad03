"""The sales part of `pipeline demo`: samples seeded into an empty landing zone, loaded with
is_sample = true, analytics and an offline dashboard built, checks passing; a second run changes
no row counts. Plus the dashboard's escaping and its discovery-trends fallback."""

from __future__ import annotations

import datetime as dt
import re

import dagster as dg

from pipeline.definitions import defs
from pipeline.defs.sales.operations import seed_sample_uploads
from pipeline.defs.shared.resources import warehouse_resource
from pipeline.graph_runner import plan_steps
from pipeline.lib.sales import dashboard
from pipeline.lib.settings import settings
from pipeline_tests.sales.conftest import connect

SALES_KEYS = (
    "sales_uploads", "sales_transactions", "sales_rejects", "sales_daily", "sales_overview",
    "product_performance", "branch_performance", "profitability", "dashboard",
)  # fmt: skip


def run_sales_graph(instance):
    """The graph runner's sales steps (the rest of the graph belongs to other domains)."""
    loaded = defs()
    everything = list(loaded.assets) + list(loaded.asset_checks)
    seed_sample_uploads(instance, warehouse_resource())
    checks, counts = [], {}
    for step in plan_steps(loaded, instance, dt.date(2026, 11, 22)):
        keys = [k for k in step.asset_keys if k.to_user_string() in SALES_KEYS]
        if not keys:
            continue
        result = dg.materialize(
            everything,
            selection=dg.AssetSelection.assets(*keys),
            partition_key=step.partition_key,
            instance=instance,
            resources=loaded.resources,
        )
        assert result.success
        checks += result.get_asset_check_evaluations()
        for event in result.get_asset_materialization_events():
            rows = event.step_materialization_data.materialization.metadata.get("dagster/row_count")
            if rows is not None:
                counts[event.asset_key.to_user_string()] = rows.value
    return checks, counts


def test_demo_seeds_samples_and_builds_everything(instance):
    checks, counts = run_sales_graph(instance)
    assert len(instance.get_dynamic_partitions("sales_files")) == 2
    with connect() as conn:
        assert conn.execute(
            "SELECT datasource, count(*), bool_and(is_sample) FROM sales.transactions GROUP BY 1 ORDER BY 1"
        ).fetchall() == [("sample_city_stores", 150, True), ("sample_online", 112, True)]
        assert conn.execute(
            "SELECT spec_source FROM sales.files WHERE datasource = 'sample_city_stores'"
        ).fetchall() == [("config",)]
    failed = [(c.check_name, c.description) for c in checks if not c.passed]
    assert not failed
    names = {c.check_name for c in checks}
    assert {
        "sales_lines_present",
        "sales_revenue_non_negative",
        "sales_lines_unique",
        "sales_rejects_share",
    } <= names
    # A fact about the whole landing zone: once per pass, not once per file partition.
    assert [c.check_name for c in checks].count("sales_uploads_not_stuck") == 1

    page = dashboard.page_path(settings().data_dir).read_text()
    for title in (
        "Overview",
        "Sales",
        "Products",
        "Branches",
        "Profitability",
        "Grant discovery trends",
    ):
        assert f">{title}" in page
    assert "<svg" in page and "Sample data" in page
    assert not re.search(r"(src|href)=\"(https?:)?//", page)  # offline: nothing fetched

    # Second demo: nothing new seeded, no row count changes.
    again_checks, again_counts = run_sales_graph(instance)
    assert [(c.asset_key, c.check_name, c.description) for c in again_checks if not c.passed] == []
    assert again_counts == counts
    assert len(instance.get_dynamic_partitions("sales_files")) == 2


def test_dashboard_escapes_cells_and_says_no_data_without_trends(pipeline_env):
    data = dashboard.DashboardData(
        products=[{"datasource": "x", "product_line": '=HYPERLINK("http://evil")<script>', "revenue": 5.0,
                   "profit": 1.0, "margin": 0.2, "units": 1.0, "revenue_share": 1.0}],
    )  # fmt: skip
    page = dashboard.render(data, dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    assert "<script>" not in page and "=HYPERLINK(&#34;http://evil&#34;)&lt;script&gt;" in page
    assert "no data (analytics.discovery_trends" in page


def test_dashboard_reads_discovery_trends_when_present(instance):
    run_sales_graph(instance)
    with connect() as conn:
        conn.execute(
            "INSERT INTO analytics.discovery_trends SELECT DATE '2026-11-01' + i::INTEGER,"
            " 'grants_gov_extract', i * 3, i * 5, i * 3, i * 3, true, now() FROM range(10) t(i)"
        )
        data = dashboard.collect(conn)
    page = dashboard.render(data, dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    assert "discovered_7d" in page and "no data (analytics.discovery_trends" not in page
    assert [row["day"] for row in data.discovery] == sorted(row["day"] for row in data.discovery)
