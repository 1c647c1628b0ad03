"""The per-datasource summaries (overview, product, branch) recompute the datasources loads
touched and keep the others, and stay equal to a recount over all the lines."""

from __future__ import annotations

import pytest

from pipeline.lib import samples, warehouse, warehouse_choice
from pipeline.lib.sales import analytics
from pipeline_tests.sales.conftest import connect, process_landed
from pipeline_tests.sales.test_analytics import query, write

REFRESHES = {
    "product_performance": analytics.refresh_product_performance,
    "branch_performance": analytics.refresh_branch_performance,
    "sales_overview": analytics.refresh_sales_overview,
}


def refresh_all() -> dict[str, list[str]]:
    with connect() as conn:
        return {name: refresh(conn) for name, refresh in REFRESHES.items()}


def summaries() -> dict[str, list[tuple]]:
    """What each summary says about orders, units and revenue, per datasource and dimension."""
    return {
        "product": query(
            "SELECT datasource, product_line, orders, units, round(revenue, 6), revenue_rank"
            " FROM analytics.product_performance ORDER BY ALL"
        ),
        "branch": query(
            "SELECT datasource, branch, orders, units, round(revenue, 6), active_days,"
            " revenue_rank FROM analytics.branch_performance ORDER BY ALL"
        ),
        "overview": query(
            "SELECT datasource, orders, units, lines, round(revenue, 6), branches, product_lines,"
            " files_loaded FROM analytics.sales_overview ORDER BY ALL"
        ),
    }


def recount() -> dict[str, list[tuple]]:
    """The same figures counted again over every line, as a rebuild from scratch would."""

    def per(dimension: str, extra: str = "") -> list[tuple]:
        return query(
            f"SELECT datasource, {dimension}, count(DISTINCT order_id), sum(quantity),"
            f" round(sum(revenue), 6){extra},"
            " rank() OVER (PARTITION BY datasource ORDER BY sum(revenue) DESC)"
            f" FROM sales.transactions GROUP BY datasource, {dimension} ORDER BY ALL"
        )

    per_datasource = query(
        "SELECT datasource, count(DISTINCT order_id), sum(quantity), count(*),"
        " round(sum(revenue), 6), count(DISTINCT branch), count(DISTINCT product_line),"
        " (SELECT count(*) FROM sales.files AS f WHERE f.datasource = t.datasource"
        "  AND f.status = 'loaded') FROM sales.transactions AS t GROUP BY datasource"
    )
    total = query(
        "SELECT '(all)', count(DISTINCT (datasource, order_id)), sum(quantity), count(*),"
        " round(sum(revenue), 6), NULL, NULL,"
        " (SELECT count(*) FROM sales.files WHERE status = 'loaded') FROM sales.transactions"
    )
    return {
        "product": per("product_line"),
        "branch": per("branch", ", count(DISTINCT order_date)"),
        "overview": sorted(per_datasource + total),
    }


def updated_at(table: str, datasource: str) -> list[tuple]:
    return query(
        f"SELECT * EXCLUDE (updated_at), updated_at FROM analytics.{table}"
        " WHERE datasource = ? ORDER BY ALL",
        [datasource],
    )


def test_a_file_recomputes_the_summaries_of_its_own_datasource_only(land, landing, tmp_path):
    north = write(
        tmp_path / "north.csv",
        [
            "A1,2024-03-01,Harbour,Tools,2,10,6",
            "A1,2024-03-01,Harbour,Paint,1,4,2",
            "A2,2024-03-02,Market,Tools,3,10,6",
        ],
    )
    assert process_landed(land(north, "north"), landing).status == "loaded"
    assert refresh_all() == {name: ["north"] for name in REFRESHES}
    assert summaries() == recount()
    kept = {
        table: updated_at(table, "north") for table in ("product_performance", "branch_performance")
    }

    south = write(tmp_path / "south.csv", ["S1,2024-03-01,Quay,Garden,5,2,1"])
    assert process_landed(land(south, "south"), landing).status == "loaded"
    assert refresh_all() == {name: ["south"] for name in REFRESHES}
    assert summaries() == recount()
    # North's rows were not rewritten.
    assert {table: updated_at(table, "north") for table in kept} == kept

    # A correction replaces order A1 with one line in another branch: north alone is redone.
    fix = write(tmp_path / "north-fix.csv", ["A1,2024-03-05,Market,Garden,7,3,1"])
    assert process_landed(land(fix, "north"), landing).status == "loaded"
    assert refresh_all() == {name: ["north"] for name in REFRESHES}
    assert summaries() == recount()
    assert query(
        "SELECT branch, orders, units FROM analytics.branch_performance"
        " WHERE datasource = 'north' ORDER BY 1"
    ) == [("Market", 2, 10.0)]

    # Nothing loaded since: nothing recomputed.
    assert refresh_all() == {name: [] for name in REFRESHES}


