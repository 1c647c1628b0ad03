"""The paths big files take: validation through the schema's SQL form (same rejects as Pandera
on every row), line numbers worked out before the load, the hash-first uniqueness check, and
`pipeline ingest --wait` as one run whose failed blocking check stops the analytics."""

from __future__ import annotations

import duckdb
import pandera.polars as pa
import pytest

import pipeline.lib.sales.staging as staging
from pipeline.definitions import defs
from pipeline.defs.sales.operations import process_now
from pipeline.lib.health_checks import uniqueness
from pipeline.lib.sales import typed, validation
from pipeline_tests.sales.conftest import connect, process_landed

HEADER = "Order ID,Order Date,Store,Category,Qty,Unit price,Unit cost,Discount,Tax"
# Every kind of bad value the schema knows, and values that look bad but are not.
ROWS = [
    "A-1,2024-05-01,North,Tools,2,2.5,1.0,0.1,0.2",
    "A-2,2024-05-01,North,Tools,x,2.5,1.0,,",  # unreadable quantity
    "A-3,2024-05-01,North,Tools,-4,2.5,,,",  # quantity must be > 0
    "A-4,2024-05-01,North,Tools,0,2.5,,,",
    "A-5,2024-05-01,North,Tools,nan,2.5,,,",  # NaN: a missing value to Pandera
    "A-6,2024-05-01,North,Tools,inf,2.5,,,",  # inf > 0: passes
    "A-7,2024-05-01,North,Tools,-inf,2.5,,,",
    "A-8,2024-05-01,North,Tools,,2.5,,,",  # missing
    "A-9,2024-05-01,North,Tools,1,-1,,,",  # unit price must be >= 0
    'A-10,2024-05-01,North,Tools,1,"$1,234.50",,,',  # decorated but readable
    "A-11,2024-05-01,North,Tools,1,abc,,,",
    "A-12,2024-05-01,North,Tools,1,nan,,,",
    "A-13,2024-05-01,North,Tools,1,2,-2,,",  # unit cost must be >= 0
    "A-14,2024-05-01,North,Tools,1,2,nan,,",  # nullable NaN: Pandera decides
    "A-15,2024-05-01,North,Tools,1,2,,1.5,",  # discount at most 1
    "A-16,2024-05-01,North,Tools,1,2,,-0.1,",
    "A-17,2024-05-01,North,Tools,1,2,,nan,",
    "A-18,2024-05-01,North,Tools,1,2,,,-3",  # tax >= 0
    "A-19,1969-12-31,North,Tools,1,2,,,",  # date before 1970
    "A-20,2999-01-01,North,Tools,1,2,,,",  # more than a year ahead
    "A-21,someday,North,Tools,1,2,,,",  # unreadable date
    "A-22,,North,Tools,1,2,,,",
    "   ,2024-05-01,North,Tools,1,2,,,",  # empty order id
    "A-24,2024-05-01,,,1,2,,,",  # no branch or category: 'unknown', fine
    "A-25,2024-05-01,North",  # malformed: too few fields
    "A-26,2024-05-01,North,Tools,-1,-1,-1,2,-1",  # several columns at once
]


def _csv(tmp_path, repeat: int = 1):
    lines = [HEADER]
    for copy in range(repeat):
        lines += [row.replace("A-", f"A{copy}-", 1) for row in ROWS]
        lines += [f"G{copy}-{i},2024-05-02,South,Paint,{1 + i % 3},1.5,1,0,0" for i in range(50)]
    path = tmp_path / "mixed.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def _stage(path, work_dir, monkeypatch, full_rows: int) -> tuple[staging.StageResult, list]:
    monkeypatch.setattr(staging, "FULL_VALIDATION_ROWS", full_rows)
    seen = []
    original = staging.validate_batch
    monkeypatch.setattr(
        staging,
        "validate_batch",
        lambda frame, kinds: seen.append(frame.height) or original(frame, kinds),
    )
    result = staging.stage_file(
        path, name=path.name, datasource="mixed", spec=None, work_dir=work_dir
    )
    conn = duckdb.connect(str(result.scratch), read_only=True)
    try:
        rejects = conn.execute('SELECT * FROM rejects ORDER BY row_number, "column"').fetchall()
    finally:
        conn.close()
    return result, rejects, sum(seen)


