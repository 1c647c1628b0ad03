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

from pipeline.lib.merge import merge_sql
from pipeline.lib.sales.formats import FileRejected, detect_format, prepare_csv
from pipeline.lib.sales.spec import (
    IngestionSpec,
    check_spec,
    choose_date_format,
    date_format_counts_sql,
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
# Inference (date format, decimal separator) reads the whole column of a file up to this size;
# a bigger plain CSV is sampled as evenly spaced chunks, so where a value sits does not matter.
INFER_WHOLE_FILE_BYTES = 8 * 1024 * 1024
INFER_SAMPLE_CHUNKS = 64
INFER_SAMPLE_CHUNK_BYTES = 64 * 1024
# A number as written with a decimal point (thousands by commas) or a decimal comma
# (thousands by dots), after currency signs, spaces and % are dropped. A thousands group
# never starts with 0, so "0.500" can only be a decimal point.
POINT_NUMBER = r"[+-]?([1-9][0-9]{0,2}(,[0-9]{3})+|[0-9]*)([.][0-9]+)?"
COMMA_NUMBER = r"[+-]?([1-9][0-9]{0,2}([.][0-9]{3})+|[0-9]*)(,[0-9]+)?"
NUMBER_DECORATION = "[^0-9.,+-]"
SEPARATOR_NAMES = {".": "decimal point", ",": "decimal comma"}
# The file's own total may differ from what its prices give by rounding (a unit price rounded
# to the cent drifts by up to half a cent per unit) and little else; a decimal or thousands
# mix-up is 10x off or more. See docs/sales.md.
TOTAL_RELATIVE_TOLERANCE = 0.02
TOTAL_PER_UNIT_TOLERANCE = 0.01
# A gross total without a tax column may include tax up to this rate.
MAX_UNSTATED_TAX = 0.30
NUMBER_FIELDS = ("quantity", "unit_price", "line_total", "gross_total", "unit_cost",
                 "cost_total", "profit", "discount", "tax")  # fmt: skip
DIRTY_DAY_COLUMNS = ("datasource", "order_date")
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
) -> tuple[str | None, Path | None]:
    """Make `source` name the file's rows; returns the CSV encoding and the (UTF-8) CSV DuckDB
    reads, when the file is a CSV."""
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
        return prepared.encoding, prepared.path
    if fmt in ("xlsx", "xls"):
        size = path.stat().st_size
        if size > max_excel_bytes:
            raise FileRejected(
                f"{size / 1e6:.1f} MB is over the {max_excel_bytes / 1e6:.0f} MB limit for"
                " Excel files (a workbook is unpacked in memory); export it as CSV or Parquet"
            )
        frame = _read_excel(path, spec.sheet if spec else None)
        conn.register("source_frame", frame.to_arrow())
        conn.execute("CREATE TABLE source AS SELECT * FROM source_frame")
        conn.unregister("source_frame")
        return None, None
    conn.execute(f"CREATE VIEW source AS SELECT * FROM read_parquet({_quote_literal(str(path))})")
    return None, None


def _inference_values(
    conn: duckdb.DuckDBPyConnection,
    spec: IngestionSpec,
    types: dict[str, str],
    csv_path: Path | None,
    headers: list[str],
    work_dir: Path,
) -> str:
    """A temporary table of the text columns inference looks at (the date and the numbers),
    read once from _inference_relation, so each column's counts do not re-read the file."""
    fields = ("order_date",) if spec.date_format is None else ()
    fields += NUMBER_FIELDS if spec.decimal is None else ()
    wanted = {spec.columns[f] for f in fields if f in spec.columns}
    wanted = [h for h in headers if h in wanted and types[h] == "VARCHAR"]
    if not wanted:
        return "source"
    relation = _inference_relation(conn, csv_path, headers, work_dir)
    conn.execute(
        f"CREATE TEMP TABLE inference AS SELECT {', '.join(map(_quote_ident, wanted))}"
        f" FROM {relation}"
    )
    return "inference"


