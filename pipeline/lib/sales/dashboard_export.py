"""What the `dashboard` asset exports for `pipeline serve`'s /dashboard, one JSON file per
tenant, so the page filters in memory and never opens the warehouse:

- sales: analytics.sales_daily (one row per day, datasource, branch and product line). A
  datasource's tenant is the first part of its name (`acme.market`, see
  pipeline/web/upload_status.py); datasources without one (the bundled samples) are only in the
  operators' file, ALL.
- emails: the tenant's e-mails by kind (notify.email_log's tenant_id; operator alerts only in ALL).
- grants: grants discovered per source (analytics.discovery_trends): public, the same for all."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.lib import warehouse

ALL = "_all"  # every datasource: what operators see
COLUMNS = ("day", "datasource", "branch", "product_line", "is_sample", "revenue", "profit",
           "orders", "units")  # fmt: skip
EMAIL_COLUMNS = ("kind", "is_sample", "total", "delivered", "failed", "opened", "clicked")
GRANT_COLUMNS = ("provider", "is_sample", "discovered")
_EMAILS_SQL = """
SELECT tenant_id, kind, is_sample, count(*), count(*) FILTER (status IN ('sent', 'written')),
    count(*) FILTER (status = 'failed'), count(*) FILTER (opens > 0), count(*) FILTER (clicks > 0)
FROM notify.email_log GROUP BY ALL ORDER BY ALL
"""
_GRANTS_SQL = """
SELECT provider, is_sample, sum(discovered)::BIGINT FROM analytics.discovery_trends
GROUP BY ALL ORDER BY ALL
"""


def export_dir(data_dir: Path) -> Path:
    return data_dir / "exports" / "dashboard"


def tenant_of(datasource: str) -> str | None:
    tenant, dot, _ = datasource.partition(".")
    return tenant if dot else None


def _rows(conn, table: str, sql: str) -> list[tuple]:
    return conn.execute(sql).fetchall() if warehouse.table_exists(conn, table) else []


def write(conn, data_dir: Path) -> list[Path]:
    """One file per tenant with rows (and ALL); files of tenants with no rows left are removed."""
    sales = _rows(
        conn,
        "analytics.sales_daily",
        "SELECT strftime(order_date, '%Y-%m-%d'), datasource, branch, product_line,"
        " is_sample, revenue, coalesce(profit, 0), orders, units FROM analytics.sales_daily"
        " ORDER BY 1, 2, 3, 4",
    )
    grants = _rows(conn, "analytics.discovery_trends", _GRANTS_SQL)
    files: dict[str, dict] = defaultdict(lambda: {"rows": [], "emails": []})
    files[ALL] = {"rows": [], "emails": []}  # operators' file, even when empty
    for row in sales:
        files[ALL]["rows"].append(row)
        if tenant := tenant_of(row[1]):
            files[tenant]["rows"].append(row)
    for tenant, *row in _rows(conn, "notify.email_log", _EMAILS_SQL):
        files[ALL]["emails"].append(row)
        if tenant and row[0] != "operator_alert":
            files[tenant]["emails"].append(row)
    target = export_dir(data_dir)
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for tenant, content in files.items():
        path = target / f"{tenant}.json"
        staged = path.with_name(f".{path.name}.{os.getpid()}")
        staged.write_text(json.dumps({"columns": COLUMNS, "grants": grants, **content}))
        os.replace(staged, path)
        written.append(path)
    for stale in set(target.glob("*.json")) - set(written):
        stale.unlink()
    return written


@dataclass
class Export:
    sales: list[dict] = field(default_factory=list)
    emails: list[dict] = field(default_factory=list)
    grants: list[dict] = field(default_factory=list)


def read(data_dir: Path, tenant: str) -> Export:
    path = export_dir(data_dir) / f"{tenant}.json"
    try:
        loaded = json.loads(path.read_text())
    except (OSError, ValueError):
        return Export()

    def as_dicts(columns, rows) -> list[dict]:
        return [dict(zip(columns, row, strict=True)) for row in rows]

    return Export(
        sales=as_dicts(loaded["columns"], loaded["rows"]),
        emails=as_dicts(EMAIL_COLUMNS, loaded.get("emails", [])),
        grants=as_dicts(GRANT_COLUMNS, loaded.get("grants", [])),
    )


@dataclass(frozen=True)
class Filters:
    start: dt.date | None = None
    end: dt.date | None = None
    datasource: str = ""
    samples: str = "real"  # real | sample | all
    branch: str = ""
    product_line: str = ""

    def keeps(self, row: dict) -> bool:
        day = dt.date.fromisoformat(row["day"])
        return (
            (self.start is None or day >= self.start)
            and (self.end is None or day <= self.end)
            and (not self.datasource or row["datasource"] == self.datasource)
            and (self.samples == "all" or row["is_sample"] == (self.samples == "sample"))
            and (not self.branch or row["branch"] == self.branch)
            and (not self.product_line or row["product_line"] == self.product_line)
        )


@dataclass
class Figures:
    revenue: float = 0.0
    profit: float = 0.0
    orders: int = 0
    units: float = 0.0
    by_branch: dict[str, float] = field(default_factory=dict)
    by_product_line: dict[str, float] = field(default_factory=dict)
    by_month: dict[str, float] = field(default_factory=dict)


def figures(rows: list[dict], filters: Filters) -> Figures:
    """Totals and revenue by branch, product line and month of the rows the filters keep.
    Orders are summed per day and group as sales_daily counts them."""
    result = Figures()
    branch, product, month = defaultdict(float), defaultdict(float), defaultdict(float)
    for row in rows:
        if not filters.keeps(row):
            continue
        result.revenue += row["revenue"]
        result.profit += row["profit"]
        result.orders += row["orders"]
        result.units += row["units"]
        branch[row["branch"]] += row["revenue"]
        product[row["product_line"]] += row["revenue"]
        month[row["day"][:7]] += row["revenue"]
    result.by_branch = dict(sorted(branch.items(), key=lambda kv: -kv[1]))
    result.by_product_line = dict(sorted(product.items(), key=lambda kv: -kv[1]))
    result.by_month = dict(sorted(month.items()))
    return result
