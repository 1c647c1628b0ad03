"""Read a landed file into a scratch DuckDB database as typed sales lines, validate them, and
load the good ones into the warehouse in one transaction.

Everything streams: DuckDB reads CSV/Parquet itself (spilling to disk under a memory limit)
and reads the file once, into the typed table; validation is SQL over that table (Pandera sees
only the rows that can fail, or every row of a small file), and the line numbers within orders
are worked out beside it, so a 500 MB file never sits in memory and the warehouse lock is held
only for the final copy, a plain scan of the staged rows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa

from pipeline.lib.sales.formats import FileRejected, detect_format, prepare_csv
from pipeline.lib.sales.spec import (
    IngestionSpec,
    check_spec,
    infer_date_format,
    infer_spec,
)
from pipeline.lib.sales.validation import SalesLineSchema, candidate_predicate, validate_batch

MEMORY_LIMIT = "600MB"
THREADS = 2
VALIDATION_BATCH_ROWS = 1_000_000
# Up to this many lines every row goes through Pandera; above it, only the rows the schema's SQL
# form (validation.candidate_predicate) flags. Both give the same rejects.
FULL_VALIDATION_ROWS = 250_000
DEFAULT_MAX_EXCEL_BYTES = 50 * 1024 * 1024
DATE_SAMPLE_ROWS = 5000

STAGED_COLUMNS = (
    "order_id", "order_date", "branch", "product_line", "product", "quantity", "unit_price",
    "revenue", "unit_cost", "cost", "profit", "discount", "tax", "gross_total",
)  # fmt: skip
TRANSACTION_COLUMNS = (
    "datasource", "order_id", "line", "order_date", "branch", "product_line", "product",
    "quantity", "unit_price", "revenue", "unit_cost", "cost", "profit", "discount", "tax",
    "gross_total", "source_file", "file_hash", "row_number", "is_sample", "loaded_at",
)  # fmt: skip


@dataclass
class StageResult:
    scratch: Path
    fmt: str
    spec: IngestionSpec
    encoding: str | None = None
    rows_total: int = 0
    rows_bad: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def rows_good(self) -> int:
        return self.rows_total - self.rows_bad

    @property
    def bad_ratio(self) -> float:
        return self.rows_bad / self.rows_total if self.rows_total else 1.0


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def configure(conn: duckdb.DuckDBPyConnection, temp_dir: Path | None = None) -> None:
    """Bound DuckDB's memory and threads for heavy sales work (the box has 2 cores shared with
    everything else); the warehouse connections are short-lived, so this ends with them."""
    conn.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
    conn.execute(f"SET threads = {THREADS}")
    if temp_dir is not None:
        conn.execute(f"SET temp_directory = {_quote_literal(str(temp_dir))}")


def _open_source(
    conn: duckdb.DuckDBPyConnection,
    path: Path,
    name: str,
    fmt: str,
    spec: IngestionSpec | None,
    work_dir: Path,
    max_excel_bytes: int,
    notes: list[str],
) -> str | None:
    """Make `source` name the file's rows; returns the CSV encoding when there is one."""
    if fmt in ("csv", "csv.gz"):
        prepared = prepare_csv(path, fmt, work_dir)
        if prepared.encoding != "utf-8":
            notes.append(
                f"encoding {prepared.encoding}; {prepared.transcoded_lines} line(s) read as Windows-1252"
                if prepared.transcoded_lines
                else f"encoding {prepared.encoding}"
            )
        # all_varchar: types are ours to decide (DuckDB's sniffer reads 03/01/19 as yy/mm/dd);
        # store_rejects keeps malformed lines (wrong field count, bad bytes) as row rejects.
        conn.execute(
            "CREATE VIEW source AS SELECT * FROM read_csv("
            f"{_quote_literal(str(prepared.path))}, header = true, all_varchar = true,"
            " store_rejects = true, rejects_table = 'csv_errors', rejects_scan = 'csv_scans')"
        )
        return prepared.encoding
    if fmt in ("xlsx", "xls"):
        size = path.stat().st_size
        if size > max_excel_bytes:
            raise FileRejected(
                f"{name}: {size / 1e6:.1f} MB is over the {max_excel_bytes / 1e6:.0f} MB limit for"
                " Excel files (a workbook is unpacked in memory); export it as CSV or Parquet"
            )
        frame = _read_excel(path, name, spec.sheet if spec else None)
        conn.register("source_frame", frame.to_arrow())
        conn.execute("CREATE TABLE source AS SELECT * FROM source_frame")
        conn.unregister("source_frame")
        return None
    conn.execute(f"CREATE VIEW source AS SELECT * FROM read_parquet({_quote_literal(str(path))})")
    return None