def test_rows_missing_or_left_over_are_found_without_a_mark(land, landing, tmp_path):
    """A warehouse from before the marks, or lines removed by hand: rows are made for a
    datasource with lines and none, and removed for one with rows and no lines."""
    north = write(tmp_path / "north.csv", ["A1,2024-03-01,Harbour,Tools,2,10,6"])
    assert process_landed(land(north, "north"), landing).status == "loaded"
    refresh_all()
    with connect() as conn:
        for table in ("product_performance", "branch_performance", "sales_overview"):
            conn.execute(
                f"INSERT INTO analytics.{table} SELECT * REPLACE ('gone' AS datasource)"
                f" FROM analytics.{table} WHERE datasource = 'north'"
            )
        conn.execute("DELETE FROM analytics.product_performance WHERE datasource = 'north'")
    assert query("SELECT count(*) FROM sales.stale_summaries") == [(0,)]

    assert refresh_all() == {
        "product_performance": ["gone", "north"],
        "branch_performance": ["gone"],
        "sales_overview": ["gone"],
    }
    assert summaries() == recount()


def test_removing_samples_recomputes_a_datasource_that_also_holds_real_lines(
    land, landing, tmp_path
):
    sample = write(tmp_path / "sample.csv", ["S1,2024-03-01,Harbour,Tools,2,10,6"])
    real = write(tmp_path / "real.csv", ["R1,2024-03-02,Harbour,Tools,3,10,6"])
    assert process_landed(land(sample, "north", is_sample=True), landing).status == "loaded"
    assert process_landed(land(real, "north"), landing).status == "loaded"
    refresh_all()
    with connect() as conn:
        removed = samples.remove_samples(conn)
    assert removed.rows["sales.transactions"] == 1
    assert query("SELECT orders, units FROM analytics.product_performance") == [(1, 3.0)]
    assert summaries() == recount()


def test_lines_loaded_before_the_upgrade_are_summarised_again(tmp_path, monkeypatch):
    """A warehouse upgraded between a load and its summaries: the migration marks every
    datasource it holds, so rows a summary already had are recomputed too."""
    every = warehouse.available_migrations()
    monkeypatch.setattr(
        warehouse, "available_migrations", lambda: [m for m in every if m.version < 401]
    )
    conn = warehouse.open_connection(tmp_path / "old.duckdb")
    warehouse.migrate(conn)
    conn.execute(
        "INSERT INTO sales.transactions (datasource, order_id, line, order_date, branch,"
        " product_line, quantity, unit_price, revenue, source_file, file_hash, row_number,"
        " is_sample, loaded_at) VALUES ('north', 'A1', 1, DATE '2024-03-01', 'Harbour',"
        " 'Tools', 2, 10, 20, 'north.csv', 'h', 1, false, now())"
    )
    conn.execute(
        "INSERT INTO analytics.product_performance (datasource, product_line, orders, units)"
        " VALUES ('north', 'Tools', 99, 99)"
    )
    monkeypatch.undo()
    assert "0401_sales_marks" in warehouse.migrate(conn)
    assert analytics.refresh_product_performance(conn) == ["north"]
    assert conn.execute(
        "SELECT product_line, orders, units FROM analytics.product_performance"
    ).fetchall() == [("Tools", 1, 2.0)]
    conn.close()


class LoadsBefore:
    """`conn`, which runs `load()` once, just before its first statement starting `prefix`:
    another writer's load committed while this connection's transaction is open."""

    def __init__(self, conn, prefix: str, load):
        self.conn, self.prefix, self.load = conn, prefix, load

    def execute(self, query, parameters=None):
        if self.load and query.startswith(self.prefix):
            load, self.load = self.load, None
            load()
        return self.conn.execute(query, parameters)

    def __getattr__(self, name):
        return getattr(self.conn, name)


@pytest.mark.server
@pytest.mark.parametrize(
    ("refresh", "clears_marks"),
    [
        (analytics.refresh_product_performance, "DELETE FROM sales.stale_summaries"),
        (analytics.refresh_sales_daily, "DELETE FROM sales.dirty_days"),
    ],
)
def test_a_load_committed_during_a_refresh_on_the_lake_is_not_lost(
    refresh, clears_marks, land, landing, tmp_path, postgres_url, monkeypatch
):
    """On DuckLake a load can commit while a refresh runs (no lock between them). The load
    marks its datasource and day again although the refresh read the same marks: the
    refresh's snapshot misses the new lines, so it must not clear the load's marks."""
    monkeypatch.setenv("PIPELINE_WAREHOUSE", f"ducklake:postgres:{postgres_url}")
    monkeypatch.setenv("PIPELINE_LAKE_DATA", str(tmp_path / "lake"))
    first = write(tmp_path / "first.csv", ["A1,2024-03-01,Harbour,Tools,2,10,6"])
    assert process_landed(land(first, "north"), landing).status == "loaded"
    late = land(write(tmp_path / "late.csv", ["B1,2024-03-01,Harbour,Tools,3,10,6"]), "north")

    conn = warehouse_choice.configured().open()
    try:
        refresh(LoadsBefore(conn, clears_marks, lambda: process_landed(late, landing)))
    finally:
        conn.close()
    with connect() as conn:
        refresh(conn)
    table = (
        "product_performance" if refresh is analytics.refresh_product_performance else "sales_daily"
    )
    assert query(f"SELECT orders, units FROM analytics.{table}") == [(2, 5.0)]
