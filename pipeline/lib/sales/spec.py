"""Ingestion specs: which source column feeds which canonical field, and how dates are written.

A spec comes from `data/config/sales/<datasource>.yaml` when one exists; otherwise it is
inferred from the headers with common aliases and written beside the file for review.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

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
    date_format: str | None = None  # strptime format; None when the column is typed or ISO
    decimal: str = "."
    sheet: str | None = None  # Excel sheet; None = the first
    max_bad_row_ratio: float = DEFAULT_MAX_BAD_ROW_RATIO
    source: str = "inferred"  # inferred | config
    notes: list[str] = field(default_factory=list)

    def to_yaml(self) -> str:
        body = {k: v for k, v in asdict(self).items() if k != "source" and v not in (None, [])}
        header = (
            "# Ingestion spec inferred from the file's headers; review it and copy it to\n"
            f"# data/config/sales/{self.datasource}.yaml to make it the datasource's spec.\n"
        )
        return header + yaml.safe_dump(body, sort_keys=False, allow_unicode=True)

    def as_dict(self) -> dict:
        return asdict(self)


def normalise_header(header: str) -> str:
    return re.sub(r"[^0-9a-z]", "", header.lower())


def load_spec(config_dir: Path, datasource: str) -> IngestionSpec | None:
    """The hand-written spec of a datasource, or None."""
    path = Path(config_dir) / "sales" / f"{datasource}.yaml"
    if not path.exists():
        return None
    body = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(body.get("columns"), dict):
        raise SpecError(f"{path}: 'columns' must map canonical fields to source headers")
    unknown = set(body["columns"]) - set(ALIASES)
    if unknown:
        raise SpecError(f"{path}: unknown canonical fields {sorted(unknown)}")
    return IngestionSpec(
        datasource=datasource,
        columns=dict(body["columns"]),
        date_format=body.get("date_format"),
        decimal=body.get("decimal", "."),
        sheet=body.get("sheet"),
        max_bad_row_ratio=float(body.get("max_bad_row_ratio", DEFAULT_MAX_BAD_ROW_RATIO)),
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


def infer_date_format(values: list) -> str | None:
    """The first format that reads every sample as a plausible date; None when the values are
    already dates (typed sources) or ISO. Day-first vs month-first is settled by any sample
    whose day exceeds 12."""
    texts = [str(v).strip() for v in values if v is not None and str(v).strip()]
    if not texts or all(isinstance(v, dt.date) for v in values if v is not None):
        return None
    for fmt in DATE_FORMATS:
        try:
            parsed = [dt.datetime.strptime(t, fmt) for t in texts]
        except ValueError:
            continue
        if all(1970 <= p.year <= 2100 for p in parsed):
            return fmt
    return None
