"""Row validation of typed sales lines with Pandera (polars): every failing row and column
becomes a reject with a reason a person can act on.

`SalesLineSchema` is the schema of record. For big files `candidate_predicate` turns it into
one SQL condition that is true for every row the schema could fail (and for a few it would
pass, such as NaN), so DuckDB finds those rows in one pass and Pandera validates only them:
the rejects are exactly those of validating every row, at a fraction of the cost.
"""

from __future__ import annotations

import datetime as dt

import pandera.polars as pa
import polars as pl

EARLIEST_ORDER_DATE = dt.date(1970, 1, 1)
# Orders dated more than a year ahead are typos (wrong century, swapped fields).
LATEST_ORDER_DATE = dt.date.today() + dt.timedelta(days=366)

REJECT_SCHEMA = {
    "row_number": pl.Int64,
    "column": pl.String,
    "reason": pl.String,
    "value": pl.String,
}


class SalesLineSchema(pa.DataFrameModel):
    """One sales line after column mapping and type conversion (NULL = unreadable or absent)."""

    order_id: str = pa.Field(nullable=False, str_length={"min_value": 1})
    order_date: dt.date = pa.Field(nullable=False, ge=EARLIEST_ORDER_DATE, le=LATEST_ORDER_DATE)
    branch: str = pa.Field(nullable=False)
    product_line: str = pa.Field(nullable=False)
    quantity: float = pa.Field(nullable=False, gt=0)
    unit_price: float = pa.Field(nullable=False, ge=0)
    unit_cost: float = pa.Field(nullable=True, ge=0)
    discount: float = pa.Field(nullable=True, ge=0, le=1)
    tax: float = pa.Field(nullable=True, ge=0)

    class Config:
        strict = False  # the frame also carries row_number, raw_* and derived columns
        coerce = False


_CHECK_WORDS = {
    "greater_than": "must be greater than",
    "greater_than_or_equal_to": "must be at least",
    "less_than_or_equal_to": "must be at most",
    "str_length": "must not be empty",
}


def _describe(check: str, column: str, raw: str | None, kinds: dict[str, str]) -> str:
    if check == "not_nullable":
        if raw is not None:
            return f"cannot read {raw!r} as {kinds.get(column, 'a value')}"
        return "missing value"
    name, _, argument = check.partition("(")
    words = _CHECK_WORDS.get(name)
    if words is None:
        return f"fails check {check}"
    return words if name == "str_length" else f"{words} {argument.rstrip(')')}"


def validate_batch(batch: pl.DataFrame, kinds: dict[str, str]) -> pl.DataFrame:
    """Rejects (row_number, column, reason, value) for one batch; empty when all rows pass.
    `kinds` names what each column should hold ("a date in format %d/%m/%y") for reasons."""
    try:
        SalesLineSchema.validate(batch, lazy=True)
    except pa.errors.SchemaErrors as errors:
        cases = errors.failure_cases.filter(pl.col("index").is_not_null())
    else:
        return pl.DataFrame(schema=REJECT_SCHEMA)
    rows = []
    row_numbers = batch["row_number"]
    for case in cases.iter_rows(named=True):
        index, column = case["index"], case["column"]
        raw_column = f"raw_{column}"
        raw = batch[raw_column][index] if raw_column in batch.columns else None
        value = raw if raw is not None else case["failure_case"]
        rows.append(
            {
                "row_number": int(row_numbers[index]),
                "column": column,
                "reason": _describe(case["check"], column, raw, kinds),
                "value": None if value is None else str(value)[:200],
            }
        )
    return pl.DataFrame(rows, schema=REJECT_SCHEMA)


def _sql_literal(value) -> str:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return f"DATE '{value.isoformat()}'"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return repr(float(value))
    raise _Untranslatable(f"literal {value!r}")


class _Untranslatable(Exception):
    pass


def _fails(check, column: str) -> list[str]:
    """SQL conditions true where `check` fails on a (non-NULL) value of `column`; NULLs are
    the nullable test's business."""
    stats, name = check.statistics or {}, check.name
    if name == "greater_than":
        return [f"{column} <= {_sql_literal(stats['min_value'])}"]
    if name == "greater_than_or_equal_to":
        return [f"{column} < {_sql_literal(stats['min_value'])}"]
    if name == "less_than":
        return [f"{column} >= {_sql_literal(stats['max_value'])}"]
    if name == "less_than_or_equal_to":
        return [f"{column} > {_sql_literal(stats['max_value'])}"]
    if name == "in_range":
        low, high = _sql_literal(stats["min_value"]), _sql_literal(stats["max_value"])
        return [
            f"{column} {'<' if stats.get('include_min', True) else '<='} {low}",
            f"{column} {'>' if stats.get('include_max', True) else '>='} {high}",
        ]
    if name == "str_length":
        length = f"length({column})"
        found = [
            f"{length} {op} {int(stats[key])}"
            for key, op in (("min_value", "<"), ("max_value", ">"), ("exact_value", "<>"))
            if stats.get(key) is not None
        ]
        if found:
            return found
    raise _Untranslatable(f"check {name} on {column}")


def candidate_predicate(schema: pa.DataFrameModel | None = None) -> str | None:
    """A DuckDB condition over the typed columns, true for every row `schema` (default
    SalesLineSchema) could reject; None when some check has no SQL form (then every row
    must go through Pandera). Floats also flag NaN and infinities, whatever the bounds: how a
    bound treats them is left to Pandera."""
    model = (schema or SalesLineSchema).to_schema()
    if model.checks or model.unique:
        return None
    conditions = []
    try:
        for name, column in model.columns.items():
            if column.unique or column.regex or not name.isidentifier():
                return None
            if not column.nullable:
                conditions.append(f"{name} IS NULL")
            if "float" in str(column.dtype).lower():
                conditions.append(f"isnan({name}) OR isinf({name})")
            for check in column.checks:
                conditions.extend(_fails(check, name))
    except (_Untranslatable, KeyError, TypeError, ValueError):
        return None
    return " OR ".join(f"coalesce({c}, false)" for c in conditions) or "false"
