"""Health of assets and sources: statuses, scores and exit codes judged from what the instance
and the warehouse recorded. Pure logic: pipeline.defs.health.state gathers what it judges.

Statuses, worst last:
- healthy: materialised, fresh, every check that ran passed.
- unknown: never materialised and nothing failing (a warning, not a failure: a new deployment
  has not run everything yet).
- degraded: a WARN check fails, the warn window of its freshness policy has passed, a check
  could not execute, or the last run failed while the data it left is still fresh.
- unhealthy: an ERROR check fails or the fail window of its freshness policy has passed.
- offline: the last attempt to produce it failed and what is left is stale or absent.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum


class Status(StrEnum):
    HEALTHY = "healthy"
    UNKNOWN = "unknown"
    DEGRADED = "degraded"
    UNHEALTHY = "unhealthy"
    OFFLINE = "offline"


class Freshness(StrEnum):
    FRESH = "fresh"
    WARN = "warn"  # past the warn window
    STALE = "stale"  # past the fail window
    NO_POLICY = "no_policy"
    NEVER = "never"  # never materialised


# Score of one asset or source by status; the report's overall score is their weighted mean.
STATUS_SCORE = {
    Status.HEALTHY: 100,
    Status.UNKNOWN: 60,
    Status.DEGRADED: 60,
    Status.UNHEALTHY: 20,
    Status.OFFLINE: 0,
}
# Criticality (asset tag or metadata `criticality`) weighs an asset in the overall score.
CRITICALITY_WEIGHT = {"low": 1, "medium": 2, "high": 3, "critical": 4}
DEFAULT_CRITICALITY = "medium"
# A source whose recent fetches fail this often is unhealthy; any failure degrades it.
SOURCE_UNHEALTHY_ERROR_SHARE = 0.5

# Exit codes of `pipeline health` / `pipeline check`.
EXIT_HEALTHY, EXIT_WARNINGS, EXIT_FAILING = 0, 1, 2


@dataclass(frozen=True)
class CheckFact:
    """The latest evaluation of one asset check. passed=None: it never ran, or its run died
    before it could report (`execution_failed`)."""

    name: str
    passed: bool | None
    severity: str = "ERROR"  # ERROR | WARN, as the check reported it
    description: str | None = None
    execution_failed: bool = False
    blocking: bool = False
    run_id: str | None = None  # the run of the latest evaluation (or of the one that died)


@dataclass
class AssetHealth:
    asset: str
    group: str | None
    status: Status
    freshness: Freshness
    score: int
    criticality: str
    reasons: list[str]
    last_materialized_at: float | None
    checks_passed: int
    checks_failed: int


@dataclass
class SourceHealth:
    kind: str
    provider: str
    status: Status
    score: int
    fetches: int
    errors: int
    error_share: float
    last_fetch_at: float | None
    last_error: str | None
    reasons: list[str]


def freshness(
    last_materialized_at: float | None,
    now: float,
    warn_window_s: float | None,
    fail_window_s: float | None,
) -> Freshness:
    if last_materialized_at is None:
        return Freshness.NEVER
    if warn_window_s is None and fail_window_s is None:
        return Freshness.NO_POLICY
    age = now - last_materialized_at
    if fail_window_s is not None and age > fail_window_s:
        return Freshness.STALE
    if warn_window_s is not None and age > warn_window_s:
        return Freshness.WARN
    return Freshness.FRESH


def judge_asset(
    asset: str,
    now: float,
    *,
    group: str | None = None,
    criticality: str = DEFAULT_CRITICALITY,
    last_materialized_at: float | None = None,
    last_run_failed: bool = False,  # the latest run planned to materialise it failed
    warn_window_s: float | None = None,  # from the asset's FreshnessPolicy
    fail_window_s: float | None = None,
    checks: Sequence[CheckFact] = (),
) -> AssetHealth:
    """One asset's health; `reasons` says why in words an operator can act on."""
    state = freshness(last_materialized_at, now, warn_window_s, fail_window_s)
    failed = sorted((c for c in checks if c.passed is False), key=lambda c: c.severity != "ERROR")
    reasons = [f"{c.severity} check {c.name} failed{_detail(c.description)}" for c in failed]
    reasons += [f"check {c.name} could not run" for c in checks if c.execution_failed]
    age = None if last_materialized_at is None else _age(now - last_materialized_at)
    if state is Freshness.STALE:
        reasons.append(f"stale: last materialised {age} ago (fail window {_age(fail_window_s)})")
    elif state is Freshness.WARN:
        reasons.append(f"late: last materialised {age} ago (warn window {_age(warn_window_s)})")
    if last_run_failed:
        reasons.append("last run failed")

    if last_run_failed and state in (Freshness.NEVER, Freshness.STALE):
        status = Status.OFFLINE
    elif state is Freshness.STALE or any(c.severity == "ERROR" for c in failed):
        status = Status.UNHEALTHY
    elif reasons:  # a WARN check failed, a check could not run, late, or the last run failed
        status = Status.DEGRADED
    elif state is Freshness.NEVER:
        status = Status.UNKNOWN
        reasons.append("never materialised")
    else:
        status = Status.HEALTHY
    return AssetHealth(
        asset=asset,
        group=group,
        status=status,
        freshness=state,
        score=STATUS_SCORE[status],
        criticality=criticality,
        reasons=reasons,
        last_materialized_at=last_materialized_at,
        checks_passed=sum(1 for c in checks if c.passed),
        checks_failed=len(failed),
    )


