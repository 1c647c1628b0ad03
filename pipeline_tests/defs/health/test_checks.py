"""The gap-filling checks pass on good rows and fail on planted bad ones."""

from __future__ import annotations

import pytest

from pipeline.defs.health import checks
from pipeline.defs.shared.resources import warehouse_resource
from pipeline.lib import warehouse

GOOD_ROWS = [
    ("news", "t1", "local", "funding", 7, 0.7, 3, 0.74, 0.6),
    ("news", "t1", "local", "funding", 8, 0.8, 2, 0.85, 0.7),
    ("grant", "t1", "openai", "", 9, 0.9, 1, 1.0, 0.9),
]


def evaluate(check):
    return check(warehouse=warehouse_resource())


@pytest.fixture
def distribution(warehouse_path):
    with warehouse.connection(warehouse_path) as conn:
        conn.executemany(
            "INSERT INTO analytics.ai_score_distribution VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, now())",
            GOOD_ROWS,
        )
    return warehouse_path


ALL = [
    checks.ai_score_distribution_unique,
    checks.ai_score_distribution_bucket,
    checks.ai_score_distribution_mean_score,
    checks.ai_score_distribution_mean_confidence,
]


def test_pass_on_good_rows(distribution):
    assert [evaluate(c).passed for c in ALL] == [True, True, True, True]


@pytest.mark.parametrize(
    ("row", "failing"),
    [
        (GOOD_ROWS[0], checks.ai_score_distribution_unique),
        (
            ("news", "t1", "local", "funding", 12, 1.2, 1, 0.5, 0.5),
            checks.ai_score_distribution_bucket,
        ),
        (
            ("news", "t2", "local", "x", 3, 0.3, 1, 1.5, 0.5),
            checks.ai_score_distribution_mean_score,
        ),
        (
            ("news", "t2", "local", "x", 3, 0.3, 1, 0.3, -0.1),
            checks.ai_score_distribution_mean_confidence,
        ),
    ],
)
def test_fail_on_planted_rows(distribution, row, failing):
    with warehouse.connection(distribution) as conn:
        conn.execute(
            "INSERT INTO analytics.ai_score_distribution VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, now())",
            list(row),
        )
    results = {c: evaluate(c).passed for c in ALL}
    assert results.pop(failing) is False
    assert all(results.values())
