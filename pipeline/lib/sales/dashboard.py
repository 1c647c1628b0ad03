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


PALETTE = ("#2563eb", "#16a34a", "#dc2626", "#9333ea", "#ea580c", "#0891b2", "#ca8a04")


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


def _rows(conn: duckdb.DuckDBPyConnection, sql: str) -> list[dict]:
    relation = conn.execute(sql)
    names = [d[0] for d in relation.description]
    return [dict(zip(names, row, strict=True)) for row in relation.fetchall()]


def collect(conn: duckdb.DuckDBPyConnection) -> DashboardData:
    data = DashboardData(
        overview=_rows(
            conn,
            "SELECT * FROM analytics.sales_overview ORDER BY datasource = '(all)' DESC, revenue DESC",
        ),
        monthly=_rows(
            conn,
            "SELECT date_trunc('month', order_date)::DATE AS month, datasource,"
            " sum(revenue) AS revenue, sum(profit) AS profit FROM analytics.sales_daily"
            " GROUP BY ALL ORDER BY month",
        ),
        recent_daily=_rows(
            conn,
            "SELECT order_date, sum(revenue) AS revenue, sum(orders) AS orders"
            " FROM analytics.sales_daily WHERE order_date > (SELECT max(order_date) - 60"
            " FROM analytics.sales_daily) GROUP BY order_date ORDER BY order_date",
        ),
        products=_rows(
            conn,
            "SELECT * FROM analytics.product_performance ORDER BY revenue DESC LIMIT 20",
        ),
        branches=_rows(
            conn,
            "SELECT * FROM analytics.branch_performance ORDER BY revenue DESC LIMIT 20",
        ),
        profitability=_rows(
            conn,
            "SELECT * FROM analytics.profitability WHERE (datasource, month) IN"
            " (SELECT datasource, max(month) FROM analytics.profitability GROUP BY ALL)"
            " ORDER BY datasource, revenue DESC LIMIT 40",
        ),
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


def _fmt(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


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
            [_pct(row.get(key)) if key in pct else _fmt(row.get(key)) for key, _ in columns]
            for row in rows
        ],
    )


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    label_x: int
    bar_x: int
    bar_height: int
    bars: list[dict]  # y, text_y, length, colour, label, value_x, value


def bar_chart_model(
    items: list[tuple[str, float]], *, width: int = 640, bar: int = 22
) -> BarChart | None:
    """Horizontal bars with labels: readable for long product-line names."""
    if not items:
        return None
    label_w, gap = 200, 6
    top = max((abs(v) for _, v in items), default=0) or 1
    bars = []
    for i, (label, value) in enumerate(items):
        y = gap + i * (bar + gap)
        length = max(1.0, (width - label_w - 90) * abs(value) / top)
        bars.append(
            {
                "y": y,
                "text_y": round(y + bar * 0.7, 1),
                "length": round(length, 1),
                "colour": PALETTE[0] if value >= 0 else PALETTE[2],
                "label": label[:32],
                "value_x": round(label_w + length + 6, 1),
                "value": _fmt(value),
            }
        )
    return BarChart(width, len(items) * (bar + gap) + gap, label_w - 6, label_w, bar, bars)


@dataclass(frozen=True)
class LineChart:
    width: int
    height: int
    left: int
    right_x: int
    zero_y: float
    high_y: float
    high: str
    low: str
    x_labels: list[dict]  # x, anchor, text
    series: list[dict]  # colour, points, dots, name, legend_x


def _time_positions(labels: list[str]) -> dict[str, float]:
    """Each label's place on the x axis: days since the epoch when every label is an ISO date
    (or date-time), else its rank."""
    try:
        return {x: dt.date.fromisoformat(x[:10]).toordinal() for x in labels}
    except ValueError:
        return {x: float(i) for i, x in enumerate(labels)}


def line_chart_model(
    series: dict[str, list[tuple[str, float]]], *, width: int = 720, height: int = 240
) -> LineChart | None:
    """Lines over a shared x axis with a legend. Dates (ISO labels) are placed in real time, so
    a gap of ten days looks like one; a series of one point is drawn as a dot."""
    xs = sorted({x for points in series.values() for x, _ in points})
    values = [v for points in series.values() for _, v in points if v is not None]
    if not xs or not values:
        return None
    left, right, top_pad, bottom = 70, 20, 20, 40
    low, high = min(0.0, min(values)), max(values) or 1.0
    positions = _time_positions(xs)
    first = min(positions.values())
    span_x = (max(positions.values()) - first) or 1

    def px(x: str) -> float:
        if len(xs) == 1:
            return left + (width - left - right) / 2  # one day: in the middle, not on the axis
        return round(left + (width - left - right) * (positions[x] - first) / span_x, 1)

    def py(v: float) -> float:
        return round(
            top_pad + (height - top_pad - bottom) * (1 - (v - low) / ((high - low) or 1)), 1
        )

    step = max(1, len(xs) // 8)
    x_labels = [
        {
            "x": px(x),
            # Labels at the edges align inwards so they are not cut off.
            "anchor": "middle"
            if len(xs) == 1
            else "start"
            if x == xs[0]
            else "end"
            if x == xs[-1]
            else "middle",
            "text": x,
        }
        for x in xs[::step]
    ]
    lines = []
    for i, (name, points) in enumerate(series.items()):
        drawn = [(px(x), py(v)) for x, v in sorted(points) if v is not None]
        lines.append(
            {
                "colour": PALETTE[i % len(PALETTE)],
                "points": " ".join(f"{x:.1f},{y:.1f}" for x, y in drawn),
                # Dots while they stay readable; always for a single point.
                "dots": drawn if len(drawn) <= 31 else [],
                "name": name[:20],
                "legend_x": left + i * 150,
            }
        )
    return LineChart(
        width,
        height,
        left,
        width - right,
        py(low),
        py(high),
        _fmt(high),
        _fmt(low),
        x_labels,
        lines,
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
            ("Revenue", _fmt(total["revenue"])), ("Profit", _fmt(total["profit"])),
            ("Margin", _pct(total["margin"])), ("Orders", _fmt(total["orders"])),
            ("Units", _fmt(total["units"])), ("Files loaded", _fmt(total["files_loaded"])),
            ("Files rejected", _fmt(total["files_rejected"])),
            ("Period", f"{total['first_date']} – {total['last_date']}"),
        ]  # fmt: skip
    per_source = [r for r in data.overview if r["datasource"] != "(all)"]
    return _TEMPLATE.render(
        generated_at=generated_at.strftime("%Y-%m-%d %H:%M UTC"),
        sample_sections=data.sample_sections,
        sales_is_sample=bool(total and total.get("is_sample")),
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
