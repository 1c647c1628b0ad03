"""Every supported format, and the files that must be rejected (or survive) with a clear reason."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import multiprocessing
import time

import duckdb
import polars as pl
import pytest

from pipeline.lib.settings import settings
from pipeline_tests.sales.conftest import connect, process_landed

HEADER = ["Order ID", "Order Date", "Store", "Category", "Qty", "Unit price"]


def rows(n: int, start: int = 0) -> list[list]:
    return [
        [f"O-{start + i}", f"2024-05-{1 + i % 28:02d}", "North", "Tools", 1 + i % 3, 2.5]
        for i in range(n)
    ]


def lines_loaded(datasource: str) -> int:
    with connect() as conn:
        return conn.execute(
            "SELECT count(*) FROM sales.transactions WHERE datasource = ?", [datasource]
        ).fetchall()[0][0]


def frame(n: int = 30) -> pl.DataFrame:
    return pl.DataFrame(rows(n), schema=HEADER, orient="row")


def test_xlsx_parquet_gzip_and_real_workbook(land, landing, tmp_path, supermarket_csv):
    xlsx = tmp_path / "orders.xlsx"
    frame().with_columns(pl.col("Order Date").str.to_date()).write_excel(xlsx)
    parquet = tmp_path / "orders.parquet"
    frame(40).with_columns(pl.col("Order Date").str.to_date()).write_parquet(parquet)
    gz = tmp_path / "supermarket.csv.gz"
    gz.write_bytes(gzip.compress(supermarket_csv.read_bytes()))
    assert process_landed(land(xlsx, "xl"), landing).rows_loaded == 30
    assert process_landed(land(parquet, "pq"), landing).rows_loaded == 40
    outcome = process_landed(land(gz, "gz"), landing)
    assert (outcome.format, outcome.rows_loaded) == ("csv.gz", 1000)


def test_real_supermarket_workbook_with_serial_dates(land, landing, realdata):
    outcome = process_landed(
        land(realdata / "supermarket_sales_karimbarati.xlsx", "market_xlsx"), landing
    )
    assert (outcome.status, outcome.rows_loaded) == ("loaded", 1000)
    with connect() as conn:
        assert conn.execute(
            "SELECT min(order_date), max(order_date) FROM sales.transactions"
        ).fetchall() == [(dt.date(2019, 1, 1), dt.date(2019, 3, 30))]


def test_xls_through_calamine(land, landing, tmp_path):
    import xlwt  # a test dependency (pyproject.toml): missing means a broken install, not a skip

    book = xlwt.Workbook()
    sheet = book.add_sheet("Orders")
    for c, name in enumerate(HEADER):
        sheet.write(0, c, name)
    for r, row in enumerate(rows(12), start=1):
        for c, value in enumerate(row):
            sheet.write(r, c, value)
    path = tmp_path / "legacy.xls"
    book.save(str(path))
    assert process_landed(land(path, "xls"), landing).rows_loaded == 12


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.csv", b"", "empty"),
        ("blank.csv", b"\r\n  \n", "empty"),
        ("header_only.csv", b"Order ID,Order Date,Qty,Unit price\r\n", "no data rows"),
        ("junk.csv", bytes(range(256)) * 64, "binary"),
        ("fake.xlsx", b"this is not a workbook", "not a valid xlsx"),
        ("fake.parquet", b"PAR1 truncated", "cannot"),
        ("columns.csv", b"name,colour,size\nhat,red,M\n", "missing required columns: order_id"),
    ],
)
def test_bad_files_are_rejected_whole_with_a_reason(land, landing, tmp_path, name, content, reason):
    path = tmp_path / name
    path.write_bytes(content)
    outcome = process_landed(land(path, "bad"), landing)
    assert outcome.status == "rejected" and reason in outcome.reason
    assert (landing.root / f"rejected/bad/{name}").exists()
    report = json.loads((landing.root / f"rejected/bad/{name}.errors.json").read_text())
    assert reason in report["reason"]
    assert lines_loaded("bad") == 0


def test_a_parse_error_is_one_line_for_a_person_and_in_full_in_the_report(land, landing, tmp_path):
    # A 3 MB line: DuckDB's error quotes it whole, then options, the dialect and the SQL.
    path = tmp_path / "long_line.csv"
    path.write_text(
        "Order ID,Order Date,Qty,Unit price\nO1,2024-05-01,1,2.5\n"
        + "x" * 3_000_000
        + ",2024-05-01,1,2.5\n"
    )
    outcome = process_landed(land(path, "long"), landing)
    assert outcome.status == "rejected"
    assert "\n" not in outcome.reason and len(outcome.reason) <= 250
    assert outcome.reason.startswith("cannot be read as csv: ")
    assert "Maximum line size" in outcome.reason and "xxxx" not in outcome.reason
    assert str(tmp_path) not in outcome.reason
    report = json.loads((landing.root / "rejected/long/long_line.csv.errors.json").read_text())
    assert report["reason"] == outcome.reason
    assert "Original Line" in report["detail"] and "x" * 1000 in report["detail"]
    with connect() as conn:
        [(reason,)] = conn.execute(
            "SELECT reason FROM sales.rejects WHERE source_file = 'long_line.csv'"
        ).fetchall()
    assert reason == outcome.reason


def test_oversized_xlsx_is_rejected_with_a_clear_limit(land, landing, tmp_path):
    path = tmp_path / "big.xlsx"
    frame(2000).write_excel(path)
    outcome = process_landed(land(path, "xl"), landing, max_excel_bytes=10_000)
    assert outcome.status == "rejected"
    assert (
        "over the 0 MB limit for Excel files" in outcome.reason
        or "limit for Excel" in outcome.reason
    )
    assert "export it as CSV or Parquet" in outcome.reason


def test_mixed_encodings_load_every_row(land, landing, tmp_path):
    body = b"Order ID,Order Date,Store,Category,Qty,Unit price\n"
    body += "A1,2024-05-01,Zürich,Café,1,2.5\n".encode()  # UTF-8
    body += "A2,2024-05-01,Zürich,Café,1,2.5\n".encode("cp1252")  # Windows-1252
    path = tmp_path / "mixed.csv"
    path.write_bytes(body)
    outcome = process_landed(land(path, "enc"), landing)
    assert (outcome.status, outcome.rows_loaded) == ("loaded", 2)
    assert "mixed" in outcome.encoding
    with connect() as conn:
        assert conn.execute(
            "SELECT DISTINCT branch, product_line FROM sales.transactions"
        ).fetchall() == [("Zürich", "Café")]


def test_latin1_and_semicolon_delimited(land, landing, tmp_path):
    text = "Invoice;Date;Branch;Category;Quantity;Price\n" + "".join(
        f"X{i};05/0{1 + i % 9}/2024;Málaga;Niño;2;3.5\n" for i in range(10)
    )
    path = tmp_path / "semi.csv"
    path.write_bytes(text.encode("cp1252"))
    outcome = process_landed(land(path, "semi"), landing)
    assert (outcome.status, outcome.rows_loaded, outcome.encoding) == ("loaded", 10, "windows-1252")


def test_formula_injection_cell_is_kept_as_text(land, landing, tmp_path):
    path = tmp_path / "inject.csv"
    path.write_text(
        "Order ID,Order Date,Store,Category,Qty,Unit price\n"
        '=cmd|\' /C calc\'!A0,2024-05-01,"=HYPERLINK(""http://x"")",@SUM(1+1),1,2.5\n'
    )
    outcome = process_landed(land(path, "inject"), landing)
    assert outcome.rows_loaded == 1
    with connect() as conn:
        assert conn.execute(
            "SELECT order_id, branch, product_line FROM sales.transactions"
        ).fetchall() == [("=cmd|' /C calc'!A0", '=HYPERLINK("http://x")', "@SUM(1+1)")]


def test_malformed_lines_are_row_rejects(land, landing, tmp_path):
    good = [",".join(map(str, r)) for r in rows(300)]
    text = (
        ",".join(HEADER)
        + "\n"
        + "\n".join(good[:150])
        + "\nO-x,2024-05-01,North\n"
        + "\n".join(good[150:])
        + "\n"
    )
    path = tmp_path / "ragged.csv"
    path.write_text(text)
    outcome = process_landed(land(path, "ragged"), landing)
    assert (outcome.status, outcome.rows_loaded, outcome.rows_rejected) == ("loaded", 300, 1)
    with connect() as conn:
        [(row, reason)] = conn.execute("SELECT row_number, reason FROM sales.rejects").fetchall()
    assert row == 151 and "malformed line 152" in reason


def _hold_read_connection(path: str, seconds: float, ready) -> None:
    conn = duckdb.connect(path, read_only=True)
    conn.execute("SELECT count(*) FROM sales.files").fetchall()
    ready.set()
    time.sleep(seconds)
    conn.close()


@pytest.mark.slow
def test_load_waits_for_a_reader_holding_the_warehouse(land, landing, supermarket_csv):
    digest = land(supermarket_csv, "market")
    ready = multiprocessing.get_context("spawn").Event()
    reader = multiprocessing.get_context("spawn").Process(
        target=_hold_read_connection, args=(str(settings().warehouse), 3.0, ready)
    )
    reader.start()
    try:
        assert ready.wait(60)
        started = time.monotonic()
        outcome = process_landed(digest, landing)
        waited = time.monotonic() - started
    finally:
        reader.join(30)
    assert outcome.status == "loaded" and outcome.rows_loaded == 1000
    assert waited >= 1.0  # it waited for the reader's lock rather than failing
