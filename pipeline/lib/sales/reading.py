"""Reading: make a landed file's rows the view `source` of a scratch DuckDB database (CSV
streamed in its own encoding, Parquet in place, Excel through Polars), and infer from them
what the spec leaves open: the date format and each number column's decimal separator."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl

from pipeline.lib.sales.duck import quote_ident, quote_literal
from pipeline.lib.sales.formats import FileRejected, prepare_csv
from pipeline.lib.sales.spec import IngestionSpec
from pipeline.lib.sales.typed import COMMA_NUMBER, NUMBER_DECORATION, NUMBER_FIELDS, POINT_NUMBER

DEFAULT_MAX_EXCEL_BYTES = 50 * 1024 * 1024
# Inference (date format, decimal separator) reads the whole column of a file up to this size;
# a bigger plain CSV is sampled as evenly spaced chunks, so where a value sits does not matter.
INFER_WHOLE_FILE_BYTES = 8 * 1024 * 1024
INFER_SAMPLE_CHUNKS = 64
INFER_SAMPLE_CHUNK_BYTES = 64 * 1024


def open_source(
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
            f"{quote_literal(str(prepared.path))}, header = true, all_varchar = true,"
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
    conn.execute(f"CREATE VIEW source AS SELECT * FROM read_parquet({quote_literal(str(path))})")
    return None, None


def typed_csv_source(
    conn: duckdb.DuckDBPyConnection, csv_path: Path, spec: IngestionSpec, types: dict[str, str]
) -> dict[str, str] | None:
    """The fast read of a clean CSV: the view `typed_csv`, the same file with its number columns
    written with a decimal point read as DOUBLE and its date column (in the spec's format) as
    DATE by the CSV reader itself, which costs about half of reading them as text and casting.
    It is strict: the first value that does not read that way, or the first malformed line,
    raises a duckdb.Error, and the caller reads `source` instead (where such values become row
    rejects). Returns the view's column types, or None when no column would be typed."""
    typed = {
        spec.columns[f]: "DOUBLE"
        for f in NUMBER_FIELDS
        if f in spec.columns
        and types[spec.columns[f]] == "VARCHAR"
        and spec.decimals.get(f, spec.decimal or ".") == "."
    }
    date_column = spec.columns["order_date"]
    options = ""
    if spec.date_format and types[date_column] == "VARCHAR":
        typed[date_column] = "DATE"
        options = f", dateformat = {quote_literal(spec.date_format)}"
    if not typed:
        return None
    column_types = ", ".join(f"{quote_literal(c)}: {quote_literal(t)}" for c, t in typed.items())
    conn.execute(
        f"CREATE OR REPLACE VIEW typed_csv AS SELECT * FROM read_csv({quote_literal(str(csv_path))},"
        f" header = true, all_varchar = true, types = {{{column_types}}}{options})"
    )
    return {**types, **typed}


def inference_values(
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
        f"CREATE TEMP TABLE inference AS SELECT {', '.join(map(quote_ident, wanted))}"
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
        f", {option} = {quote_literal(value)}"
        for option, value in zip(("delim", "quote", "escape"), sniffed, strict=True)
        if value != "(empty)"
    )
    names = ", ".join(quote_literal(h) for h in headers)
    conn.execute(
        f"CREATE VIEW inference_source AS SELECT * FROM read_csv({quote_literal(str(sample))},"
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
            decimal_evidence_sql(relation, quote_ident(header))
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