def test_sql_prefilter_gives_the_same_rejects_as_pandera_on_every_row(tmp_path, monkeypatch):
    path = _csv(tmp_path, repeat=20)
    every, every_rejects, every_rows = _stage(path, tmp_path / "every", monkeypatch, 10**9)
    big, big_rejects, big_rows = _stage(path, tmp_path / "big", monkeypatch, 0)
    assert big_rejects == every_rejects
    assert (big.rows_total, big.rows_bad) == (every.rows_total, every.rows_bad)
    assert every_rows == every.rows_total - 20  # Pandera saw every typed row (not malformed)
    assert big_rows < every_rows / 3  # ...and here only the flagged ones
    reasons = {(r[1], r[2]) for r in big_rejects}
    assert ("quantity", "cannot read 'x' as a number") in reasons
    assert ("quantity", "must be greater than 0") in reasons
    assert ("discount", "must be at most 1") in reasons
    assert ("order_date", "cannot read 'someday' as a date in format %Y-%m-%d") in reasons
    # A-6 (inf), A-10 ($1,234.50), A-14 (NaN unit cost) and A-24 pass in both.
    bad_orders = {row.split(",")[0] for row in ROWS[1:] if row.split(",")[0].strip()}
    assert big.rows_bad == 20 * (len(bad_orders) - 4 + 1)  # + the empty order id


def test_candidate_predicate_covers_the_schema_or_steps_aside():
    predicate = validation.candidate_predicate()
    for column in ("order_id", "order_date", "quantity", "unit_price", "unit_cost", "discount"):
        assert column in predicate

    class WithMembership(pa.DataFrameModel):
        branch: str = pa.Field(isin=["North", "South"])

    # A check with no SQL form: every row goes through Pandera.
    assert validation.candidate_predicate(WithMembership) is None


def test_lines_are_numbered_in_file_order_within_orders(land, landing, tmp_path):
    path = tmp_path / "scattered.csv"
    path.write_text(
        "Order ID,Order Date,Category,Sales,Quantity\n"
        "O-1,2024-01-02,Paint,10,1\n"
        "O-2,2024-01-02,Paint,11,1\n"
        "O-1,2024-01-02,Paint,12,x\n"  # rejected: keeps its place as O-1's line 2
        "O-3,2024-01-03\n"  # malformed
        "O-1,2024-01-02,Tools,13,1\n"
        "O-2,2024-01-02,Tools,14,1\n" + "".join(f"F-{i},2024-01-04,Paint,1,1\n" for i in range(300))
    )
    outcome = process_landed(land(path, "web"), landing)
    assert (outcome.status, outcome.rows_loaded, outcome.rows_rejected) == ("loaded", 304, 2)
    with connect() as conn:
        lines = conn.execute(
            "SELECT order_id, line, row_number, revenue FROM sales.transactions"
            " WHERE order_id LIKE 'O-%' ORDER BY row_number"
        ).fetchall()
    assert lines == [
        ("O-1", 1, 1, 10.0),
        ("O-2", 1, 2, 11.0),
        ("O-1", 3, 5, 13.0),
        ("O-2", 2, 6, 14.0),
    ]


def test_uniqueness_check_finds_duplicates(land, landing, supermarket_csv):
    process_landed(land(supermarket_csv, "market"), landing)
    with connect() as conn:
        verdict = uniqueness(conn, "sales.transactions", ["datasource", "order_id", "line"])
        assert verdict.passed and verdict.metadata["rows"] == 1000
        conn.execute("INSERT INTO sales.transactions SELECT * FROM sales.transactions LIMIT 2")
        verdict = uniqueness(conn, "sales.transactions", ["datasource", "order_id", "line"])
    assert not verdict.passed and verdict.metadata["duplicates"] == 2
    assert "duplicate rows on (datasource, order_id, line)" in verdict.description


def test_one_run_and_a_failed_blocking_check_stops_the_analytics(instance, land, tmp_path):
    loaded = defs()
    first = tmp_path / "first.csv"
    first.write_text("order_id,date,qty,price\nA1,2024-03-01,2,10\nA2,2024-03-02,1,5\n")
    [result] = process_now(loaded, instance, land(first, "shop", instance=instance))
    assert result.success
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert {"sales_transactions", "sales_daily", "dashboard"} <= materialized
    checks = {c.check_name: c.passed for c in result.get_asset_check_evaluations()}
    assert checks["sales_lines_unique"] and checks["sales_revenue_non_negative"]

    with connect() as conn:  # a duplicate key slips in behind the loader's back
        conn.execute("INSERT INTO sales.transactions SELECT * FROM sales.transactions LIMIT 1")
    second = tmp_path / "second.csv"
    second.write_text("order_id,date,qty,price\nB1,2024-03-05,1,5\n")
    [result] = process_now(loaded, instance, land(second, "shop", instance=instance))
    assert not result.success
    checks = {c.check_name: c.passed for c in result.get_asset_check_evaluations()}
    assert checks["sales_lines_unique"] is False
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert "sales_transactions" in materialized and "sales_daily" not in materialized


