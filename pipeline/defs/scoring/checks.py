"""Checks on the scores: range (blocking: a score outside 0..1 would mis-rank every digest),
unique pairs (blocking: a duplicate means a duplicate e-mail), tenant isolation (blocking),
and the share of AI candidates that fell back to the local scorer (warning)."""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import dagster as dg

from pipeline.defs.shared.check_builders import table_check, unique_check
from pipeline.defs.shared.resources import WarehouseResource
from pipeline.lib import health_checks
from pipeline.lib import warehouse as wh
from pipeline.lib.health_checks import Verdict

FALLBACK_WARN_SHARE = 0.2


def _first_out_of_unit_range(conn, table: str, columns: tuple[str, ...]) -> Verdict:
    """Every value of `columns` in 0..1 and not null: the first column that fails decides."""
    verdicts = [
        health_checks.value_range(conn, table, c, minimum=0, maximum=1, allow_null=False)
        for c in columns
    ]
    failed = [v for v in verdicts if not v.passed]
    return failed[0] if failed else verdicts[0]


def _unit_range_check(name: str, asset: str, table: str, columns: tuple[str, ...]):
    test = partial(_first_out_of_unit_range, table=table, columns=columns)
    description = f"{' and '.join(columns)} in 0..1"
    return table_check(asset, name, description, test, blocking=True)


def _tenant_check(warehouse: WarehouseResource, table: str, subject: str, profiles: str):
    with warehouse.get_connection() as conn:
        if not wh.table_exists(conn, profiles):
            return dg.AssetCheckResult(
                passed=True, description=f"{profiles} not created yet: nothing to compare"
            )
        crossed = wh.scalar(
            conn,
            f"SELECT count(*) FROM {table} s JOIN {profiles} p USING ({subject})"
            " WHERE s.tenant_id IS DISTINCT FROM p.tenant_id",
        )
    return dg.AssetCheckResult(
        passed=crossed == 0,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"cross_tenant_rows": crossed},
        description=f"{crossed} rows carry a tenant other than their {subject}'s",
    )


def _fallback_check(warehouse: WarehouseResource, asset: str):
    """Reads the latest ai.usage row of the asset: when the AI scorer was configured and too
    many prefiltered candidates got the local score (API down, budget spent, bad output)."""
    with warehouse.get_connection() as conn:
        row = conn.execute(
            "SELECT configured_scorer, ai_candidates, fallbacks, message, run_id FROM ai.usage"
            " WHERE asset = ? ORDER BY finished_at DESC LIMIT 1",
            [asset],
        ).fetchall()
    if not row:
        return dg.AssetCheckResult(passed=True, description="not scored yet")
    configured, candidates, fallbacks, message, run_id = row[0]
    share = fallbacks / candidates if candidates else 0.0
    description = (
        f"local scorer by configuration (no OPENAI_API_KEY); {candidates} candidates"
        if configured == "local"
        else f"{fallbacks} of {candidates} AI candidates fell back to the local scorer"
        + (f": {message}" if message and fallbacks else "")
    )
    return dg.AssetCheckResult(
        passed=share <= FALLBACK_WARN_SHARE,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "fallback_share": round(share, 4),
            "threshold": FALLBACK_WARN_SHARE,
            "run_id": run_id,
        },
        description=description,
    )


class _ScoreTable(NamedTuple):
    """What differs between the score tables (each is `ai.<asset>`)."""

    score_column: str  # held to 0..1 together with confidence
    key: tuple[str, ...]  # (subject, item): the subject's profiles carry its tenant
    profiles: str
    range_check: str  # its name, as `pipeline health` and alerts print it


def _score_checks(asset: str, score: _ScoreTable) -> list[dg.AssetChecksDefinition]:
    """The four checks of a score table: range, unique pairs, tenant isolation (against the
    `profiles` of the subject) and the local-fallback share."""
    table, subject = f"ai.{asset}", score.key[0]

    @dg.asset_check(
        asset=asset,
        name=f"{asset}_tenant_isolation",
        blocking=True,
        description=f"rows carry the {subject.removesuffix('_id')}'s tenant",
    )
    def tenant_isolation(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        return _tenant_check(warehouse, table, subject, score.profiles)

    @dg.asset_check(
        asset=asset,
        name=f"{asset}_fallback_share",
        description="share of AI candidates scored locally",
    )
    def fallback_share(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        return _fallback_check(warehouse, asset)

    unique_pairs = unique_check(
        asset, table, score.key, name=f"{asset}_unique_pairs", blocking=True
    )
    range_columns = (score.score_column, "confidence")
    score_range = _unit_range_check(score.range_check, asset, table, range_columns)
    return [score_range, unique_pairs, tenant_isolation, fallback_share]


_SCORE_TABLES = {
    "grant_matches": _ScoreTable(
        "score", ("org_id", "grant_id"), "core.organizations", "grant_matches_score_range"
    ),
    "news_scores": _ScoreTable(
        "relevance", ("client_id", "article_id"), "core.crm_clients", "news_scores_range"
    ),
}
# A module-level list: the defs loader picks up each check in it.
score_checks = [
    check for asset, score in _SCORE_TABLES.items() for check in _score_checks(asset, score)
]