def _age(seconds: float) -> str:
    for limit, unit, size in ((120, "s", 1), (7200, "m", 60), (172800, "h", 3600)):
        if seconds < limit:
            return f"{seconds / size:.0f}{unit}"
    return f"{seconds / 86400:.0f}d"


def _detail(description: str | None) -> str:
    if not description:
        return ""
    text = " ".join(description.split())
    return f" ({text[:117]}...)" if len(text) > 120 else f" ({text})"


def judge_source(
    kind: str,
    provider: str,
    fetches: int,
    errors: int,
    last_fetch_at: float | None = None,
    last_error: str | None = None,
) -> SourceHealth:
    """One provider's health from the outcome of its recent calls (the caller picks the
    window); a provider never tried is unknown, not failing."""
    share = errors / fetches if fetches else 0.0
    failed = f"{errors} of {fetches} recent fetches failed"
    if not fetches:
        status, failed = Status.UNKNOWN, "no fetches recorded"
    elif errors == fetches:
        status, failed = Status.OFFLINE, f"all {fetches} recent fetches failed"
    elif share >= SOURCE_UNHEALTHY_ERROR_SHARE:
        status = Status.UNHEALTHY
    else:
        status = Status.DEGRADED if errors else Status.HEALTHY
    return SourceHealth(
        kind=kind,
        provider=provider,
        status=status,
        score=STATUS_SCORE[status],
        fetches=fetches,
        errors=errors,
        error_share=round(share, 4),
        last_fetch_at=last_fetch_at,
        last_error=last_error,
        reasons=[failed] if errors or not fetches else [],
    )


def overall_score(assets: Iterable[AssetHealth], sources: Iterable[SourceHealth] = ()) -> int:
    """0-100: assets weighted by criticality, sources with weight 1; 100 when nothing exists."""
    weighted = [(a.score, CRITICALITY_WEIGHT.get(a.criticality, 2)) for a in assets]
    weighted += [(s.score, 1) for s in sources]
    total_weight = sum(w for _, w in weighted)
    if not total_weight:
        return 100
    return round(sum(score * w for score, w in weighted) / total_weight)


def exit_code(statuses: Iterable[Status]) -> int:
    """0 healthy; 1 warnings (degraded or unknown); 2 failing ERROR checks, stale or offline."""
    seen = set(statuses)
    if seen & {Status.UNHEALTHY, Status.OFFLINE}:
        return EXIT_FAILING
    if seen & {Status.DEGRADED, Status.UNKNOWN}:
        return EXIT_WARNINGS
    return EXIT_HEALTHY


def status_counts(statuses: Iterable[Status]) -> dict[str, int]:
    counts = {str(s): 0 for s in Status}
    for status in statuses:
        counts[str(status)] += 1
    return counts