def _read_excel(path: Path, name: str, sheet: str | None) -> pl.DataFrame:
    try:
        if sheet:
            return pl.read_excel(path, sheet_name=sheet, engine="calamine")
        return pl.read_excel(path, sheet_id=1, engine="calamine")
    except Exception as error:
        raise FileRejected(f"{name}: cannot read the workbook: {error}") from error


def _text(col: str) -> str:
    return f"NULLIF(trim(CAST({col} AS VARCHAR)), '')"


def _number(col: str, dtype: str, decimal: str) -> str:
    if dtype in (
        "DOUBLE",
        "FLOAT",
        "BIGINT",
        "INTEGER",
        "SMALLINT",
        "TINYINT",
        "HUGEINT",
    ) or dtype.startswith("DECIMAL"):
        return f"CAST({col} AS DOUBLE)"
    text = f"trim(CAST({col} AS VARCHAR))"
    if decimal == ",":
        text = f"replace(replace({text}, '.', ''), ',', '.')"
    # Plain numbers cast directly; "$1,234.50" and "12 %" lose their decoration first. CASE, not
    # COALESCE: DuckDB evaluates every COALESCE argument on every row, CASE only the branch a
    # row takes, so the regexp runs only on values that are not plain numbers.
    plain = f"TRY_CAST({text} AS DOUBLE)"
    return (
        f"CASE WHEN {plain} IS NOT NULL THEN {plain} ELSE"
        f" TRY_CAST(NULLIF(regexp_replace({text}, '[^0-9.eE+-]', '', 'g'), '') AS DOUBLE) END"
    )


def _date(col: str, dtype: str, date_format: str | None) -> str:
    if dtype == "DATE" or dtype.startswith("TIMESTAMP"):
        return f"CAST({col} AS DATE)"
    if dtype in ("DOUBLE", "BIGINT", "INTEGER", "FLOAT"):
        # Excel serial day numbers (day 0 = 1899-12-30 in the 1900 date system).
        return f"CAST(DATE '1899-12-30' + TRY_CAST(floor({col}) AS INTEGER) AS DATE)"
    text = f"trim(CAST({col} AS VARCHAR))"
    if date_format:
        return f"TRY_CAST(try_strptime({text}, {_quote_literal(date_format)}) AS DATE)"
    return f"TRY_CAST({text} AS DATE)"


