"""Row validation of typed sales lines with Pandera (polars): every failing row and column
becomes a reject with a reason a person can act on."""

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
