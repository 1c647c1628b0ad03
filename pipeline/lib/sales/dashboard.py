"""The dashboard: one self-contained HTML page (inline CSS and SVG, no scripts, no network)
built from the analytics tables and the e-mail stats (delivery, opens, clicks), with a banner
naming the sections that show sample data. Every value from the data is HTML-escaped, so a
cell like `=HYPERLINK(...)` or `<script>` shows as text."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

import duckdb


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


def _table_exists(conn: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return bool(
        conn.execute(
            "SELECT count(*) FROM information_schema.tables"
            " WHERE table_schema = ? AND table_name = ?",
            [schema, table],
        ).fetchall()[0][0]
    )


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
    if _table_exists(conn, "analytics", "discovery_trends"):
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
    if _table_exists(conn, "notify", "notification_stats"):
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


def _table(rows: list[dict], columns: list[tuple[str, str]], pct: frozenset = frozenset()) -> str:
    if not rows:
        return '<p class="empty">no data</p>'
    head = "".join(f"<th>{escape(label)}</th>" for _, label in columns)
    body = "".join(
        "<tr>"
        + "".join(
            f"<td>{escape(_pct(row.get(key)) if key in pct else _fmt(row.get(key)))}</td>"
            for key, _ in columns
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def bar_chart(items: list[tuple[str, float]], *, width: int = 640, bar: int = 22) -> str:
    """Horizontal bars with labels: readable for long product-line names."""
    if not items:
        return '<p class="empty">no data</p>'
    label_w, gap = 200, 6
    height = len(items) * (bar + gap) + gap
    top = max((abs(v) for _, v in items), default=0) or 1
    parts = []
    for i, (label, value) in enumerate(items):
        y = gap + i * (bar + gap)
        length = max(1.0, (width - label_w - 90) * abs(value) / top)
        color = PALETTE[0] if value >= 0 else PALETTE[2]
        parts.append(
            f'<text x="{label_w - 6}" y="{y + bar * 0.7:.1f}" text-anchor="end">{escape(label[:32])}</text>'
            f'<rect x="{label_w}" y="{y}" width="{length:.1f}" height="{bar}" fill="{color}" rx="2"/>'
            f'<text x="{label_w + length + 6:.1f}" y="{y + bar * 0.7:.1f}">{escape(_fmt(value))}</text>'
        )
    return (
        f'<svg viewBox="0 0 {width} {height}" width="100%" role="img" class="chart">'
        + "".join(parts)
        + "</svg>"
    )


def line_chart(
    series: dict[str, list[tuple[str, float]]], *, width: int = 720, height: int = 240
) -> str:
    """Lines over a shared x axis with a legend. Dates (ISO labels) are placed in real time, so
    a gap of ten days looks like one; a series of one point is drawn as a dot."""
    xs = sorted({x for points in series.values() for x, _ in points})
    values = [v for points in series.values() for _, v in points if v is not None]
    if not xs or not values:
        return '<p class="empty">no data</p>'
    left, right, top_pad, bottom = 70, 20, 20, 40
    low, high = min(0.0, min(values)), max(values) or 1.0
    positions = _time_positions(xs)
    span_x = (max(positions.values()) - min(positions.values())) or 1
    first = min(positions.values())

    def px(x: str) -> float:
        if len(xs) == 1:
            return left + (width - left - right) / 2  # one day: in the middle, not on the axis
        return left + (width - left - right) * (positions[x] - first) / span_x

    def py(v: float) -> float:
        return top_pad + (height - top_pad - bottom) * (1 - (v - low) / ((high - low) or 1))

    parts = [
        f'<line x1="{left}" y1="{py(low):.1f}" x2="{width - right}" y2="{py(low):.1f}" class="axis"/>',
        f'<text x="{left - 6}" y="{py(high) + 4:.1f}" text-anchor="end">{escape(_fmt(high))}</text>',
        f'<text x="{left - 6}" y="{py(low) + 4:.1f}" text-anchor="end">{escape(_fmt(low))}</text>',
    ]
    step = max(1, len(xs) // 8)
    for x in xs[::step]:
        # Labels at the edges align inwards so they are not cut off.
        anchor = (
            "middle"
            if len(xs) == 1
            else "start"
            if x == xs[0]
            else "end"
            if x == xs[-1]
            else "middle"
        )
        parts.append(
            f'<text x="{px(x):.1f}" y="{height - 18}" text-anchor="{anchor}">{escape(x)}</text>'
        )
    for i, (name, points) in enumerate(series.items()):
        color = PALETTE[i % len(PALETTE)]
        drawn = [(px(x), py(v)) for x, v in sorted(points) if v is not None]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in drawn)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
        if len(drawn) <= 31:  # dots while they stay readable; always for a single point
            parts.extend(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{color}"/>' for x, y in drawn
            )
        parts.append(
            f'<rect x="{left + i * 150}" y="{height - 12}" width="10" height="10" fill="{color}"/>'
            f'<text x="{left + i * 150 + 14}" y="{height - 3}">{escape(name[:20])}</text>'
        )
    return (
        f'<svg viewBox="0 0 {width} {height}" width="100%" role="img" class="chart">'
        + "".join(parts)
        + "</svg>"
    )


def _time_positions(labels: list[str]) -> dict[str, float]:
    """Each label's place on the x axis: days since the epoch when every label is an ISO date
    (or date-time), else its rank."""
    try:
        return {x: dt.date.fromisoformat(x[:10]).toordinal() for x in labels}
    except ValueError:
        return {x: float(i) for i, x in enumerate(labels)}


def _series(rows: list[dict], key: str, x: str, value: str) -> dict[str, list[tuple[str, float]]]:
    out: dict[str, list[tuple[str, float]]] = {}
    for row in rows:
        out.setdefault(str(row[key]), []).append((str(row[x]), row[value]))
    return out


def _discovery_section(data: DashboardData) -> str:
    if not data.discovery:
        return '<p class="empty">no data (analytics.discovery_trends is empty or not built yet)</p>'
    dated = [c for c in data.discovery_columns if isinstance(data.discovery[0].get(c), dt.date)]
    numeric = [
        c for c in data.discovery_columns
        if isinstance(data.discovery[0].get(c), int | float) and not isinstance(data.discovery[0].get(c), bool)
    ]  # fmt: skip
    chart = ""
    if dated and numeric:
        x, y = dated[0], numeric[0]
        totals: dict[str, float] = {}
        for row in data.discovery:
            totals[str(row[x])[:10]] = totals.get(str(row[x])[:10], 0) + (row[y] or 0)
        chart = line_chart({y: sorted(totals.items())})
    columns = [(c, c) for c in data.discovery_columns[:8]]
    return chart + _table(data.discovery[-15:], columns)


CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#111827;background:#f9fafb}
header{background:#111827;color:#fff;padding:16px 24px}header h1{margin:0;font-size:20px}
nav a{color:#93c5fd;margin-right:14px;text-decoration:none}
main{padding:8px 24px 40px;max-width:1100px}
section{background:#fff;border:1px solid #e5e7eb;border-radius:8px;padding:12px 18px;margin:16px 0}
h2{font-size:17px;margin:6px 0 10px}.cards{display:flex;flex-wrap:wrap;gap:12px}
.card{border:1px solid #e5e7eb;border-radius:6px;padding:8px 14px;min-width:130px}
.card b{display:block;font-size:18px}.card span{color:#6b7280;font-size:12px}
table{border-collapse:collapse;width:100%;margin:8px 0;font-size:13px}
th,td{border-bottom:1px solid #e5e7eb;padding:4px 8px;text-align:left}th{background:#f3f4f6}
.chart text{font-size:11px;fill:#374151}.axis{stroke:#9ca3af}.empty{color:#6b7280;font-style:italic}
.sample{background:#fef3c7;border:1px solid #f59e0b;padding:6px 12px;border-radius:6px}
.note{color:#6b7280;font-size:12px}
"""


