"""Ingestion specs: which source column feeds which canonical field, and how dates are written.

A spec comes from `data/config/sales/<datasource>.yaml` when one exists; otherwise it is
inferred from the headers with common aliases and written beside the file for review.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb
import yaml

DEFAULT_MAX_BAD_ROW_RATIO = 0.01

# Canonical fields, each with the normalised header aliases that feed it, best first.
ALIASES: dict[str, tuple[str, ...]] = {
    "order_id": (
        "orderid",
        "invoiceid",
        "invoiceno",
        "invoicenumber",
        "invoice",
        "ordernumber",
        "orderno",
        "order",
        "transactionid",
        "receiptid",
        "receiptno",
        "salesid",
    ),
    "order_date": (
        "orderdate",
        "date",
        "invoicedate",
        "transactiondate",
        "saledate",
        "salesdate",
        "orderdatetime",
        "purchasedate",
    ),
    "branch": ("branch", "store", "storename", "storeid", "shop", "outlet", "location", "region"),
    "product_line": (
        "productline",
        "category",
        "productcategory",
        "department",
        "productgroup",
        "family",
    ),
    "product": ("productname", "product", "item", "itemname", "itemdescription", "sku"),
    "quantity": ("quantity", "qty", "units", "unitssold", "quantitysold", "qtysold"),
    "unit_price": ("unitprice", "price", "priceeach", "unitsellingprice", "sellingprice"),
    # Net line revenue (after discounts, before tax); unit_price = line_total / quantity.
    "line_total": (
        "sales",
        "linetotal",
        "netsales",
        "netamount",
        "salesamount",
        "revenue",
        "amount",
        "extendedprice",
    ),
    # A total that may include tax; used only when neither unit_price nor line_total exists.
    "gross_total": ("total", "totalamount", "grosstotal", "totalincltax", "grossamount"),
    "unit_cost": ("unitcost", "costprice", "costperunit"),
    "cost_total": ("cogs", "cost", "totalcost", "costofgoodssold", "costofsales"),
    "profit": ("profit", "grossincome", "grossprofit", "netprofit"),
    "discount": ("discount", "discountrate", "discountpct"),
    "tax": ("tax", "vat", "salestax", "taxamount"),
}
# Headers like "Tax 5%" or "VAT 20" normalise to "tax5" / "vat20".
_PATTERNS = {"tax": re.compile(r"^(tax|vat)\d*$")}

REQUIRED = ("order_id", "order_date", "quantity")
PRICE_FIELDS = ("unit_price", "line_total", "gross_total")

DATE_FORMATS = (
    "%Y-%m-%d",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y/%m/%d",
    "%m/%d/%Y",
    "%d/%m/%Y",
    "%d/%m/%y",
    "%m/%d/%y",
    "%d.%m.%Y",
    "%d-%m-%Y",
    "%m-%d-%Y",
    "%d %b %Y",
    "%b %d, %Y",
    "%Y%m%d",
)


class SpecError(ValueError):
    """The file's columns cannot be mapped: the whole file is rejected with this reason."""


@dataclass
class IngestionSpec:
    datasource: str
    columns: dict[str, str]  # canonical field -> source header
    date_format: str | None = None  # strptime format; None: inferred, or the column is typed
    # "." or ","; None: inferred per column from the values (see staging.infer_decimals)
    decimal: str | None = None
    sheet: str | None = None  # Excel sheet; None = the first
    max_bad_row_ratio: float = DEFAULT_MAX_BAD_ROW_RATIO
    source: str = "inferred"  # inferred | config
    notes: list[str] = field(default_factory=list)
    # Per text number column (canonical field): the decimal separator staging read it with.
    decimals: dict[str, str] = field(default_factory=dict)

    def to_yaml(self) -> str:
        body = {
            k: v
            for k, v in asdict(self).items()
            if k not in ("source", "decimals") and v not in (None, [])
        }
        header = (
            "# Ingestion spec inferred from the file's headers; review it and copy it to\n"
            f"# data/config/sales/{self.datasource}.yaml to make it the datasource's spec.\n"
        )
        return header + yaml.safe_dump(body, sort_keys=False, allow_unicode=True)

    def as_dict(self) -> dict:
        return asdict(self)


def normalise_header(header: str) -> str:
    return re.sub(r"[^0-9a-z]", "", header.lower())


SPEC_KEYS = ("columns", "date_format", "decimal", "sheet", "max_bad_row_ratio")
DECIMAL_SEPARATORS = (".", ",")


