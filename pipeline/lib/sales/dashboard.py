"""The dashboard: one self-contained HTML page (inline CSS and SVG, no scripts, no network)
built from the analytics tables and the e-mail stats (delivery, opens, clicks), with a banner
naming the sections that show sample data. Python gathers the rows and lays out the charts
(coordinates); the Jinja2 template `templates/dashboard.html` writes the page, with autoescape
on, so a cell like `=HYPERLINK(...)` or `<script>` shows as text."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from pipeline.lib import warehouse
from pipeline.lib.sales.charts import bar_chart_model, fmt, line_chart_model
from pipeline.lib.templates import template_environment


def page_path(data_dir: Path) -> Path:
    """Where the page is written: $PIPELINE_DATA_DIR/dashboard/sales_dashboard.html."""
    return Path(data_dir) / "dashboard" / "sales_dashboard.html"


SECTION_IDS = ("overview", "sales", "products", "branches", "profitability", "discovery", "email")
_REMOTE = re.compile(
    r"""(?:src|href)\s*=\s*["']?(?:https?:)?//|@import|url\(\s*["']?(?:https?:)?//""", re.I
)


def remote_references(page: str) -> list[str]:
    """Anything in the page that a browser would fetch from the network."""
    return _REMOTE.findall(page)


@dataclass
class DashboardData:
    overview: list[dict] = field(default_factory=list)
    monthly: list[dict] = field(default_factory=list)
    recent_daily: list[dict] = field(default_factory=list)
    products: list[dict] = field(default_factory=list)
    branches: list[dict] = field(default_factory=list)
    profitability: list[dict] = field(default_factory=list)
    discovery_columns: list[str] = field(default_factory=list)
    discovery: list[dict] = field(default_factory=list)
    email: list[dict] = field(default_factory=list)
    # Sections whose rows include sample data (a banner at the top of the page names them).
    sample_sections: list[str] = field(default_factory=list)
    # Sample datasources left out of every sales figure because real sales are loaded.
    hidden_samples: list[str] = field(default_factory=list)


def _rows(conn: duckdb.DuckDBPyConnection, sql: str) -> list[dict]:
    relation = conn.execute(sql)
    names = [d[0] for d in relation.description]
    return [dict(zip(names, row, strict=True)) for row in relation.fetchall()]


