"""The dashboard's line charts (pipeline/lib/sales/charts.py): dates placed in real time, a
single day drawn rather than an empty chart, axis labels that never overlap."""

from __future__ import annotations

import itertools
import re

from pipeline.lib.sales.charts import LABEL_GAP, line_chart_model
from pipeline.lib.sales.dashboard import line_chart


def points(svg: str) -> list[tuple[float, float]]:
    return [
        (float(x), float(y)) for x, y in re.findall(r'<circle cx="([\d.]+)" cy="([\d.]+)"', svg)
    ]


def test_dates_are_placed_in_real_time():
    svg = line_chart({"revenue": [("2026-01-12", 7.0), ("2026-01-01", 5.0), ("2026-01-02", 6.0)]})
    xs = [x for x, _ in points(svg)]
    assert xs == sorted(xs)  # drawn in time order whatever the input order
    one_day, ten_days = xs[1] - xs[0], xs[2] - xs[1]
    assert abs(ten_days / one_day - 10) < 0.01
    labels = re.findall(r">(\d{4}-\d\d-\d\d)<", svg)
    # 2026-01-02 sits a day (about 60 px) after the first label: drawn, it would overlap it.
    assert labels == ["2026-01-01", "2026-01-12"]


def test_axis_labels_never_overlap_and_span_the_data_shown():
    days = ["2019-01-01", "2019-01-03", "2019-01-05", "2019-02-10", "2019-03-30"]
    model = line_chart_model({"revenue": [(day, 1.0) for day in days]})
    xs = [label["x"] for label in model.x_labels]
    assert all(b - a >= LABEL_GAP for a, b in itertools.pairwise(xs))
    texts = [label["text"] for label in model.x_labels]
    assert texts[0] == "2019-01-01" and texts[-1] == "2019-03-30"


def test_a_single_day_is_drawn_as_a_visible_point():
    svg = line_chart({"revenue": [("2026-03-02", 120.0)]})
    [(x, y)] = points(svg)
    assert 70 < x < 700 and y < 200  # inside the plot, above the zero axis
    assert ">2026-03-02<" in svg


def test_labels_that_are_not_dates_keep_their_order():
    svg = line_chart({"a": [("b", 1.0), ("a", 2.0)]})
    assert [x for x, _ in points(svg)] == sorted(x for x, _ in points(svg))
