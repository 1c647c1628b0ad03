"""Staging, validation and loading without Dagster, on the real sales files and on bad ones."""

from __future__ import annotations

import json

import pytest
import yaml

from pipeline.lib.sales.spec import SpecError, infer_date_format, infer_spec
from pipeline_tests.sales.conftest import connect, process_landed


def query(sql, params=None):
    with connect() as conn:
        return conn.execute(sql, params or []).fetchall()


def test_infer_spec_maps_common_aliases():
    spec = infer_spec(
        "shop",
        ["Invoice ID", "Branch", "Product line", "Unit price", "Quantity", "Tax 5%", "Total",
         "Date", "cogs", "gross income"],
    )  # fmt: skip
    assert spec.columns == {
        "order_id": "Invoice ID",
        "order_date": "Date",
        "branch": "Branch",
        "product_line": "Product line",
        "quantity": "Quantity",
        "unit_price": "Unit price",
        "gross_total": "Total",
        "cost_total": "cogs",
        "profit": "gross income",
        "tax": "Tax 5%",
    }


def test_infer_spec_names_missing_columns():
    with pytest.raises(SpecError, match="order_id"):
        infer_spec("shop", ["Name", "Colour", "Date", "Qty", "Price"])


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["1/5/2019", "3/8/2019", "12/25/2019"], "%m/%d/%Y"),
        (["03/01/19", "25/12/19"], "%d/%m/%y"),
        (["2024-02-01", "2024-12-31"], "%Y-%m-%d"),
    ],
)
def test_date_format_inference(values, expected):
    assert infer_date_format(values) == expected


def test_both_real_files_load_without_a_spec(land, landing, supermarket_csv, superstore_csv):
    market = process_landed(land(supermarket_csv, "supermarket"), landing)
    store = process_landed(land(superstore_csv, "superstore"), landing)
    assert (market.status, market.rows_loaded, market.rows_rejected) == ("loaded", 1000, 0)
    assert (store.status, store.rows_loaded, store.rows_rejected) == ("loaded", 10194, 0)
    assert market.spec_source == store.spec_source == "inferred"

    # Supermarket: unit price given; revenue = quantity * unit price (before the 5% tax).
    [(qty, price, revenue, gross, date)] = query(
        "SELECT quantity, unit_price, revenue, gross_total, order_date FROM sales.transactions"
        " WHERE order_id = '750-67-8428'"
    )
    assert (qty, price, date.isoformat()) == (7, 74.69, "2019-01-05")
    assert revenue == pytest.approx(522.83) and gross == pytest.approx(548.9715)
    # Superstore: only a line total (Sales, after discount): unit_price = total / quantity.
    [(qty, price, revenue, date)] = query(
        "SELECT quantity, unit_price, revenue, order_date FROM sales.transactions"
        " WHERE datasource = 'superstore' AND row_number = 1"
    )
    assert (qty, date.isoformat()) == (2, "2019-01-03")  # 03/01/19 is day-first
    assert price == pytest.approx(16.448 / 2) and revenue == pytest.approx(16.448)
    # Lines of one order are numbered in file order.
    assert query(
        "SELECT count(*) FROM (SELECT datasource, order_id, line FROM sales.transactions"
        " GROUP BY ALL HAVING count(*) > 1)"
    ) == [(0,)]
    # The inferred spec sits beside the file for review.
    spec = yaml.safe_load((landing.root / store.spec_key).read_text())
    assert spec["columns"]["line_total"] == "Sales" and spec["date_format"] == "%d/%m/%y"


def test_same_bytes_twice_change_nothing_and_reupload_replaces(
    land, landing, tmp_path, supermarket_csv
):
    digest = land(supermarket_csv, "supermarket")
    process_landed(digest, landing)
    before = query("SELECT count(*), round(sum(revenue), 4) FROM sales.transactions")
    again = process_landed(digest, landing)
    assert again.rows_replaced == 1000
    assert query("SELECT count(*), round(sum(revenue), 4) FROM sales.transactions") == before

    # A corrected file with the same orders replaces their lines instead of adding rows.
    lines = supermarket_csv.read_text().splitlines()
    header, first = lines[0], lines[1].split(",")
    # Quantity of order 750-67-8428: 7 -> 1 at 74.69, with its tax, total, cogs and income.
    first[7:10] = ["1", "3.7345", "78.4245"]
    first[13], first[15] = "74.69", "3.7345"
    corrected = tmp_path / "correction.csv"
    corrected.write_text(header + "\n" + ",".join(first) + "\n")
    fix = process_landed(land(corrected, "supermarket"), landing)
    assert (fix.status, fix.rows_loaded, fix.rows_replaced) == ("loaded", 1, 1)
    assert query("SELECT count(*) FROM sales.transactions") == [(1000,)]
    assert query(
        "SELECT quantity, source_file FROM sales.transactions WHERE order_id = '750-67-8428'"
    ) == [(1.0, "correction.csv")]


