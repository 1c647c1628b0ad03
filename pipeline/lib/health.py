"""Health of assets and sources, derived from facts (check results, run history, freshness,
fetch statuses). Pure logic: the Dagster side gathers the facts, this module judges them.

Statuses, worst last:
- healthy: materialised, fresh, every check that ran passed.
- unknown: never materialised and no check ever ran (a warning, not a failure: a new
  deployment has not run everything yet).
- degraded: a WARN check fails, the warn window of its freshness policy has passed, a check
  could not execute, or the last run failed while the data it left is still fresh.
- unhealthy: an ERROR check fails or the fail window of its freshness policy has passed.
- offline: the last attempt to produce it failed and what is left is stale or absent.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
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
    evaluated_at: float | None = None
    execution_failed: bool = False
    blocking: bool = False

    @property
    def failing_error(self) -> bool:
        return self.passed is False and self.severity == "ERROR"

    @property
    def failing_warn(self) -> bool:
        return self.passed is False and self.severity != "ERROR"


@dataclass(frozen=True)
class AssetFacts:
    asset: str
    group: str | None = None
    last_materialized_at: float | None = None
    last_run_failed: bool = False  # the latest run planned to materialise it failed
    warn_window_s: float | None = None  # from the asset's FreshnessPolicy
    fail_window_s: float | None = None
    checks: tuple[CheckFact, ...] = ()
    criticality: str = DEFAULT_CRITICALITY


@dataclass
class AssetHealth:
    asset: str
    group: str | None
    status: Status
    freshness: Freshness
    score: int
    criticality: str
    reasons: list[str] = field(default_factory=list)
    last_materialized_at: float | None = None
    checks_passed: int = 0
    checks_failed: int = 0

    def as_dict(self) -> dict:
        data = asdict(self)
        data["status"] = str(self.status)
        data["freshness"] = str(self.freshness)
        return data


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


def _age(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    if seconds < 172800:
        return f"{seconds / 3600:.0f}h"
    return f"{seconds / 86400:.0f}d"


def derive_asset_health(facts: AssetFacts, now: float) -> AssetHealth:
    """Judge one asset from its facts; `reasons` says why in words an operator can act on."""
    state = freshness(facts.last_materialized_at, now, facts.warn_window_s, facts.fail_window_s)
    reasons: list[str] = []
    ran = [c for c in facts.checks if c.passed is not None]
    failing_error = [c for c in facts.checks if c.failing_error]
    failing_warn = [c for c in facts.checks if c.failing_warn]
    crashed = [c for c in facts.checks if c.execution_failed]

    for check in failing_error:
        reasons.append(f"ERROR check {check.name} failed" + _detail(check.description))
    for check in failing_warn:
        reasons.append(f"WARN check {check.name} failed" + _detail(check.description))
    for check in crashed:
        reasons.append(f"check {check.name} could not run")
    if state is Freshness.STALE:
        reasons.append(
            f"stale: last materialised {_age(now - facts.last_materialized_at)} ago "
            f"(fail window {_age(facts.fail_window_s)})"
        )
    elif state is Freshness.WARN:
        reasons.append(
            f"late: last materialised {_age(now - facts.last_materialized_at)} ago "
            f"(warn window {_age(facts.warn_window_s)})"
        )
    if facts.last_run_failed:
        reasons.append("last run failed")

    absent_or_stale = state in (Freshness.NEVER, Freshness.STALE)
    if facts.last_run_failed and absent_or_stale:
        status = Status.OFFLINE
    elif failing_error or state is Freshness.STALE:
        status = Status.UNHEALTHY
    elif failing_warn or crashed or state is Freshness.WARN or facts.last_run_failed:
        status = Status.DEGRADED
    elif state is Freshness.NEVER:
        status = Status.UNKNOWN
        reasons.append("never materialised")
    else:
        status = Status.HEALTHY
    return AssetHealth(
        asset=facts.asset,
        group=facts.group,
        status=status,
        freshness=state,
        score=STATUS_SCORE[status],
        criticality=facts.criticality,
        reasons=reasons,
        last_materialized_at=facts.last_materialized_at,
        checks_passed=sum(1 for c in ran if c.passed),
        checks_failed=sum(1 for c in ran if not c.passed),
    )


def _detail(description: str | None) -> str:
    if not description:
        return ""
    text = " ".join(description.split())
    return f" ({text[:117]}...)" if len(text) > 120 else f" ({text})"


@dataclass(frozen=True)
class FetchFact:
    """One provider call from raw.source_fetches."""

    status: str  # ok | error
    finished_at: float
    error: str | None = None


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
    reasons: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        data = asdict(self)
        data["status"] = str(self.status)
        return data


# A source whose error share in the window reaches this is unhealthy; any error degrades it.
SOURCE_UNHEALTHY_ERROR_SHARE = 0.5


def derive_source_health(kind: str, provider: str, fetches: Sequence[FetchFact]) -> SourceHealth:
    """Health of one provider from its recent calls (the caller picks the window)."""
    ordered = sorted(fetches, key=lambda f: f.finished_at)
    errors = [f for f in ordered if f.status != "ok"]
    share = len(errors) / len(ordered) if ordered else 0.0
    reasons = []
    if not ordered:
        status = Status.UNKNOWN
        reasons.append("no fetches recorded")
    elif len(errors) == len(ordered):
        status = Status.OFFLINE
        reasons.append(f"all {len(ordered)} recent fetches failed")
    elif share >= SOURCE_UNHEALTHY_ERROR_SHARE:
        status = Status.UNHEALTHY
        reasons.append(f"{len(errors)} of {len(ordered)} recent fetches failed")
    elif errors:
        status = Status.DEGRADED
        reasons.append(f"{len(errors)} of {len(ordered)} recent fetches failed")
    else:
        status = Status.HEALTHY
    return SourceHealth(
        kind=kind,
        provider=provider,
        status=status,
        score=STATUS_SCORE[status],
        fetches=len(ordered),
        errors=len(errors),
        error_share=round(share, 4),
        last_fetch_at=ordered[-1].finished_at if ordered else None,
        last_error=errors[-1].error if errors else None,
        reasons=reasons,
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