@pytest.mark.parametrize("value", ["12", " 12 ", "1e3", "$1,234.50", "12 %", "-0", "abc", ""])
def test_numbers_read_the_same_with_case_as_with_coalesce(value):
    conn = duckdb.connect()
    text = "trim(CAST(v AS VARCHAR))"
    coalesced = (
        f"COALESCE(TRY_CAST({text} AS DOUBLE),"
        f" TRY_CAST(NULLIF(regexp_replace({text}, '[^0-9.eE+-]', '', 'g'), '') AS DOUBLE))"
    )
    case = typed.number_expr("v", "VARCHAR", ".")
    got = conn.execute(f"SELECT {case}, {coalesced} FROM (SELECT ? AS v)", [value]).fetchall()
    assert got[0][0] == got[0][1]


def _stage_lines(path, work_dir, monkeypatch, *, text_path_only: bool):
    """Stage `path`; returns the relations its typed lines were read from, the lines, the
    rejects and the raw_* columns kept for quoting."""
    read_from = []
    write = staging._write_typed
    monkeypatch.setattr(
        staging,
        "_write_typed",
        lambda conn, sql, out: read_from.append(sql.rsplit("FROM ", 1)[1]) or write(conn, sql, out),
    )
    if text_path_only:
        monkeypatch.setattr(staging, "typed_csv_source", lambda *args: None)
    result = staging.stage_file(
        path, name=path.name, datasource="mixed", spec=None, work_dir=work_dir
    )
    monkeypatch.undo()
    conn = duckdb.connect(str(result.scratch), read_only=True)
    try:
        # The lines' values; raw_* (the text a reject quotes) exist only where a value can be
        # unreadable text, and what they quote is compared in the rejects.
        lines = conn.execute(
            "SELECT COLUMNS(c -> NOT starts_with(c, 'raw_')) FROM typed ORDER BY position"
        ).fetchall()
        rejects = conn.execute('SELECT * FROM rejects ORDER BY row_number, "column"').fetchall()
        quoted = [
            c for c in conn.sql("SELECT * FROM typed LIMIT 0").columns if c.startswith("raw_")
        ]
    finally:
        conn.close()
    return read_from, lines, rejects, quoted


def test_a_clean_csv_is_typed_by_the_reader_as_the_text_path_types_it(tmp_path, monkeypatch):
    rows = [f"G-{i},2024-05-02,South,Paint,{1 + i % 3},1.5,1,0,0" for i in range(50)]
    rows += ["C-1,2024-05-03,North,Tools, 2 ,2.5,1.0,,", "C-2,2024-05-03,North,Tools,inf,2,,0.1,"]
    rows += ["C-3,2024-05-04,,,1,1e2,,,", "C-4,2024-05-04,North,Tools,,2,,,"]
    path = tmp_path / "clean.csv"
    path.write_text(HEADER + "\n" + "\n".join(rows) + "\n")
    fast = _stage_lines(path, tmp_path / "fast", monkeypatch, text_path_only=False)
    text = _stage_lines(path, tmp_path / "text", monkeypatch, text_path_only=True)
    assert fast[0] == ["typed_csv) AS p"] and text[0] == ["source) AS p"]
    assert fast[1] == text[1] and len(fast[1]) == 54
    assert fast[2] == text[2] and [r[:2] for r in fast[2]] == [(54, "quantity")]
    # Every value was read as a number or a date: nothing to quote, so no raw_* column is
    # written with the lines (the text path keeps them for the values it may not read).
    assert fast[3] == [] and fast[3] != text[3]


def test_a_csv_the_typed_reader_refuses_is_read_as_text_with_the_same_rejects(
    tmp_path, monkeypatch
):
    path = _csv(tmp_path)
    fast = _stage_lines(path, tmp_path / "fast", monkeypatch, text_path_only=False)
    text = _stage_lines(path, tmp_path / "text", monkeypatch, text_path_only=True)
    assert fast[0][-1] == "source) AS p" and text[0] == ["source) AS p"]
    assert repr(fast[1:]) == repr(text[1:])  # repr: NaN quantities are values here
    assert ("quantity", "cannot read 'x' as a number") in {(r[1], r[2]) for r in fast[2]}
