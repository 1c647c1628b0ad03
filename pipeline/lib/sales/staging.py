"""Stage a landed file: read it (reading.py), type it (typed.py) and validate it into a
scratch DuckDB database, ready for the load (loading.py).

Everything streams: DuckDB reads CSV/Parquet itself (spilling to disk under a memory limit)
and reads the file once into the typed lines (a Parquet file, see _write_typed), a clean CSV
with its own typed reader and any other as text typed by SQL (_write_typed_clean); validation is
SQL over them (Pandera sees only the rows that can fail, or every row of a small file), and the
line numbers within orders are worked out beside them, so a 500 MB file never sits in memory
and the warehouse lock is held only for the final copy, a plain scan of the staged rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa

from pipeline.lib.sales.duck import configure, quote_ident, quote_literal
from pipeline.lib.sales.formats import TRANSCODED_NAME, FileRejected, detect_format, unreadable
from pipeline.lib.sales.reading import (
    DEFAULT_MAX_EXCEL_BYTES,
    infer_decimals,
    inference_values,
    open_source,
    typed_csv_source,
)
from pipeline.lib.sales.spec import (
    IngestionSpec,
    check_spec,
    choose_date_format,
    date_format_counts_sql,
    infer_spec,
)
from pipeline.lib.sales.typed import TypedPlan, typed_select
from pipeline.lib.sales.validation import SalesLineSchema, candidate_predicate, validate_batch

VALIDATION_BATCH_ROWS = 1_000_000
# The typed lines, beside stage.duckdb (see _write_typed).
TYPED_FILE = "typed.parquet"
TYPED_COMPRESSION = "uncompressed"
# Up to this many lines every row goes through Pandera; above it, only the rows the schema's SQL
# form (validation.candidate_predicate) flags. Both give the same rejects.
FULL_VALIDATION_ROWS = 250_000


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
    def bad_ratio(self) -> float:
        return self.rows_bad / self.rows_total if self.rows_total else 1.0


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
    file order, a view of `work_dir/typed.parquet`), `line_numbers` (their place within their
    orders), `rejects`, `good_days`
    and, when DuckDB could not split some lines, `shifts` (see numbered_sql).
    Raises FileRejected or SpecError when the file as a whole cannot be read or mapped."""
    work_dir.mkdir(parents=True, exist_ok=True)
    fmt = detect_format(path, name)
    scratch = work_dir / "stage.duckdb"
    scratch.unlink(missing_ok=True)
    conn = duckdb.connect(str(scratch))
    notes: list[str] = []
    read_paths = (work_dir / TRANSCODED_NAME, path)  # shown as `name` in error messages
    try:
        configure(conn, work_dir)
        try:
            encoding, csv_path = open_source(
                conn, path, name, fmt, spec, work_dir, max_excel_bytes, notes
            )
        except (duckdb.InvalidInputException, duckdb.IOException) as error:
            raise unreadable(fmt, error, name, read_paths) from error
        try:
            described = conn.execute("DESCRIBE SELECT * FROM source").fetchall()
        except duckdb.Error as error:
            raise unreadable(fmt, error, name, read_paths) from error
        types = {row[0]: row[1] for row in described}
        headers = list(types)
        if spec is None:
            spec = infer_spec(datasource, headers)
        else:
            check_spec(spec, headers)
        relation = inference_values(conn, spec, types, csv_path, headers, work_dir)
        date_column = spec.columns["order_date"]
        if spec.date_format is None and types[date_column] == "VARCHAR":
            _, *counts = conn.execute(
                date_format_counts_sql(relation, quote_ident(date_column))
            ).fetchall()[0]
            spec.date_format = choose_date_format(counts)
        notes.extend(infer_decimals(conn, relation, spec, types))
        plan = typed_select(spec, types)
        if not (csv_path and _write_typed_clean(conn, csv_path, spec, types, work_dir)):
            try:
                _write_typed(conn, plan.sql, work_dir / TYPED_FILE)
            except (duckdb.InvalidInputException, duckdb.ConversionException) as error:
                raise unreadable(fmt, error, name, read_paths) from error
        result = StageResult(scratch, fmt, spec, encoding, notes=notes)
        _number_lines(conn)
        _validate(conn, result, plan)
        _good_days(conn, has_rejects=result.rows_bad > 0)
        return result
    finally:
        conn.close()