def typed_select(spec: IngestionSpec, types: dict[str, str]) -> tuple[str, dict[str, str]]:
    """SQL turning `source` into canonical typed columns, plus raw_<field> text kept only where
    a value could not be read (so reasons can quote it). Returns (sql, what-each-column-holds)."""
    cols = spec.columns

    def src(field_name: str) -> str:
        return _quote_ident(cols[field_name])

    def num(field_name: str) -> str | None:
        if field_name not in cols:
            return None
        return _number(src(field_name), types[cols[field_name]], spec.decimal)

    parsed = {
        "order_id": _text(src("order_id")),
        "order_date": _date(src("order_date"), types[cols["order_date"]], spec.date_format),
        "branch": f"COALESCE({_text(src('branch'))}, 'unknown')"
        if "branch" in cols
        else "'unknown'",
        "product_line": (
            f"COALESCE({_text(src('product_line'))}, 'unknown')"
            if "product_line" in cols
            else "'unknown'"
        ),
        "product": _text(src("product")) if "product" in cols else "NULL::VARCHAR",
    }
    for name in ("quantity", "unit_price", "line_total", "gross_total", "unit_cost",
                 "cost_total", "profit", "discount", "tax"):  # fmt: skip
        parsed[name] = num(name) or "NULL::DOUBLE"
    raw_fields = {
        "order_date": "order_date",
        "quantity": "quantity",
        "unit_price": next(f for f in ("unit_price", "line_total", "gross_total") if f in cols),
        "unit_cost": "unit_cost" if "unit_cost" in cols else "cost_total",
        "discount": "discount",
        "tax": "tax",
    }
    raw_fields = {typed: source for typed, source in raw_fields.items() if source in cols}
    for typed, source in raw_fields.items():
        parsed[f"text_{typed}"] = _text(src(source))
    raws = [
        f"CASE WHEN p.{typed} IS NULL THEN p.text_{typed} END AS raw_{typed}"
        for typed in raw_fields
    ]
    inner = ",\n  ".join(f"{expr} AS {name}" for name, expr in parsed.items())
    # Net revenue: quantity * unit_price; a file with only a line total gives unit_price.
    if "unit_price" in cols:
        revenue = "p.quantity * p.unit_price"
    elif "line_total" in cols:
        revenue = "p.line_total"
    else:
        revenue = "p.gross_total - COALESCE(p.tax, 0)"
    unit_price = "p.unit_price" if "unit_price" in cols else f"{revenue} / NULLIF(p.quantity, 0)"
    if "unit_cost" in cols:
        cost = "p.unit_cost * p.quantity"
    elif "cost_total" in cols:
        cost = "p.cost_total"
    elif "profit" in cols:
        cost = f"{revenue} - p.profit"
    else:
        cost = "NULL::DOUBLE"
    profit = "p.profit" if "profit" in cols else f"{revenue} - ({cost})"
    outer = [
        "p.order_id", "p.order_date", "p.branch", "p.product_line", "p.product", "p.quantity",
        f"{unit_price} AS unit_price", f"{revenue} AS revenue",
        f"({cost}) / NULLIF(p.quantity, 0) AS unit_cost", f"{cost} AS cost",
        f"{profit} AS profit", "p.discount", "p.tax", "p.gross_total", *raws,
    ]  # fmt: skip
    sql = f"SELECT {', '.join(outer)}\nFROM (SELECT\n  {inner}\nFROM source) AS p"
    date_kind = f"a date in format {spec.date_format}" if spec.date_format else "a date"
    kinds = {"order_date": date_kind, "quantity": "a number", "unit_price": "a number",
             "unit_cost": "a number", "discount": "a number", "tax": "a number"}  # fmt: skip
    return sql, kinds