def load_spec(config_dir: Path, datasource: str) -> IngestionSpec | None:
    """The hand-written spec of a datasource, or None. A spec that cannot be read or has a
    wrong field raises SpecError naming the file and the field: the landed file is then
    rejected with that reason rather than read with a guess."""
    path = Path(config_dir) / "sales" / f"{datasource}.yaml"
    if not path.exists():
        return None

    def wrong(message: str) -> SpecError:
        return SpecError(f"spec {path}: {message}")

    try:
        body = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        mark, problem = getattr(error, "problem_mark", None), getattr(error, "problem", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise wrong(f"not valid YAML{where}: {problem or error}") from error
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise wrong(f"must be a mapping of {', '.join(SPEC_KEYS)}; found {type(body).__name__}")
    unknown = sorted(map(str, set(body) - set(SPEC_KEYS)))
    if unknown:
        raise wrong(f"unknown field(s) {', '.join(unknown)}; a spec has {', '.join(SPEC_KEYS)}")
    columns = body.get("columns")
    if not isinstance(columns, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and v for k, v in columns.items()
    ):
        raise wrong(f"'columns' must map canonical fields to source headers; found {columns!r}")
    unknown_fields = set(columns) - set(ALIASES)
    if unknown_fields:
        raise wrong(f"'columns' has unknown canonical fields {sorted(unknown_fields)}")
    for key in ("date_format", "sheet"):
        if body.get(key) is not None and not isinstance(body[key], str):
            raise wrong(f"'{key}' must be text; found {body[key]!r}")
    if body.get("date_format") is not None and "%" not in body["date_format"]:
        raise wrong(
            f"'date_format' must be a strptime format like %d/%m/%Y; found {body['date_format']!r}"
        )
    if body.get("date_format"):
        try:
            with duckdb.connect() as conn:
                conn.execute("SELECT try_strptime('2000-01-01', ?)", [body["date_format"]])
        except duckdb.Error as error:
            raise wrong(
                f"'date_format' {body['date_format']!r} is not a strptime format: {error}"
            ) from error
    decimal = body.get("decimal")
    if decimal is not None and decimal not in DECIMAL_SEPARATORS:
        raise wrong(f'\'decimal\' must be "." or ","; found {decimal!r}')
    ratio = body.get("max_bad_row_ratio", DEFAULT_MAX_BAD_ROW_RATIO)
    if isinstance(ratio, bool) or not isinstance(ratio, int | float) or not 0 <= ratio <= 1:
        raise wrong(f"'max_bad_row_ratio' must be a number from 0 to 1; found {ratio!r}")
    return IngestionSpec(
        datasource=datasource,
        columns=dict(columns),
        date_format=body.get("date_format"),
        decimal=decimal,
        sheet=body.get("sheet"),
        max_bad_row_ratio=float(ratio),
        source="config",
    )


def infer_spec(
    datasource: str, headers: list[str], date_samples: dict[str, list] | None = None
) -> IngestionSpec:
    """Map headers to canonical fields by alias. `date_samples` maps a header to sample values
    (strings, or dates when the source is typed) used to pick the date format."""
    by_norm: dict[str, str] = {}
    for header in headers:
        by_norm.setdefault(normalise_header(str(header)), str(header))
    columns: dict[str, str] = {}
    used: set[str] = set()
    for canonical, aliases in ALIASES.items():
        for alias in aliases:
            if alias in by_norm and by_norm[alias] not in used:
                columns[canonical] = by_norm[alias]
                used.add(by_norm[alias])
                break
        else:
            pattern = _PATTERNS.get(canonical)
            match = next(
                (h for n, h in by_norm.items() if pattern and pattern.match(n) and h not in used),
                None,
            )
            if match:
                columns[canonical] = match
                used.add(match)
    spec = IngestionSpec(datasource=datasource, columns=columns)
    check_spec(spec, headers)
    if date_samples is not None:
        spec.date_format = infer_date_format(date_samples.get(columns["order_date"], []))
    return spec


def check_spec(spec: IngestionSpec, headers: list[str]) -> None:
    """Raise SpecError naming what is missing, so the rejection report says which columns."""
    missing = [f for f in REQUIRED if f not in spec.columns]
    if not any(f in spec.columns for f in PRICE_FIELDS):
        missing.append("unit_price (or a line total: Sales/Amount/Total)")
    if missing:
        raise SpecError(
            "missing required columns: "
            + ", ".join(missing)
            + f"; the file has {', '.join(map(str, headers)) or 'no headers'}"
        )
    absent = [h for h in spec.columns.values() if h not in headers]
    if absent:
        raise SpecError(f"spec names columns the file does not have: {', '.join(absent)}")


# A year outside this range means the format misread the value (e.g. %Y reading "19").
PLAUSIBLE_YEARS = (1970, 2100)


def date_format_counts_sql(relation: str, column: str) -> str:
    """One query over `relation`: how many non-empty values of `column` (quoted identifier)
    there are, then how many each of DATE_FORMATS reads as a plausible date (DuckDB's
    try_strptime: the parser the load uses). Each distinct value is parsed once, weighted by
    how often it occurs (a sales file has a few hundred dates over thousands of lines)."""
    value = f"NULLIF(trim(CAST({column} AS VARCHAR)), '')"
    low, high = PLAUSIBLE_YEARS
    counts = [
        f"coalesce(sum(n) FILTER (WHERE year(try_strptime(v, '{fmt}')) BETWEEN {low} AND {high}),"
        " 0)"
        for fmt in DATE_FORMATS
    ]
    return (
        f"SELECT coalesce(sum(n), 0), {', '.join(counts)} FROM (SELECT v, count(*) AS n"
        f" FROM (SELECT {value} AS v FROM {relation}) WHERE v IS NOT NULL GROUP BY v)"
    )


def choose_date_format(counts: list[int]) -> str | None:
    """The format that reads the most values (earlier in DATE_FORMATS on a tie, e.g. when no
    day exceeds 12); None when no format reads any. Values it cannot read become row rejects,
    so one bad value anywhere in a column costs one row, never the whole file."""
    best = max(range(len(DATE_FORMATS)), key=lambda i: (counts[i], -i))
    return DATE_FORMATS[best] if counts[best] else None


def infer_date_format(values: list) -> str | None:
    """The date format of a list of values (see choose_date_format); None when the values are
    already dates (typed sources) or none reads."""
    present = [v for v in values if v is not None and str(v).strip()]
    if not present or all(isinstance(v, dt.date) for v in present):
        return None
    conn = duckdb.connect()
    try:
        conn.execute("CREATE TABLE dates AS SELECT unnest(?::VARCHAR[]) AS value", [present])
        _, *counts = conn.execute(date_format_counts_sql("dates", "value")).fetchall()[0]
    finally:
        conn.close()
    return choose_date_format(counts)
