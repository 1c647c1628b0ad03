"""Chart models for the dashboard: coordinates worked out in Python, drawn as inline SVG by
`templates/charts.html`. Each chart scales to the data it is given."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

# The least distance between two x-axis labels, in pixels (an ISO date is about 60 wide).
LABEL_GAP = 80
PALETTE = ("#2563eb", "#16a34a", "#dc2626", "#9333ea", "#ea580c", "#0891b2", "#ca8a04")


def fmt(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


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
                "value": fmt(value),
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

    # Labels go by position, not by rank: dates placed in real time can bunch up, and labels
    # closer than LABEL_GAP pixels would overlap. The last label shows where the data ends.
    shown = [xs[0]]
    for x in xs[1:]:
        if px(x) - px(shown[-1]) >= LABEL_GAP:
            shown.append(x)
    if len(shown) > 1:
        shown[-1] = xs[-1]
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
        for x in shown
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
        fmt(high),
        fmt(low),
        x_labels,
        lines,
    )