def collect(conn: duckdb.DuckDBPyConnection) -> DashboardData:
    # Once a real file is loaded the samples stop counting: every sales figure and chart is
    # built from real rows alone (the samples stay in the warehouse, marked is_sample).
    hidden = [
        row[0]
        for row in conn.execute(
            "SELECT datasource FROM analytics.sales_overview WHERE datasource <> '(all)'"
            " AND is_sample AND EXISTS (SELECT 1 FROM analytics.sales_overview"
            "  WHERE datasource <> '(all)' AND NOT is_sample) ORDER BY 1"
        ).fetchall()
    ]
    shown = "NOT is_sample" if hidden else "true"
    data = DashboardData(
        overview=_rows(
            conn,
            f"SELECT * FROM analytics.sales_overview WHERE datasource = '(all)' OR {shown}"
            " ORDER BY datasource = '(all)' DESC, revenue DESC",
        ),
        monthly=_rows(
            conn,
            "SELECT date_trunc('month', order_date)::DATE AS month, datasource,"
            " sum(revenue) AS revenue, sum(profit) AS profit FROM analytics.sales_daily"
            f" WHERE {shown} GROUP BY ALL ORDER BY month",
        ),
        # "Last 60 days" of the data shown, not of whatever was loaded last.
        recent_daily=_rows(
            conn,
            "SELECT order_date, sum(revenue) AS revenue, sum(orders) AS orders"
            f" FROM analytics.sales_daily WHERE {shown} AND order_date > (SELECT"
            f" max(order_date) - 60 FROM analytics.sales_daily WHERE {shown})"
            " GROUP BY order_date ORDER BY order_date",
        ),
        products=_rows(
            conn,
            f"SELECT * FROM analytics.product_performance WHERE {shown}"
            " ORDER BY revenue DESC LIMIT 20",
        ),
        branches=_rows(
            conn,
            f"SELECT * FROM analytics.branch_performance WHERE {shown}"
            " ORDER BY revenue DESC LIMIT 20",
        ),
        profitability=_rows(
            conn,
            f"SELECT * FROM analytics.profitability WHERE {shown} AND (datasource, month) IN"
            " (SELECT datasource, max(month) FROM analytics.profitability GROUP BY ALL)"
            " ORDER BY datasource, revenue DESC LIMIT 40",
        ),
        hidden_samples=hidden,
    )
    if warehouse.table_exists(conn, "analytics.discovery_trends"):
        # The last 90 days, oldest first: the chart and the table read them in that order.
        relation = conn.execute(
            "SELECT day, provider, discovered, discovered_7d, discovered_30d, records_seen"
            " FROM analytics.discovery_trends"
            " WHERE day > (SELECT max(day) - 90 FROM analytics.discovery_trends)"
            " ORDER BY day, provider"
        )
        data.discovery_columns = [d[0] for d in relation.description]
        data.discovery = [
            dict(zip(data.discovery_columns, r, strict=True)) for r in relation.fetchall()
        ]
        if conn.execute(
            "SELECT bool_or(is_sample) FROM analytics.discovery_trends"
            " WHERE day > (SELECT max(day) - 90 FROM analytics.discovery_trends)"
        ).fetchone()[0]:
            data.sample_sections.append("grant discovery trends")
    if any(r.get("is_sample") for r in data.overview):
        data.sample_sections.insert(0, "sales")
    if warehouse.table_exists(conn, "notify.notification_stats"):
        data.email = _rows(
            conn,
            "SELECT kind, is_sample, sum(total) AS total, sum(sent + written) AS delivered,"
            " sum(failed) AS failed, sum(opened) AS opened, sum(clicked) AS clicked,"
            " sum(opened) / nullif(sum(sent + written), 0) AS open_rate,"
            " sum(clicked) / nullif(sum(sent + written), 0) AS click_rate"
            " FROM notify.notification_stats GROUP BY ALL ORDER BY kind, is_sample",
        )
        if any(r["is_sample"] for r in data.email):
            data.sample_sections.append("e-mail delivery")
    return data


def _pct(value) -> str:
    return "–" if value is None else f"{value:.1%}"


_env = template_environment("pipeline.lib.sales")
_TEMPLATE = _env.get_template("dashboard.html")
_CHARTS = _env.get_template("charts.html")


@dataclass(frozen=True)
class Table:
    headers: list[str]
    rows: list[list[str]]


def table(rows: list[dict], columns: list[tuple[str, str]], pct: frozenset = frozenset()) -> Table:
    """Rows as the page shows them: formatted strings (the template escapes them)."""
    return Table(
        [label for _, label in columns],
        [
            [_pct(row.get(key)) if key in pct else fmt(row.get(key)) for key, _ in columns]
            for row in rows
        ],
    )


def _macro(name: str, model) -> str:
    return str(getattr(_CHARTS.module, name)(model))


def line_chart(series: dict[str, list[tuple[str, float]]], **size) -> str:
    """The chart's SVG (or a 'no data' line), as the page shows it."""
    return _macro("line_chart", line_chart_model(series, **size))


def bar_chart(items: list[tuple[str, float]], **size) -> str:
    return _macro("bar_chart", bar_chart_model(items, **size))


def _series(rows: list[dict], key: str, x: str, value: str) -> dict[str, list[tuple[str, float]]]:
    out: dict[str, list[tuple[str, float]]] = {}
    for row in rows:
        out.setdefault(str(row[key]), []).append((str(row[x]), row[value]))
    return out


