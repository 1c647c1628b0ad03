"""Samples kept apart: once a real sales file is loaded the bundled samples stop counting in the
dashboard's totals and charts (they stay in the warehouse, marked is_sample), and
`pipeline samples remove` deletes them, idempotently."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from click.testing import CliRunner

from pipeline.definitions import defs
from pipeline.defs.sales.operations import process_now, seed_sample_uploads
from pipeline.defs.shared.resources import warehouse_resource
from pipeline.lib.sales import dashboard
from pipeline.lib.settings import settings
from pipeline_tests.sales.conftest import connect

REAL_ROWS = (
    "SELECT sum(revenue), count(DISTINCT order_id), min(order_date), max(order_date)"
    " FROM sales.transactions WHERE NOT is_sample"
)


@pytest.fixture
def samples_then_real(instance, land, supermarket_csv):
    """The demo's sample files loaded, then the real supermarket file (2019) beside them."""
    loaded = defs()
    for partition in seed_sample_uploads(instance, warehouse_resource()):
        assert all(r.success for r in process_now(loaded, instance, partition))
    real = land(supermarket_csv, "supermarket", instance=instance)
    assert all(r.success for r in process_now(loaded, instance, real))
    return instance


def month_labels(page: str) -> list[str]:
    chart = page.split("<h3>Revenue by month</h3>", 1)[1].split("<h3>", 1)[0]
    return re.findall(r">(\d{4}-\d\d-\d\d)</text>", chart)


def test_the_dashboard_counts_real_rows_only_once_a_real_file_is_loaded(samples_then_real):
    with connect() as conn:
        data = dashboard.collect(conn)
        [(revenue, orders, first, last)] = conn.execute(REAL_ROWS).fetchall()
        [(kept,)] = conn.execute(
            "SELECT count(*) FROM sales.transactions WHERE is_sample"
        ).fetchall()
    assert kept == 262  # the samples stay, marked
    total = data.overview[0]
    assert total["datasource"] == "(all)" and not total["is_sample"]
    assert total["revenue"] == pytest.approx(revenue) and total["orders"] == orders
    assert (total["first_date"], total["last_date"]) == (first, last)
    assert [r["datasource"] for r in data.overview] == ["(all)", "supermarket"]
    assert data.hidden_samples == ["sample_city_stores", "sample_online"]
    assert {r["datasource"] for r in data.products + data.branches} == {"supermarket"}
    # The charts' axes span the real data: 2019, not 2019 to 2026.
    months = [r["month"] for r in data.monthly]
    assert (min(months), max(months)) == (first.replace(day=1), last.replace(day=1))
    labels = month_labels(dashboard.render(data, dt.datetime.now(dt.UTC)))
    assert labels[0] == str(first.replace(day=1)) and labels[-1] == str(last.replace(day=1))
    # "Last 60 days" of the data shown.
    days = [r["order_date"] for r in data.recent_daily]
    assert days[-1] == last and days[0] > last - dt.timedelta(days=60)
    assert "sales" not in data.sample_sections


def test_samples_remove_deletes_sample_rows_and_files_once(samples_then_real):
    from pipeline.cli import main

    instance = samples_then_real
    sample_files = sorted((settings().data_dir / "landing" / "sales").glob("sample_*/*"))
    assert len(sample_files) == 3  # two files and the spec inferred for one
    first = CliRunner().invoke(main, ["samples", "remove"])
    assert first.exit_code == 0, first.output
    assert first.output.startswith("removed ")
    assert "sales.transactions 262" in first.output and "2 sample sales file(s)" in first.output
    assert not any(path.exists() for path in sample_files)
    assert len(instance.get_dynamic_partitions("sales_files")) == 1  # the real file's
    with connect() as conn:
        [(revenue, orders, _, _)] = conn.execute(REAL_ROWS).fetchall()
        assert conn.execute(
            "SELECT count(*) FROM sales.transactions WHERE is_sample"
        ).fetchall() == [(0,)]
        assert conn.execute(
            "SELECT revenue, orders, is_sample FROM analytics.sales_overview"
            " WHERE datasource = '(all)'"
        ).fetchall() == [(pytest.approx(revenue), orders, False)]
    again = CliRunner().invoke(main, ["samples", "remove"])
    assert again.exit_code == 0, again.output
    assert again.output.strip() == "nothing to remove: the warehouse holds no sample data"