def stage_file(
    path: Path,
    *,
    name: str,
    datasource: str,
    spec: IngestionSpec | None,
    work_dir: Path,
    max_excel_bytes: int = DEFAULT_MAX_EXCEL_BYTES,
) -> StageResult:
    """Read, type and validate one file into `work_dir/stage.duckdb`: `typed` (the lines in
    file order, numbered within their orders), `rejects`, `good_days` and, when DuckDB could
    not split some lines, `shifts` (see numbered_sql).
    Raises FileRejected or SpecError when the file as a whole cannot be read or mapped."""
    work_dir.mkdir(parents=True, exist_ok=True)
    fmt = detect_format(path, name)
    scratch = work_dir / "stage.duckdb"
    scratch.unlink(missing_ok=True)
    conn = duckdb.connect(str(scratch))
    notes: list[str] = []
    try:
        configure(conn, work_dir)
        try:
            encoding = _open_source(conn, path, name, fmt, spec, work_dir, max_excel_bytes, notes)
        except (duckdb.InvalidInputException, duckdb.IOException) as error:
            raise FileRejected(f"{name}: cannot be read as {fmt}: {error}") from error
        try:
            described = conn.execute("DESCRIBE SELECT * FROM source").fetchall()
        except duckdb.Error as error:
            raise FileRejected(f"{name}: cannot be read as {fmt}: {error}") from error
        types = {row[0]: row[1] for row in described}
        headers = list(types)
        if spec is None:
            spec = infer_spec(datasource, headers)
        else:
            check_spec(spec, headers)
        date_column = spec.columns["order_date"]
        if spec.date_format is None and types[date_column] == "VARCHAR":
            samples = conn.execute(
                f"SELECT {_quote_ident(date_column)} FROM source LIMIT {DATE_SAMPLE_ROWS}"
            ).fetchall()
            spec.date_format = infer_date_format([row[0] for row in samples])
        select_sql, kinds = typed_select(spec, types)
        try:
            conn.execute(f"CREATE TABLE typed AS {select_sql}")
        except (duckdb.InvalidInputException, duckdb.ConversionException) as error:
            raise FileRejected(f"{name}: cannot be read as {fmt}: {error}") from error
        result = StageResult(scratch, fmt, spec, encoding, notes=notes)
        _number_lines(conn)
        _validate(conn, result, kinds, name)
        _good_days(conn, has_rejects=result.rows_bad > 0)
        return result
    finally:
        conn.close()


def numbered_sql(prefix: str, shifted: bool) -> str:
    """`typed` with each line's data-row number in the file. `prefix` is "stage." when read
    from the warehouse side. Typed rows after the j-th (0-based) malformed data row m_j sit
    j + 1 rows further down the file: row = rowid + 1 + #{j : m_j - j <= rowid + 1}."""
    if not shifted:
        return f"SELECT rowid + 1 AS row_number, * FROM {prefix}typed"
    return (
        f"SELECT t.rowid + 1 + coalesce(s.k, 0) AS row_number, t.* FROM {prefix}typed AS t"
        f" ASOF LEFT JOIN {prefix}shifts AS s ON t.rowid + 1 >= s.threshold"
    )


def _number_lines(conn: duckdb.DuckDBPyConnection) -> None:
    """Add `line` to `typed`: the line's position within its order in file order (rejected
    rows keep their place, so a later fix of one line cannot collide). Only the order id and
    rowid go through the window, not the whole line, and it is done here, before the
    warehouse is locked, so the load is a plain parallel scan of `typed`."""
    conn.execute(
        "CREATE TEMP TABLE line_numbers AS SELECT rowid AS r,"
        " row_number() OVER (PARTITION BY order_id ORDER BY rowid) AS line FROM typed"
    )
    conn.execute("ALTER TABLE typed ADD COLUMN line BIGINT")
    conn.execute("UPDATE typed SET line = l.line FROM line_numbers AS l WHERE typed.rowid = l.r")
    conn.execute("DROP TABLE line_numbers")


def _good_days(conn: duckdb.DuckDBPyConnection, *, has_rejects: bool) -> None:
    """`good_days`: the dates the good lines touch, which the load marks dirty."""
    only_good = " WHERE row_number NOT IN (SELECT row_number FROM rejects)" if has_rejects else ""
    conn.execute(f"CREATE TABLE good_days AS SELECT DISTINCT order_date FROM numbered{only_good}")


