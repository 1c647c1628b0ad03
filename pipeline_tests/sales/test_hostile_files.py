"""Files that used to load silently wrong or crash: decimal commas, a file's own total that
disagrees, one bad date among thousands, broken spec YAML, a negative quantity with a cost."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline.cli import main
from pipeline.lib.sales import reading, staging
from pipeline.lib.sales.spec import infer_date_format
from pipeline.lib.settings import settings
from pipeline_tests.sales.conftest import connect, process_landed


def query(sql, params=None):
    with connect() as conn:
        return conn.execute(sql, params or []).fetchall()


def rejects(source_file: str) -> list[tuple]:
    return query(
        'SELECT row_number, "column", reason, value FROM sales.rejects WHERE source_file = ?'
        ' ORDER BY row_number, "column"',
        [source_file],
    )


def read_rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))


def write_rows(path: Path, rows: list[list[str]], delimiter: str = ",") -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, delimiter=delimiter).writerows(rows)
    return path


# --- decimal commas and thousands separators -------------------------------------------------


def as_decimal_comma(rows: list[list[str]]) -> list[list[str]]:
    return [rows[0], *([cell.replace(".", ",") for cell in row] for row in rows[1:])]


def test_decimal_comma_file_loads_the_same_figures_as_the_original(
    land, landing, tmp_path, supermarket_csv
):
    original = process_landed(land(supermarket_csv, "dot"), landing)
    comma = write_rows(
        tmp_path / "comma.csv", as_decimal_comma(read_rows(supermarket_csv)), delimiter=";"
    )
    outcome = process_landed(land(comma, "comma"), landing)
    assert (outcome.status, outcome.rows_loaded) == ("loaded", original.rows_loaded)
    sums = "SELECT round(sum(unit_price), 2), round(sum(revenue), 2), round(sum(tax), 2),"
    sums += " round(sum(gross_total), 2), round(sum(profit), 2) FROM sales.transactions"
    assert query(sums + " WHERE datasource = 'comma'") == query(sums + " WHERE datasource = 'dot'")
    assert query(
        "SELECT unit_price, round(revenue, 2) FROM sales.transactions WHERE datasource = 'comma'"
        " AND order_id = '750-67-8428'"
    ) == [(74.69, 522.83)]
    assert any("decimal comma" in note for note in outcome.notes)
    # The spec written for review says so.
    assert 'decimal: ","' in (landing.root / outcome.spec_key).read_text().replace("'", '"')


def test_thousands_separators_in_either_convention(land, landing, tmp_path):
    header = ["Order ID", "Date", "Qty", "Price"]
    european = [["E1", "2024-05-01", "1", "1.234,50"], ["E2", "2024-05-01", "2", "12,5"]]
    american = [["A1", "2024-05-01", "1", "$1,234.50"], ["A2", "2024-05-01", "2", "12.5"]]
    eu = process_landed(
        land(write_rows(tmp_path / "eu.csv", [header, *european], ";"), "eu"), landing
    )
    us = process_landed(land(write_rows(tmp_path / "us.csv", [header, *american]), "us"), landing)
    assert eu.status == us.status == "loaded"
    prices = "SELECT order_id, unit_price FROM sales.transactions WHERE datasource = ? ORDER BY 1"
    assert query(prices, ["eu"]) == [("E1", 1234.5), ("E2", 12.5)]
    assert query(prices, ["us"]) == [("A1", 1234.5), ("A2", 12.5)]


def test_a_stray_decimal_comma_is_a_row_reject_not_a_value_100x_off(land, landing, tmp_path):
    rows = [["Order ID", "Date", "Qty", "Price"]]
    rows += [[f"P{i}", "2024-05-01", "1", f"{10 + i % 50}.25"] for i in range(300)]
    rows[120][3] = "74,69"
    outcome = process_landed(land(write_rows(tmp_path / "stray.csv", rows), "stray"), landing)
    assert (outcome.status, outcome.rows_loaded, outcome.rows_rejected) == ("loaded", 299, 1)
    [(row, column, reason, value)] = rejects("stray.csv")
    assert (row, column, value) == (120, "unit_price", "74,69")
    assert "decimal point" in reason
    assert query("SELECT max(unit_price) FROM sales.transactions") == [(59.25,)]


def test_a_column_that_reads_two_ways_rejects_the_file_naming_it(land, landing, tmp_path):
    rows = [["Order ID", "Date", "Qty", "Price"]]
    rows += [[f"T{i}", "2024-05-01", "1", f"{1 + i % 9},{250 + i:03d}"] for i in range(40)]
    outcome = process_landed(
        land(write_rows(tmp_path / "thousands.csv", rows, ";"), "ambiguous"), landing
    )
    assert outcome.status == "rejected"
    assert "'Price'" in outcome.reason and "decimal" in outcome.reason
    assert query("SELECT count(*) FROM sales.transactions") == [(0,)]
    assert (landing.root / "rejected/ambiguous/thousands.csv.errors.json").exists()


def test_decimal_from_a_hand_written_spec_wins_and_still_reads_strictly(land, landing, tmp_path):
    config = tmp_path / "config"
    (config / "sales").mkdir(parents=True)
    (config / "sales" / "eu_shop.yaml").write_text(
        "columns: {order_id: Order ID, order_date: Date, quantity: Qty, unit_price: Price}\n"
        'decimal: ","\n'
    )
    rows = [["Order ID", "Date", "Qty", "Price"]]
    rows += [[f"S{i}", "2024-05-01", "1", f"1,{250 + i:03d}"] for i in range(199)]
    rows.append(["S-dot", "2024-05-01", "1", "1.5"])
    outcome = process_landed(
        land(write_rows(tmp_path / "eu_shop.csv", rows, ";"), "eu_shop"), landing, config
    )
    assert (outcome.status, outcome.rows_loaded) == ("loaded", 199)
    assert query("SELECT min(unit_price), max(unit_price) FROM sales.transactions") == [
        (1.25, 1.448)
    ]
    [(row, column, reason, value)] = rejects("eu_shop.csv")
    assert (row, column, value) == (200, "unit_price", "1.5") and "decimal comma" in reason


# --- the file's own total column -------------------------------------------------------------


def test_revenue_that_disagrees_with_the_files_total_rejects_the_file(
    land, landing, tmp_path, supermarket_csv
):
    rows = read_rows(supermarket_csv)
    price = rows[0].index("Unit price")
    # Unit prices 100x off (a lost decimal point): Total and Tax 5% still say the truth.
    off = [rows[0], *([*r[:price], r[price].replace(".", ""), *r[price + 1 :]] for r in rows[1:])]
    outcome = process_landed(land(write_rows(tmp_path / "off.csv", off), "off"), landing)
    assert outcome.status == "rejected"
    assert query("SELECT count(*) FROM sales.transactions") == [(0,)]
    report = json.loads((landing.root / outcome.errors_key).read_text())
    first = report["errors"][0]
    assert first["column"] == "unit_price" and "Total" in first["reason"]


def test_one_line_whose_total_disagrees_is_a_row_reject(land, landing, tmp_path, supermarket_csv):
    rows = read_rows(supermarket_csv)
    rows[5][rows[0].index("Total")] = "9999.99"
    outcome = process_landed(land(write_rows(tmp_path / "one_off.csv", rows), "one_off"), landing)
    assert (outcome.status, outcome.rows_loaded, outcome.rows_rejected) == ("loaded", 999, 1)
    [(row, column, reason, _value)] = rejects("one_off.csv")
    assert (row, column) == (5, "unit_price") and "Total" in reason and "9999.99" in reason


# --- dates -----------------------------------------------------------------------------------


def test_date_inference_picks_the_format_that_reads_most_values():
    good = [f"{1 + i % 12}/{1 + i % 28}/2019" for i in range(1000)]
    assert infer_date_format(["31/31/2019", *good]) == "%m/%d/%Y"
    assert infer_date_format([*good[:500], "31/31/2019", *good[500:]]) == "%m/%d/%Y"


@pytest.mark.parametrize("bad_row", [100, 6000])
def test_one_bad_date_is_one_reject_wherever_it_is(
    land, landing, tmp_path, superstore_csv, bad_row
):
    rows = read_rows(superstore_csv)
    date = rows[0].index("Order Date")
    rows[bad_row][date] = "31/31/19"
    path = write_rows(tmp_path / "store.csv", rows)
    outcome = process_landed(land(path, "store"), landing)
    assert (outcome.status, outcome.rows_total, outcome.rows_loaded) == ("loaded", 10194, 10193)
    assert rejects("store.csv") == [
        (bad_row, "order_date", "cannot read '31/31/19' as a date in format %d/%m/%y", "31/31/19")
    ]


# --- broken spec files -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec_text", "expected"),
    [
        ("columns: [unclosed\n", "not valid YAML at line 2, column 1: expected ',' or ']'"),
        (
            "columns: {order_id: Order ID, order_date: Order Date, quantity: Qty,"
            " unit_price: Unit price}\nmax_bad_row_ratio: lots\n",
            "max_bad_row_ratio",
        ),
        (
            "columns: {order_id: Order ID, order_date: Order Date, quantity: Qty,"
            " unit_price: Unit price}\ndecimal: ';'\n",
            "decimal",
        ),
        (
            "columns: {order_id: Order ID, order_date: Order Date, quantity: Qty,"
            " unit_price: Unit price}\nmax_bad_rows: 0.5\n",
            "max_bad_rows",
        ),
        ("- just\n- a list\n", "mapping"),
        (
            "columns: {order_id: Order ID, order_date: Order Date, quantity: Qty,"
            " unit_price: Unit price}\ndate_format: '%d/%Q'\n",
            "'date_format' '%d/%Q' is not a strptime format",
        ),
    ],
)
def test_a_broken_spec_rejects_the_file_naming_spec_and_field(
    land, landing, tmp_path, spec_text, expected
):
    config = tmp_path / "config"
    (config / "sales").mkdir(parents=True)
    spec_path = config / "sales" / "shop.yaml"
    spec_path.write_text(spec_text)
    rows = [["Order ID", "Order Date", "Qty", "Unit price"], ["O1", "2024-05-01", "1", "2.5"]]
    digest = land(write_rows(tmp_path / "orders.csv", rows), "shop")
    outcome = process_landed(digest, landing, config)
    assert outcome.status == "rejected"
    assert str(spec_path) in outcome.reason and expected in outcome.reason
    report = json.loads((landing.root / "rejected/shop/orders.csv.errors.json").read_text())
    assert report["reason"] == outcome.reason
    assert query("SELECT status FROM sales.files WHERE file_hash = ?", [outcome.file_hash]) == [
        ("rejected",)
    ]


def test_ingest_wait_with_a_broken_spec_says_why_and_where_the_report_is(pipeline_env, tmp_path):
    config = tmp_path / "config"
    (config / "sales").mkdir(parents=True)
    (config / "sales" / "shop.yaml").write_text("columns: [unclosed\n")
    path = write_rows(
        tmp_path / "orders.csv",
        [["Order ID", "Order Date", "Qty", "Unit price"], ["O1", "2024-05-01", "1", "2.5"]],
    )
    result = CliRunner().invoke(
        main,
        ["ingest", str(path), "--datasource", "shop", "--wait"],
        env={"PIPELINE_CONFIG_DIR": str(config)},
        catch_exceptions=False,
    )
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    [rejected] = [line for line in result.output.splitlines() if line.startswith("REJECTED")]
    assert rejected.startswith("REJECTED orders.csv: ") and "shop.yaml" in rejected
    assert "None" not in rejected
    report = settings().data_dir / "landing/rejected/shop/orders.csv.errors.json"
    assert f"report: {report.relative_to(settings().data_dir / 'landing')}" in result.output
    assert report.exists()


# --- only the real cause ---------------------------------------------------------------------


def test_a_negative_quantity_is_reported_once_not_as_a_unit_cost_too(land, landing, tmp_path):
    rows = [["Order ID", "Date", "Qty", "Unit price", "cogs"]]
    rows += [[f"N{i}", "2024-05-01", "2", "1.5", "2.0"] for i in range(199)]
    rows.append(["N-neg", "2024-05-01", "-4", "1.5", "4.0"])
    outcome = process_landed(land(write_rows(tmp_path / "neg.csv", rows), "neg"), landing)
    assert (outcome.status, outcome.rows_loaded) == ("loaded", 199)
    assert [(r[0], r[1], r[2]) for r in rejects("neg.csv")] == [
        (200, "quantity", "must be greater than 0")
    ]


def test_big_csv_inference_reads_evenly_spaced_chunks(tmp_path, monkeypatch, superstore_csv):
    # The sampling path of files over INFER_WHOLE_FILE_BYTES, on a small file: a bad date
    # near the top and decimal commas must be judged the same as over the whole column.
    monkeypatch.setattr(reading, "INFER_WHOLE_FILE_BYTES", 0)
    monkeypatch.setattr(reading, "INFER_SAMPLE_CHUNKS", 16)
    monkeypatch.setattr(reading, "INFER_SAMPLE_CHUNK_BYTES", 8192)
    rows = read_rows(superstore_csv)
    rows[3][rows[0].index("Order Date")] = "31/31/19"
    path = write_rows(tmp_path / "store.csv", as_decimal_comma(rows), delimiter=";")
    work_dir = tmp_path / "work"
    result = staging.stage_file(
        path, name=path.name, datasource="store", spec=None, work_dir=work_dir
    )
    sample = (work_dir / "inference_sample.csv").read_text(encoding="utf-8-sig")
    assert 100 < sample.count("\n") < 1000  # chunks, not the whole file
    assert result.spec.date_format == "%d/%m/%y"
    assert result.spec.decimals == {f: "," for f in ("line_total", "profit", "discount")}
    assert (result.rows_total, result.rows_bad) == (10194, 1)


def test_chunk_sampling_reads_a_file_without_quoting(tmp_path, monkeypatch):
    monkeypatch.setattr(reading, "INFER_WHOLE_FILE_BYTES", 0)
    monkeypatch.setattr(reading, "INFER_SAMPLE_CHUNK_BYTES", 4096)
    rows = [["Order ID", "Date", "Qty", "Price"]]
    rows += [[f"Q{i}", f"{1 + i % 28}/{1 + i % 12}/2024", "2", f"{i % 90},5"] for i in range(5000)]
    path = write_rows(tmp_path / "plain.csv", rows, delimiter=";")
    assert '"' not in path.read_text()
    result = staging.stage_file(
        path, name=path.name, datasource="plain", spec=None, work_dir=tmp_path / "work"
    )
    assert (result.spec.date_format, result.spec.decimals) == ("%d/%m/%Y", {"unit_price": ","})
    assert (result.rows_total, result.rows_bad) == (5000, 0)