def _discovery(data: DashboardData) -> dict:
    if not data.discovery:
        return {"chart": None, "table": None}
    dated = [c for c in data.discovery_columns if isinstance(data.discovery[0].get(c), dt.date)]
    numeric = [
        c for c in data.discovery_columns
        if isinstance(data.discovery[0].get(c), int | float) and not isinstance(data.discovery[0].get(c), bool)
    ]  # fmt: skip
    chart = None
    if dated and numeric:
        x, y = dated[0], numeric[0]
        totals: dict[str, float] = {}
        for row in data.discovery:
            totals[str(row[x])[:10]] = totals.get(str(row[x])[:10], 0) + (row[y] or 0)
        chart = line_chart_model({y: sorted(totals.items())})
    columns = [(c, c) for c in data.discovery_columns[:8]]
    return {"chart": chart, "table": table(data.discovery[-15:], columns)}


def render(data: DashboardData, generated_at: dt.datetime) -> str:
    total = next((r for r in data.overview if r["datasource"] == "(all)"), None)
    cards = []
    if total:
        cards = [
            ("Revenue", fmt(total["revenue"])), ("Profit", fmt(total["profit"])),
            ("Margin", _pct(total["margin"])), ("Orders", fmt(total["orders"])),
            ("Units", fmt(total["units"])), ("Files loaded", fmt(total["files_loaded"])),
            ("Files rejected", fmt(total["files_rejected"])),
            ("Period", f"{total['first_date']} – {total['last_date']}"),
        ]  # fmt: skip
    per_source = [r for r in data.overview if r["datasource"] != "(all)"]
    return _TEMPLATE.render(
        generated_at=generated_at.strftime("%Y-%m-%d %H:%M UTC"),
        sample_sections=data.sample_sections,
        sales_is_sample=bool(total and total.get("is_sample")),
        hidden_samples=data.hidden_samples,
        cards=cards,
        per_source=table(per_source, [("datasource", "Datasource"), ("revenue", "Revenue"),
                                      ("profit", "Profit"), ("margin", "Margin"), ("orders", "Orders"),
                                      ("first_date", "From"), ("last_date", "To"),
                                      ("rows_rejected", "Rows rejected")], frozenset({"margin"})),
        monthly=line_chart_model(_series(data.monthly, "datasource", "month", "revenue")),
        daily=line_chart_model({"revenue": [(str(r["order_date"]), r["revenue"]) for r in data.recent_daily]}),
        products_chart=bar_chart_model([(f"{r['product_line']} ({r['datasource']})", r["revenue"]) for r in data.products]),
        products=table(data.products, [("datasource", "Datasource"), ("product_line", "Product line"),
                                       ("revenue", "Revenue"), ("profit", "Profit"), ("margin", "Margin"),
                                       ("units", "Units"), ("revenue_share", "Share")],
                       frozenset({"margin", "revenue_share"})),
        branches_chart=bar_chart_model([(f"{r['branch']} ({r['datasource']})", r["revenue"]) for r in data.branches]),
        branches=table(data.branches, [("datasource", "Datasource"), ("branch", "Branch"),
                                       ("revenue", "Revenue"), ("margin", "Margin"), ("orders", "Orders"),
                                       ("avg_order_value", "Avg order"), ("active_days", "Active days")],
                       frozenset({"margin"})),
        profitability_chart=bar_chart_model([(f"{r['product_line']} / {r['branch']}", (r["margin"] or 0) * 100) for r in data.profitability[:15]]),
        profitability=table(data.profitability, [("month", "Month"), ("datasource", "Datasource"),
                                                 ("branch", "Branch"), ("product_line", "Product line"),
                                                 ("revenue", "Revenue"), ("margin", "Margin"),
                                                 ("prev_margin", "Previous"), ("margin_change", "Change")],
                            frozenset({"margin", "prev_margin", "margin_change"})),
        discovery=_discovery(data),
        email=table([{**r, "is_sample": "sample" if r["is_sample"] else "real"} for r in data.email],
                    [("kind", "Kind"), ("is_sample", "Data"), ("total", "E-mails"),
                     ("delivered", "Delivered"), ("failed", "Failed"), ("opened", "Opened"),
                     ("clicked", "Clicked"), ("open_rate", "Open rate"), ("click_rate", "Click rate")],
                    frozenset({"open_rate", "click_rate"})),
    )  # fmt: skip