def render(data: DashboardData, generated_at: dt.datetime) -> str:
    total = next((r for r in data.overview if r["datasource"] == "(all)"), None)
    cards = ""
    if total:
        figures = [
            ("Revenue", _fmt(total["revenue"])), ("Profit", _fmt(total["profit"])),
            ("Margin", _pct(total["margin"])), ("Orders", _fmt(total["orders"])),
            ("Units", _fmt(total["units"])), ("Files loaded", _fmt(total["files_loaded"])),
            ("Files rejected", _fmt(total["files_rejected"])),
            ("Period", f"{total['first_date']} – {total['last_date']}"),
        ]  # fmt: skip
        cards = (
            '<div class="cards">'
            + "".join(
                f'<div class="card"><b>{escape(v)}</b><span>{escape(k)}</span></div>'
                for k, v in figures
            )
            + "</div>"
        )
    sample_note = (
        '<p class="sample">Sample data: these figures come from the bundled sample files,'
        " not from real uploads.</p>"
        if total and total.get("is_sample")
        else ""
    )
    per_source = [r for r in data.overview if r["datasource"] != "(all)"]
    sections = {
        "overview": (
            "Overview",
            sample_note + (cards or '<p class="empty">no data: no sales file loaded yet</p>')
            + _table(per_source, [("datasource", "Datasource"), ("revenue", "Revenue"),
                                  ("profit", "Profit"), ("margin", "Margin"), ("orders", "Orders"),
                                  ("first_date", "From"), ("last_date", "To"),
                                  ("rows_rejected", "Rows rejected")], frozenset({"margin"})),
        ),
        "sales": (
            "Sales",
            "<h3>Revenue by month</h3>" + line_chart(_series(data.monthly, "datasource", "month", "revenue"))
            + "<h3>Daily revenue, last 60 days of data</h3>"
            + line_chart({"revenue": [(str(r["order_date"]), r["revenue"]) for r in data.recent_daily]}),
        ),
        "products": (
            "Products",
            bar_chart([(f"{r['product_line']} ({r['datasource']})", r["revenue"]) for r in data.products])
            + _table(data.products, [("datasource", "Datasource"), ("product_line", "Product line"),
                                     ("revenue", "Revenue"), ("profit", "Profit"), ("margin", "Margin"),
                                     ("units", "Units"), ("revenue_share", "Share")],
                     frozenset({"margin", "revenue_share"})),
        ),
        "branches": (
            "Branches",
            bar_chart([(f"{r['branch']} ({r['datasource']})", r["revenue"]) for r in data.branches])
            + _table(data.branches, [("datasource", "Datasource"), ("branch", "Branch"),
                                     ("revenue", "Revenue"), ("margin", "Margin"), ("orders", "Orders"),
                                     ("avg_order_value", "Avg order"), ("active_days", "Active days")],
                     frozenset({"margin"})),
        ),
        "profitability": (
            "Profitability (latest month per datasource, change on the month before)",
            bar_chart([(f"{r['product_line']} / {r['branch']}", (r["margin"] or 0) * 100) for r in data.profitability[:15]])
            + _table(data.profitability, [("month", "Month"), ("datasource", "Datasource"),
                                          ("branch", "Branch"), ("product_line", "Product line"),
                                          ("revenue", "Revenue"), ("margin", "Margin"),
                                          ("prev_margin", "Previous"), ("margin_change", "Change")],
                     frozenset({"margin", "prev_margin", "margin_change"})),
        ),
        "discovery": ("Grant discovery trends", _discovery_section(data)),
        "email": (
            "E-mail delivery and engagement",
            _table([{**r, "is_sample": "sample" if r["is_sample"] else "real"} for r in data.email],
                   [("kind", "Kind"), ("is_sample", "Data"), ("total", "E-mails"),
                    ("delivered", "Delivered"), ("failed", "Failed"), ("opened", "Opened"),
                    ("clicked", "Clicked"), ("open_rate", "Open rate"), ("click_rate", "Click rate")],
                   frozenset({"open_rate", "click_rate"}))
            + '<p class="note">Opens count loaded tracking pixels (many mail clients block'
            " images), clicks count followed links; both are recorded by <code>pipeline serve</code>."
            " Delivered = accepted by the SMTP server or written to the outbox.</p>",
        ),
    }  # fmt: skip
    nav = "".join(
        f'<a href="#{key}">{escape(title.split(" (")[0])}</a>'
        for key, (title, _) in sections.items()
    )
    body = "".join(
        f'<section id="{key}"><h2>{escape(title)}</h2>{content}</section>'
        for key, (title, content) in sections.items()
    )
    if data.sample_sections:
        body = (
            '<p class="sample sample-banner" role="note"><b>SAMPLE DATA</b>: the '
            + escape(", ".join(data.sample_sections))
            + " shown here come from the bundled samples, not from real sources.</p>"
            + body
        )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>Sales dashboard</title>"
        f"<style>{CSS}</style></head><body><header><h1>Sales dashboard</h1>"
        f"<nav>{nav}</nav><small>generated {escape(generated_at.strftime('%Y-%m-%d %H:%M UTC'))}</small>"
        f"</header><main>{body}</main></body></html>"
    )