def _inference_relation(
    conn: duckdb.DuckDBPyConnection, csv_path: Path | None, headers: list[str], work_dir: Path
) -> str:
    """What format inference reads: the whole `source`, or for a big plain CSV a sample of
    evenly spaced chunks over the whole file (read in the file's own dialect), so a value's
    position never decides the format and a 500 MB file is not read twice."""
    if (
        csv_path is None
        or csv_path.name.endswith(".gz")
        or csv_path.stat().st_size <= INFER_WHOLE_FILE_BYTES
    ):
        return "source"
    size = csv_path.stat().st_size
    sample = work_dir / "inference_sample.csv"
    with csv_path.open("rb") as handle, sample.open("wb") as sink:
        sink.write(handle.readline())  # the header
        for chunk in range(INFER_SAMPLE_CHUNKS):
            handle.seek(size * chunk // INFER_SAMPLE_CHUNKS)
            block = handle.read(INFER_SAMPLE_CHUNK_BYTES)
            # Whole lines only: drop the partial first line (the header in chunk 0) and the
            # partial last one.
            start, end = block.find(b"\n") + 1, block.rfind(b"\n") + 1
            if 0 < start < end:
                sink.write(block[start:end])
    # The sample is whole lines of the file under its header: its dialect is the file's, and
    # sniffing 4 MB is cheaper than sniffing 500.
    sniffed = conn.execute(
        "SELECT Delimiter, Quote, Escape FROM sniff_csv(?)", [str(sample)]
    ).fetchall()[0]
    # The sniffer says "(empty)" for a file without quoting: leave those options out.
    dialect = "".join(
        f", {option} = {_quote_literal(value)}"
        for option, value in zip(("delim", "quote", "escape"), sniffed, strict=True)
        if value != "(empty)"
    )
    names = ", ".join(_quote_literal(h) for h in headers)
    conn.execute(
        f"CREATE VIEW inference_source AS SELECT * FROM read_csv({_quote_literal(str(sample))},"
        f" header = true, all_varchar = true, ignore_errors = true, names = [{names}]{dialect})"
    )
    return "inference_source"


def _read_excel(path: Path, sheet: str | None) -> pl.DataFrame:
    try:
        if sheet:
            return pl.read_excel(path, sheet_name=sheet, engine="calamine")
        return pl.read_excel(path, sheet_id=1, engine="calamine")
    except Exception as error:
        raise FileRejected(f"cannot read the workbook: {error}") from error


def _text(col: str) -> str:
    return f"NULLIF(trim(CAST({col} AS VARCHAR)), '')"


def _number(col: str, dtype: str, decimal: str) -> str:
    """A number from a typed column, or from text written with `decimal` as the separator.
    Text in the other convention reads as NULL (a row reject quoting it), never as a value
    100x off: with a decimal point "74,69" is not 7469, with a decimal comma "1.5" is not 15."""
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
    # Plain numbers cast directly; "$1,234.50" and "12 %" lose their decoration first, and are
    # read only when their separators follow the column's convention. CASE, not COALESCE:
    # DuckDB evaluates every COALESCE argument on every row, CASE only the branch a row takes,
    # so the regexps run only on values that are not plain numbers.
    cleaned = f"regexp_replace({text}, '{NUMBER_DECORATION}', '', 'g')"
    if decimal == ",":
        plain = f"TRY_CAST(replace({text}, ',', '.') AS DOUBLE)"
        plain_when = f"NOT contains({text}, '.') AND {plain} IS NOT NULL"
        pattern, digits = COMMA_NUMBER, f"replace(replace({cleaned}, '.', ''), ',', '.')"
    else:
        plain = f"TRY_CAST({text} AS DOUBLE)"
        plain_when = f"{plain} IS NOT NULL"
        pattern, digits = POINT_NUMBER, f"replace({cleaned}, ',', '')"
    return (
        f"CASE WHEN {plain_when} THEN {plain}"
        f" WHEN regexp_full_match({cleaned}, '{pattern}')"
        f" THEN TRY_CAST(NULLIF({digits}, '') AS DOUBLE) END"
    )


def decimal_evidence_sql(relation: str, column: str) -> str:
    """Counts over the non-empty values of `column`: readable only with a decimal point, only
    with a decimal comma, and readable both ways as different numbers ("1,250", "1.250"), with
    an example of each. Each distinct value is matched once, weighted by its count."""
    cleaned = f"regexp_replace(trim(CAST({column} AS VARCHAR)), '{NUMBER_DECORATION}', '', 'g')"
    point = f"regexp_full_match(v, '{POINT_NUMBER}')"
    comma = f"regexp_full_match(v, '{COMMA_NUMBER}')"
    kinds = (
        f"{point} AND NOT {comma}",
        f"{comma} AND NOT {point}",
        f"{point} AND {comma} AND regexp_matches(v, '[.,]')",
    )
    counts = [f"coalesce(sum(n) FILTER (WHERE {kind}), 0)" for kind in kinds]
    examples = [f"any_value(v) FILTER (WHERE {kind})" for kind in kinds]
    return (
        f"SELECT {', '.join(counts + examples)} FROM (SELECT v, count(*) AS n FROM"
        f" (SELECT {cleaned} AS v FROM {relation}) WHERE regexp_matches(v, '[0-9]') GROUP BY v)"
    )


def infer_decimals(
    conn: duckdb.DuckDBPyConnection,
    relation: str,
    spec: IngestionSpec,
    types: dict[str, str],
) -> list[str]:
    """Decide each text number column's decimal separator into `spec.decimals`; returns notes.
    A column follows the convention more of its values can only be read in (the others become
    row rejects); a column whose values all read both ways ("1,250") follows the file's other
    columns; with none to follow, or a tie, the file is rejected naming the column, since a
    guess could load every value 1000x off. A spec's `decimal` applies to every column."""
    text_fields = [
        f for f in NUMBER_FIELDS if f in spec.columns and types[spec.columns[f]] == "VARCHAR"
    ]
    if spec.decimal is not None:
        spec.decimals = dict.fromkeys(text_fields, spec.decimal)
        return []
    undecided: dict[str, str] = {}
    for field_name in text_fields:
        header = spec.columns[field_name]
        point, comma, both, point_eg, comma_eg, both_eg = conn.execute(
            decimal_evidence_sql(relation, _quote_ident(header))
        ).fetchall()[0]
        if point > comma:
            spec.decimals[field_name] = "."
        elif comma > point:
            spec.decimals[field_name] = ","
        elif point:  # as many values only readable one way as the other
            raise FileRejected(
                f"column {header!r} mixes a decimal point ({point_eg!r}) and a decimal"
                f' comma ({comma_eg!r}) equally often; set decimal: "." or "," in the'
                f" datasource's spec"
            )
        elif both:
            undecided[field_name] = both_eg
    decided = set(spec.decimals.values())
    for field_name, example in undecided.items():
        if len(decided) != 1:
            header = spec.columns[field_name]
            raise FileRejected(
                f"column {header!r} cannot be read safely: values like {example!r} are"
                " a decimal comma or a thousands separator, and no other column settles it;"
                f' set decimal: "." or "," in the datasource\'s spec'
            )
        spec.decimals[field_name] = next(iter(decided))
    separators = set(spec.decimals.values())
    if separators == {","}:
        spec.decimal = ","
    comma_columns = [spec.columns[f] for f, sep in spec.decimals.items() if sep == ","]
    if not comma_columns:
        return []
    return [f"decimal comma in {', '.join(comma_columns)}"]


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


@dataclass(frozen=True)
class TypedPlan:
    """How `typed` is built from `source`, and what validation needs to know about it."""

    sql: str
    kinds: dict[str, str]  # column -> what it should hold, for reasons ("a date in format ...")
    derived: frozenset[str]  # columns computed from the quantity (their rejects follow from it)
    total_check: tuple[str, str] | None  # (SQL true where the file's total disagrees, reason)


def typed_select(spec: IngestionSpec, types: dict[str, str]) -> TypedPlan:
    """SQL turning `source` into canonical typed columns, plus raw_<field> text kept only where
    a value could not be read (so reasons can quote it)."""
    cols = spec.columns

    def src(field_name: str) -> str:
        return _quote_ident(cols[field_name])

    def decimal(field_name: str) -> str:
        return spec.decimals.get(field_name, spec.decimal or ".")

    def num(field_name: str) -> str | None:
        if field_name not in cols:
            return None
        return _number(src(field_name), types[cols[field_name]], decimal(field_name))

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
    for name in NUMBER_FIELDS:
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
    total_check = _total_check(spec)
    outer = [
        "p.order_id", "p.order_date", "p.branch", "p.product_line", "p.product", "p.quantity",
        f"{unit_price} AS unit_price", f"{revenue} AS revenue",
        f"({cost}) / NULLIF(p.quantity, 0) AS unit_cost", f"{cost} AS cost",
        f"{profit} AS profit", "p.discount", "p.tax", "p.gross_total", *raws,
    ]  # fmt: skip
    if total_check:
        outer.append(f"p.{total_check[0]} AS file_total")
    sql = f"SELECT {', '.join(outer)}\nFROM (SELECT\n  {inner}\nFROM source) AS p"

    def number_kind(field_name: str) -> str:
        source = raw_fields.get(field_name, field_name)
        if source in spec.decimals:
            return f"a number with a {SEPARATOR_NAMES[spec.decimals[source]]}"
        return "a number"

    date_kind = f"a date in format {spec.date_format}" if spec.date_format else "a date"
    kinds = {"order_date": date_kind}
    kinds.update({f: number_kind(f) for f in ("quantity", "unit_price", "unit_cost",
                                              "discount", "tax")})  # fmt: skip
    derived = {"unit_cost"} if "unit_cost" not in cols else set()
    if "unit_price" not in cols:
        derived.add("unit_price")
    return TypedPlan(
        sql, kinds, frozenset(derived), total_check and (total_check[1], total_check[2])
    )


def _total_check(spec: IngestionSpec) -> tuple[str, str, str] | None:
    """(total field, SQL true where quantity x unit price disagrees with the file's own total,
    reason) for a file with both, over the `numbered` view; None otherwise."""
    cols = spec.columns
    if "unit_price" not in cols:
        return None
    revenue = "quantity * unit_price"
    slack = (
        f"greatest({TOTAL_RELATIVE_TOLERANCE} * abs(file_total),"
        f" {TOTAL_PER_UNIT_TOLERANCE} * abs(quantity), 0.02)"
    )
    if "line_total" in cols:
        total, header = "line_total", cols["line_total"]
        expected, label = revenue, f"quantity x {cols['unit_price']}"
        disagrees = f"abs({expected} - file_total) > {slack}"
        if "discount" in cols:  # a line total may be net of the discount
            disagrees += f" AND abs({revenue} * (1 - coalesce(discount, 0)) - file_total) > {slack}"
    elif "gross_total" in cols and "tax" in cols:
        total, header = "gross_total", cols["gross_total"]
        expected = f"{revenue} + coalesce(tax, 0)"
        label = f"quantity x {cols['unit_price']} + {cols['tax']}"
        disagrees = f"abs({expected} - file_total) > {slack}"
    elif "gross_total" in cols:
        total, header = "gross_total", cols["gross_total"]
        expected, label = revenue, f"quantity x {cols['unit_price']}"
        disagrees = (
            f"(file_total < {revenue} - {slack}"
            f" OR file_total > {revenue} * {1 + MAX_UNSTATED_TAX} + {slack})"
        )
        header += f" (with up to {MAX_UNSTATED_TAX:.0%} tax)"
    else:
        return None
    condition = (
        f"quantity > 0 AND unit_price IS NOT NULL AND file_total IS NOT NULL AND {disagrees}"
    )
    apart = f"more than {TOTAL_RELATIVE_TOLERANCE:.0%} apart".replace("%", "%%")
    reason = (
        f"printf('%s = %s, but %s says %s ({apart})', {_quote_literal(label)},"
        f" round({expected}, 2)::VARCHAR, {_quote_literal(header)}, file_total::VARCHAR)"
    )
    return total, condition, reason


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
            encoding, csv_path = _open_source(
                conn, path, name, fmt, spec, work_dir, max_excel_bytes, notes
            )
        except (duckdb.InvalidInputException, duckdb.IOException) as error:
            raise FileRejected(f"cannot be read as {fmt}: {error}") from error
        try:
            described = conn.execute("DESCRIBE SELECT * FROM source").fetchall()
        except duckdb.Error as error:
            raise FileRejected(f"cannot be read as {fmt}: {error}") from error
        types = {row[0]: row[1] for row in described}
        headers = list(types)
        if spec is None:
            spec = infer_spec(datasource, headers)
        else:
            check_spec(spec, headers)
        relation = _inference_values(conn, spec, types, csv_path, headers, work_dir)
        date_column = spec.columns["order_date"]
        if spec.date_format is None and types[date_column] == "VARCHAR":
            _, *counts = conn.execute(
                date_format_counts_sql(relation, _quote_ident(date_column))
            ).fetchall()[0]
            spec.date_format = choose_date_format(counts)
        notes.extend(infer_decimals(conn, relation, spec, types))
        plan = typed_select(spec, types)
        try:
            conn.execute(f"CREATE TABLE typed AS {plan.sql}")
        except (duckdb.InvalidInputException, duckdb.ConversionException) as error:
            raise FileRejected(f"cannot be read as {fmt}: {error}") from error
        result = StageResult(scratch, fmt, spec, encoding, notes=notes)
        _number_lines(conn)
        _validate(conn, result, plan)
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
            derived = ", ".join(_quote_literal(c) for c in sorted(plan.derived))
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
            merge_sql(
                "sales.dirty_days",
                DIRTY_DAY_COLUMNS,
                "SELECT DISTINCT t.datasource, t.order_date"
                " FROM sales.transactions AS t SEMI JOIN incoming_orders AS o"
                " ON t.order_id = o.order_id WHERE t.datasource = ?",
            ),
            params,
        )
        replaced = conn.execute(
            "DELETE FROM sales.transactions AS t WHERE t.datasource = ?"
            " AND t.order_id IN (SELECT order_id FROM incoming_orders)",
            params,
        ).fetchall()[0][0]
        conn.execute("DROP TABLE incoming_orders")
    conn.execute(
        merge_sql(
            "sales.dirty_days", DIRTY_DAY_COLUMNS, "SELECT ?, order_date FROM stage.good_days"
        ),
        params,
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