def test_file_with_too_many_bad_rows_is_rejected_whole(land, landing, tmp_path, supermarket_csv):
    good = process_landed(land(supermarket_csv, "supermarket"), landing)
    rows = ["order_id,date,branch,category,qty,price"]
    for i in range(20):
        qty = "x" if i % 2 else "3"  # half the rows have an unreadable quantity
        rows.append(f"N-{i},2024-03-0{1 + i % 9},North,Tools,{qty},2.50")
    bad = tmp_path / "half_bad.csv"
    bad.write_text("\n".join(rows) + "\n")
    outcome = process_landed(land(bad, "north"), landing)
    assert outcome.status == "rejected" and "10 of 20 rows" in outcome.reason
    assert outcome.landing_key == "rejected/north/half_bad.csv"
    assert (landing.root / "rejected/north/half_bad.csv").exists()
    assert not (landing.root / "sales/north/half_bad.csv").exists()
    report = json.loads((landing.root / outcome.errors_key).read_text())
    assert report["rows_rejected"] == 10 and report["nothing_loaded"] is True
    assert report["errors"][0] == {
        "row": 2,
        "column": "quantity",
        "reason": "cannot read 'x' as a number",
        "value": "x",
    }
    # Nothing from the bad file, nothing already loaded touched; its rejects are recorded.
    assert query("SELECT datasource, count(*) FROM sales.transactions GROUP BY 1") == [
        ("supermarket", good.rows_loaded)
    ]
    assert query("SELECT count(*) FROM sales.rejects WHERE source_file = 'half_bad.csv'") == [(10,)]
    assert query("SELECT status FROM sales.files WHERE file_name = 'half_bad.csv'") == [
        ("rejected",)
    ]


def test_a_few_bad_rows_are_rejected_and_the_rest_loaded(land, landing, tmp_path):
    rows = ["order_id,date,branch,category,qty,price"]
    rows += [f"S-{i},2024-03-01,North,Tools,2,1.5" for i in range(199)]
    rows.append("S-bad,2024-03-01,North,Tools,-4,1.5")  # 1 of 200 = 0.5% <= 1%
    path = tmp_path / "mostly_good.csv"
    path.write_text("\n".join(rows) + "\n")
    outcome = process_landed(land(path, "north"), landing)
    assert (outcome.status, outcome.rows_loaded, outcome.rows_rejected) == ("loaded", 199, 1)
    assert query('SELECT row_number, "column", reason FROM sales.rejects') == [
        (200, "quantity", "must be greater than 0")
    ]


def test_a_correction_replaces_whole_orders(land, landing, tmp_path):
    header = "Order ID,Order Date,Category,Sales,Quantity\n"
    first = tmp_path / "orders.csv"
    first.write_text(
        header + "O-1,2024-01-02,Paint,10,1\nO-1,2024-01-02,Tools,20,2\nO-2,2024-01-03,Paint,5,1\n"
    )
    process_landed(land(first, "web"), landing)
    fix = tmp_path / "orders_fix.csv"
    fix.write_text(header + "O-1,2024-01-05,Paint,12,1\n")
    outcome = process_landed(land(fix, "web"), landing)
    assert (outcome.rows_loaded, outcome.rows_replaced) == (1, 2)
    assert query(
        "SELECT order_id, line, order_date::VARCHAR, revenue FROM sales.transactions ORDER BY 1"
    ) == [
        ("O-1", 1, "2024-01-05", 12.0),
        ("O-2", 1, "2024-01-03", 5.0),
    ]
    with connect() as conn:
        days = {
            d.isoformat()
            for (d,) in conn.execute("SELECT order_date FROM sales.dirty_days").fetchall()
        }
    assert {"2024-01-02", "2024-01-05"} <= days  # the order's old and new day both recompute
