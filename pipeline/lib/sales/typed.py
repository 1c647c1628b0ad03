"""Typing: the SQL that turns a file's columns (`source`) into canonical typed sales lines,
reading numbers in the column's decimal convention and dates in the file's format, and the
check of a file's own totals against quantity x unit price."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.lib.sales.duck import quote_ident, quote_literal
from pipeline.lib.sales.spec import IngestionSpec

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
NUMBER_TYPES = ("DOUBLE", "FLOAT", "BIGINT", "INTEGER", "SMALLINT", "TINYINT", "HUGEINT")
# What a reject quotes of a value read as a number or a date: nothing (raw_text_expr).
NO_TEXT = "NULL::VARCHAR"
NUMBER_FIELDS = ("quantity", "unit_price", "line_total", "gross_total", "unit_cost",
                 "cost_total", "profit", "discount", "tax")  # fmt: skip


def text_expr(col: str) -> str:
    return f"NULLIF(trim(CAST({col} AS VARCHAR)), '')"


def _is_number_type(dtype: str) -> bool:
    return dtype in NUMBER_TYPES or dtype.startswith("DECIMAL")


def raw_text_expr(col: str, dtype: str, field_name: str) -> str:
    """The text a reject of `field_name` quotes. A number read as a number, or a date read as a
    date, is NULL only where the cell is empty: nothing to quote, and formatting every value as
    text would cost a tenth of the read."""
    if (field_name != "order_date" and _is_number_type(dtype)) or dtype == "DATE":
        return NO_TEXT
    return text_expr(col)


def number_expr(col: str, dtype: str, decimal: str) -> str:
    """A number from a typed column, or from text written with `decimal` as the separator.
    Text in the other convention reads as NULL (a row reject quoting it), never as a value
    100x off: with a decimal point "74,69" is not 7469, with a decimal comma "1.5" is not 15."""
    if _is_number_type(dtype):
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


def _date(col: str, dtype: str, date_format: str | None) -> str:
    if dtype == "DATE" or dtype.startswith("TIMESTAMP"):
        return f"CAST({col} AS DATE)"
    if dtype in ("DOUBLE", "BIGINT", "INTEGER", "FLOAT"):
        # Excel serial day numbers (day 0 = 1899-12-30 in the 1900 date system).
        return f"CAST(DATE '1899-12-30' + TRY_CAST(floor({col}) AS INTEGER) AS DATE)"
    text = f"trim(CAST({col} AS VARCHAR))"
    if date_format:
        return f"TRY_CAST(try_strptime({text}, {quote_literal(date_format)}) AS DATE)"
    return f"TRY_CAST({text} AS DATE)"


@dataclass(frozen=True)
class TypedPlan:
    """How `typed` is built from `source`, and what validation needs to know about it."""

    sql: str
    kinds: dict[str, str]  # column -> what it should hold, for reasons ("a date in format ...")
    derived: frozenset[str]  # columns computed from the quantity (their rejects follow from it)
    total_check: tuple[str, str] | None  # (SQL true where the file's total disagrees, reason)


def typed_select(spec: IngestionSpec, types: dict[str, str], relation: str = "source") -> TypedPlan:
    """SQL turning `relation` (whose columns have `types`) into canonical typed columns, plus
    raw_<field> text kept only where a value could not be read (so reasons can quote it)."""
    cols = spec.columns

    def src(field_name: str) -> str:
        return quote_ident(cols[field_name])

    def decimal(field_name: str) -> str:
        return spec.decimals.get(field_name, spec.decimal or ".")

    def num(field_name: str) -> str | None:
        if field_name not in cols:
            return None
        return number_expr(src(field_name), types[cols[field_name]], decimal(field_name))

    parsed = {
        "order_id": text_expr(src("order_id")),
        "order_date": _date(src("order_date"), types[cols["order_date"]], spec.date_format),
        "branch": f"COALESCE({text_expr(src('branch'))}, 'unknown')"
        if "branch" in cols
        else "'unknown'",
        "product_line": (
            f"COALESCE({text_expr(src('product_line'))}, 'unknown')"
            if "product_line" in cols
            else "'unknown'"
        ),
        "product": text_expr(src("product")) if "product" in cols else "NULL::VARCHAR",
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
    # Only fields with text to quote get a raw_ column: an always-NULL one would still be
    # written with every line at stage.
    quoted = []
    for typed, source in raw_fields.items():
        text = raw_text_expr(src(source), types[cols[source]], typed)
        if text != NO_TEXT:
            parsed[f"text_{typed}"] = text
            quoted.append(typed)
    raws = [
        f"CASE WHEN p.{typed} IS NULL THEN p.text_{typed} END AS raw_{typed}" for typed in quoted
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
    sql = f"SELECT {', '.join(outer)}\nFROM (SELECT\n  {inner}\nFROM {relation}) AS p"

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
        f"printf('%s = %s, but %s says %s ({apart})', {quote_literal(label)},"
        f" round({expected}, 2)::VARCHAR, {quote_literal(header)}, file_total::VARCHAR)"
    )
    return total, condition, reason
