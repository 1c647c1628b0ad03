"""Status derivation, score and exit codes of pipeline.lib.health."""

from __future__ import annotations

import pytest

from pipeline.lib.health import (
    STATUS_SCORE,
    CheckFact,
    Freshness,
    Status,
    exit_code,
    freshness,
    judge_asset,
    judge_source,
    overall_score,
)

NOW = 1_800_000_000.0
HOUR = 3600.0


def judge(**overrides):
    base = dict(
        group="grants",
        last_materialized_at=NOW - HOUR,
        warn_window_s=2 * HOUR,
        fail_window_s=4 * HOUR,
    )
    return judge_asset("grants", NOW, **{**base, **overrides})


@pytest.mark.parametrize(
    ("last", "warn", "fail", "expected"),
    [
        (None, HOUR, HOUR, Freshness.NEVER),
        (NOW - 10, None, None, Freshness.NO_POLICY),
        (NOW - 10, HOUR, 2 * HOUR, Freshness.FRESH),
        (NOW - 1.5 * HOUR, HOUR, 2 * HOUR, Freshness.WARN),
        (NOW - 3 * HOUR, HOUR, 2 * HOUR, Freshness.STALE),
        (NOW - 3 * HOUR, None, 2 * HOUR, Freshness.STALE),
    ],
)
def test_freshness(last, warn, fail, expected):
    assert freshness(last, NOW, warn, fail) is expected


def test_healthy_when_fresh_and_checks_pass():
    health = judge(checks=(CheckFact("unique", True),))
    assert health.status is Status.HEALTHY
    assert health.score == 100 and health.reasons == []
    assert health.checks_passed == 1


def test_unknown_when_never_materialised():
    health = judge(last_materialized_at=None)
    assert health.status is Status.UNKNOWN
    assert health.reasons == ["never materialised"]


def test_warn_check_degrades_error_check_makes_unhealthy():
    warn = CheckFact("volume", False, severity="WARN", description="rows fell 80%")
    error = CheckFact("range", False, severity="ERROR", description="3 scores out of [0, 1]")
    degraded = judge(checks=(warn,))
    assert degraded.status is Status.DEGRADED
    assert degraded.reasons == ["WARN check volume failed (rows fell 80%)"]
    unhealthy = judge(checks=(warn, error))
    assert unhealthy.status is Status.UNHEALTHY
    assert unhealthy.checks_failed == 2


def test_late_degrades_stale_is_unhealthy():
    late = judge(last_materialized_at=NOW - 3 * HOUR)
    assert late.status is Status.DEGRADED and late.freshness is Freshness.WARN
    stale = judge(last_materialized_at=NOW - 5 * HOUR)
    assert stale.status is Status.UNHEALTHY
    assert stale.reasons == ["stale: last materialised 5h ago (fail window 4h)"]


def test_failed_run_offline_only_when_nothing_fresh_is_left():
    still_fresh = judge(last_run_failed=True)
    assert still_fresh.status is Status.DEGRADED
    never = judge(last_materialized_at=None, last_run_failed=True)
    assert never.status is Status.OFFLINE
    stale = judge(last_materialized_at=NOW - 5 * HOUR, last_run_failed=True)
    assert stale.status is Status.OFFLINE and stale.score == 0


def test_check_that_could_not_run_degrades():
    crashed = CheckFact("schema", None, execution_failed=True)
    health = judge(checks=(crashed,))
    assert health.status is Status.DEGRADED
    assert health.reasons == ["check schema could not run"]


def test_never_run_check_is_not_a_failure():
    health = judge(checks=(CheckFact("new", None),))
    assert health.status is Status.HEALTHY and health.checks_failed == 0


def test_source_health_from_fetch_counts():
    assert judge_source("news", "newsapi", 4, 0, NOW).status is Status.HEALTHY
    degraded = judge_source("news", "newsapi", 4, 1, NOW, "HTTP 429")
    assert degraded.status is Status.DEGRADED
    assert degraded.error_share == 0.25 and degraded.last_error == "HTTP 429"
    assert degraded.reasons == ["1 of 4 recent fetches failed"]
    assert judge_source("news", "serper", 2, 1).status is Status.UNHEALTHY
    down = judge_source("grants", "simpler", 3, 3)
    assert down.status is Status.OFFLINE and down.reasons == ["all 3 recent fetches failed"]


def test_a_source_never_fetched_is_unknown():
    never = judge_source("grants", "simpler", 0, 0)
    assert never.status is Status.UNKNOWN and never.score == STATUS_SCORE[Status.UNKNOWN]
    assert never.error_share == 0 and never.reasons == ["no fetches recorded"]


def test_overall_score_weighs_critical_assets_more():
    healthy_low = judge(criticality="low")
    broken_critical = judge(criticality="critical", checks=(CheckFact("x", False),))
    assert overall_score([healthy_low, broken_critical]) == round((100 * 1 + 20 * 4) / 5)
    assert overall_score([]) == 100


@pytest.mark.parametrize(
    ("statuses", "code"),
    [
        ([], 0),
        ([Status.HEALTHY], 0),
        ([Status.HEALTHY, Status.UNKNOWN], 1),
        ([Status.DEGRADED], 1),
        ([Status.DEGRADED, Status.UNHEALTHY], 2),
        ([Status.OFFLINE], 2),
    ],
)
def test_exit_code(statuses, code):
    assert exit_code(statuses) == code