def _write_typed_clean(
    conn: duckdb.DuckDBPyConnection,
    csv_path: Path,
    spec: IngestionSpec,
    types: dict[str, str],
    work_dir: Path,
) -> bool:
    """_write_typed from the strict typed read of a CSV (reading.typed_csv_source); False, with
    nothing kept, when the file is not clean enough for it (or no column would be typed)."""
    path = work_dir / TYPED_FILE
    try:
        clean_types = typed_csv_source(conn, csv_path, spec, types)
        if clean_types is None:
            return False
        _write_typed(conn, typed_select(spec, clean_types, "typed_csv").sql, path)
    except duckdb.Error:
        conn.execute("DROP VIEW IF EXISTS typed")
        path.unlink(missing_ok=True)
        return False
    return True


def _write_typed(conn: duckdb.DuckDBPyConnection, sql: str, path: Path) -> None:
    """Write the typed lines once, in file order, as Parquet beside the scratch database, and
    make `typed` (with each line's `position`, 0-based) read them. Parquet, not a table: the
    lines are written once more anyway, into the warehouse, and a Parquet file costs a fraction
    of a DuckDB table to write (no per-segment compression analysis) while DuckDB still reads
    only the columns each later step needs."""
    conn.execute(
        f"COPY ({sql}) TO {quote_literal(str(path))} (FORMAT parquet, COMPRESSION {TYPED_COMPRESSION})"
    )
    conn.execute(
        "CREATE VIEW typed AS SELECT file_row_number AS position, * EXCLUDE (file_row_number)"
        f" FROM read_parquet({quote_literal(str(path))}, file_row_number = true)"
    )


def numbered_sql(prefix: str, shifted: bool, *, with_line: bool = False) -> str:
    """`typed` with each line's data-row number in the file (and, `with_line`, its `line`
    within its order). `prefix` is "stage." when read from the warehouse side. Typed rows
    after the j-th (0-based) malformed data row m_j sit j + 1 rows further down the file:
    row = position + 1 + #{j : m_j - j <= position + 1}."""
    lines = f"{prefix}typed AS t"
    if with_line:
        lines += f" JOIN {prefix}line_numbers AS l ON l.position = t.position"
    columns = "t.*, l.line" if with_line else "t.*"
    if not shifted:
        return f"SELECT t.position + 1 AS row_number, {columns} FROM {lines}"
    return (
        f"SELECT t.position + 1 + coalesce(s.k, 0) AS row_number, {columns} FROM {lines}"
        f" ASOF LEFT JOIN {prefix}shifts AS s ON t.position + 1 >= s.threshold"
    )


def _number_lines(conn: duckdb.DuckDBPyConnection) -> None:
    """`line_numbers`: each typed line's `line` within its order in file order (rejected rows
    keep their place, so a later fix of one line cannot collide), by `position`, which the load
    joins on. Only the order id and position go through the window, and it is done here,
    before the warehouse is locked."""
    conn.execute(
        "CREATE TABLE line_numbers AS SELECT position, row_number() OVER"
        " (PARTITION BY order_id ORDER BY position) AS line FROM typed"
    )


def _good_days(conn: duckdb.DuckDBPyConnection, *, has_rejects: bool) -> None:
    """`good_days`: the dates the good lines touch, which the load marks dirty."""
    only_good = " WHERE row_number NOT IN (SELECT row_number FROM rejects)" if has_rejects else ""
    conn.execute(f"CREATE TABLE good_days AS SELECT DISTINCT order_date FROM numbered{only_good}")


def _validate(conn: duckdb.DuckDBPyConnection, result: StageResult, plan: TypedPlan) -> None:
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
        rejects = validate_batch(frame, plan.kinds)
        if rejects.height:
            found.append(rejects)
    if found:
        conn.register("found_rejects", pl.concat(found).to_arrow())
        conn.execute("INSERT INTO rejects SELECT * FROM found_rejects")
        conn.unregister("found_rejects")
        if plan.derived:
            # A unit price or cost computed from a bad quantity is wrong because of it: report
            # only the quantity (the real cause).
            derived = ", ".join(quote_literal(c) for c in sorted(plan.derived))
            conn.execute(
                f'DELETE FROM rejects WHERE "column" IN ({derived}) AND row_number IN'
                " (SELECT row_number FROM rejects WHERE \"column\" = 'quantity')"
            )
    if plan.total_check:
        disagrees, reason = plan.total_check
        conn.execute(
            f"INSERT INTO rejects SELECT row_number, 'unit_price', {reason},"
            f" CAST(unit_price AS VARCHAR) FROM numbered WHERE {disagrees}"
        )
    bad_typed = (
        conn.execute("SELECT count(DISTINCT row_number) FROM rejects").fetchall()[0][0] - malformed
    )
    result.rows_total = typed_rows + malformed
    result.rows_bad = bad_typed + malformed
    if result.rows_total == 0:
        raise FileRejected("no data rows (only a header, or nothing readable)")


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