def _validate(
    conn: duckdb.DuckDBPyConnection, result: StageResult, kinds: dict[str, str], name: str
) -> None:
    conn.execute(
        'CREATE TABLE rejects (row_number BIGINT, "column" VARCHAR, reason VARCHAR, value VARCHAR)'
    )
    malformed = 0
    if conn.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'csv_errors'"
    ).fetchall()[0][0]:
        # Lines DuckDB could not split into the header's columns or decode: not in `typed`,
        # so they add to the total. row_number is the data row of that line (line - 1).
        malformed = conn.execute(
            "INSERT INTO rejects SELECT DISTINCT ON (line) line - 1, column_name,"
            " 'malformed line ' || line || ': ' || error_type || ' (' || error_message || ')',"
            " left(csv_line, 200) FROM csv_errors ORDER BY line"
        ).fetchall()[0][0]
    if malformed:
        conn.execute(
            "CREATE TABLE shifts AS SELECT row_number - (row_number() OVER (ORDER BY row_number)"
            " - 1) AS threshold, row_number() OVER (ORDER BY row_number) AS k FROM rejects"
        )
    conn.execute(f"CREATE VIEW numbered AS {numbered_sql('', bool(malformed))}")
    typed_rows = conn.execute("SELECT count(*) FROM typed").fetchall()[0][0]
    found = []
    for frame in _rows_to_validate(conn, typed_rows):
        rejects = validate_batch(frame, kinds)
        if rejects.height:
            found.append(rejects)
    if found:
        conn.register("found_rejects", pl.concat(found).to_arrow())
        conn.execute("INSERT INTO rejects SELECT * FROM found_rejects")
        conn.unregister("found_rejects")
    bad_typed = (
        conn.execute("SELECT count(DISTINCT row_number) FROM rejects").fetchall()[0][0] - malformed
    )
    result.rows_total = typed_rows + malformed
    result.rows_bad = bad_typed + malformed
    if result.rows_total == 0:
        raise FileRejected(f"{name}: no data rows (only a header, or nothing readable)")


def _rows_to_validate(conn: duckdb.DuckDBPyConnection, typed_rows: int):
    """Polars frames for Pandera: every typed row of a small file, else only the rows the
    schema's SQL form flags (found by DuckDB in one pass over `typed`), unless the schema has
    a check with no SQL form."""
    # Only what the schema checks and the reasons quote: less to move per batch.
    wanted = ["row_number", *SalesLineSchema.to_schema().columns]
    wanted += [c for c in conn.sql("SELECT * FROM typed LIMIT 0").columns if c.startswith("raw_")]
    predicate = None if typed_rows <= FULL_VALIDATION_ROWS else candidate_predicate()
    where = f" WHERE {predicate}" if predicate else ""
    reader = conn.sql(f"SELECT {', '.join(wanted)} FROM numbered{where}").to_arrow_reader(
        VALIDATION_BATCH_ROWS
    )
    # DuckDB hands a filtered scan over in small batches; Pandera costs ~10 ms a call, so
    # gather them up to VALIDATION_BATCH_ROWS first.
    pending: list[pa.RecordBatch] = []
    size = 0
    for batch in reader:
        pending.append(batch)
        size += batch.num_rows
        if size >= VALIDATION_BATCH_ROWS:
            yield pl.from_arrow(pa.Table.from_batches(pending))
            pending, size = [], 0
    if size:
        yield pl.from_arrow(pa.Table.from_batches(pending))


def reject_sample(scratch: Path, limit: int = 1000) -> tuple[list[dict], int]:
    """Up to `limit` rejects for the report, and how many there are in all."""
    conn = duckdb.connect(str(scratch), read_only=True)
    try:
        total = conn.execute("SELECT count(*) FROM rejects").fetchall()[0][0]
        rows = conn.execute(
            f'SELECT row_number, "column", reason, value FROM rejects ORDER BY row_number, "column" LIMIT {limit}'
        ).fetchall()
    finally:
        conn.close()
    return [dict(zip(("row", "column", "reason", "value"), r, strict=True)) for r in rows], total


@dataclass(frozen=True)
class FileIdentity:
    file_hash: str
    datasource: str
    file_name: str
    is_sample: bool


def load_stage(
    conn: duckdb.DuckDBPyConnection, scratch: Path, ident: FileIdentity, *, load_rows: bool
) -> dict:
    """Copy the staged file into the warehouse in one transaction: rejects always (replacing
    this file's earlier ones); lines only when `load_rows`, replacing the lines of the same
    (datasource, order_id) and marking the old and new days dirty. Returns counts."""
    configure(conn)
    # The lines carry their row numbers: the table's physical order means nothing, and not
    # keeping it lets both threads write row groups side by side.
    conn.execute("SET preserve_insertion_order = false")
    now = dt.datetime.now(dt.UTC)
    conn.execute(f"ATTACH {_quote_literal(str(scratch))} AS stage (READ_ONLY)")
    try:
        conn.execute("BEGIN TRANSACTION")
        try:
            conn.execute("DELETE FROM sales.rejects WHERE file_hash = ?", [ident.file_hash])
            conn.execute(
                'INSERT INTO sales.rejects SELECT ?, ?, ?, row_number, "column", reason, value, ?'
                " FROM stage.rejects",
                [ident.file_hash, ident.datasource, ident.file_name, now],
            )
            counts = {"rows_loaded": 0, "rows_replaced": 0, "dirty_days": 0}
            if load_rows:
                counts = _load_lines(conn, ident, now)
            conn.execute("COMMIT")
        except Exception:
            conn.execute("ROLLBACK")
            raise
    finally:
        conn.execute("DETACH stage")
    return counts


def _load_lines(conn: duckdb.DuckDBPyConnection, ident: FileIdentity, now: dt.datetime) -> dict:
    """A file replaces whole orders: lines of its (good) orders already loaded from any file of
    the datasource go (so a correction with fewer lines leaves no stale line), then its lines
    are inserted, numbered within their order in file order."""
    params = [ident.datasource]
    shifted = bool(
        conn.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE database_name = 'stage'"
            " AND table_name = 'shifts'"
        ).fetchall()[0][0]
    )
    # The anti-join costs a pass even against an empty table: only filter when there are rejects.
    has_rejects = conn.execute("SELECT count(*) > 0 FROM stage.rejects").fetchall()[0][0]
    only_good = (
        " WHERE row_number NOT IN (SELECT row_number FROM stage.rejects)" if has_rejects else ""
    )
    good_lines = f"({numbered_sql('stage.', shifted)}) AS n{only_good}"
    replaced = 0
    # A datasource's first file has nothing to replace: no need to collect its orders.
    if conn.execute(
        "SELECT count(*) > 0 FROM (SELECT 1 FROM sales.transactions WHERE datasource = ? LIMIT 1)",
        params,
    ).fetchall()[0][0]:
        conn.execute(
            "CREATE OR REPLACE TEMP TABLE incoming_orders AS"
            f" SELECT DISTINCT order_id FROM {good_lines}"
        )
        conn.execute(
            "INSERT OR IGNORE INTO sales.dirty_days SELECT DISTINCT t.datasource, t.order_date"
            " FROM sales.transactions AS t SEMI JOIN incoming_orders AS o"
            " ON t.order_id = o.order_id WHERE t.datasource = ?",
            params,
        )
        replaced = conn.execute(
            "DELETE FROM sales.transactions AS t WHERE t.datasource = ?"
            " AND t.order_id IN (SELECT order_id FROM incoming_orders)",
            params,
        ).fetchall()[0][0]
        conn.execute("DROP TABLE incoming_orders")
    conn.execute(
        "INSERT OR IGNORE INTO sales.dirty_days SELECT ?, order_date FROM stage.good_days", params
    )
    columns = ", ".join(TRANSACTION_COLUMNS)
    loaded = conn.execute(
        f"INSERT INTO sales.transactions ({columns}) SELECT ?, order_id, line, order_date, branch,"
        " product_line, product, quantity, unit_price, revenue, unit_cost, cost, profit, discount,"
        f" tax, gross_total, ?, ?, row_number, ?, ? FROM {good_lines}",
        [ident.datasource, ident.file_name, ident.file_hash, ident.is_sample, now],
    ).fetchall()[0][0]
    dirty = conn.execute("SELECT count(*) FROM sales.dirty_days").fetchall()[0][0]
    return {"rows_loaded": loaded, "rows_replaced": replaced, "dirty_days": dirty}
