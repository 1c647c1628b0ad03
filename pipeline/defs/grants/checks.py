"""Grants checks: identity (dedup worked), sane values, readable source records. Schema-change
and volume (row-count drop) checks come from the health domain's coverage for every asset; the
grant_matches checks live with scoring. Uniqueness of a table's primary key is DuckDB's job
(core.grants, core.grant_changes, core.organizations, analytics.discovery_trends): no check
repeats it, as it could never fail."""

import dagster as dg

from pipeline.defs.shared.check_builders import range_check, share_check, unique_check
from pipeline.defs.shared.resources import WarehouseResource

ERROR = dg.AssetCheckSeverity.ERROR
WARN = dg.AssetCheckSeverity.WARN

# Two rows with one OpportunityID would mean entity resolution failed: downstream would match
# and notify the same grant twice.
grants_unique_opportunity_id = unique_check(
    "grants",
    "core.grants",
    ["opportunity_id"],
    where_sql="opportunity_id IS NOT NULL",
    blocking=True,
)
grants_award_ceiling_in_range = range_check(
    "grants", "core.grants", "award_ceiling", minimum=0, severity=WARN
)
grants_close_after_posted = share_check(
    "grants",
    "core.grants",
    "close_date < posted_date",
    max_share=0.0,
    name="close_date_after_posted_date",
    label="grants closing before they were posted",
)
grants_unreadable_records = share_check(
    "grants",
    "raw.events",
    "status = 'invalid'",
    max_share=0.05,
    name="unreadable_source_records_share",
    where_sql="kind = 'grant' AND status <> 'new'",
    label="grant records the parsers could not read",
    description="at most 5% of the grant records fetched could not be parsed",
)
grant_sources_resolve_to_grants = share_check(
    "grants",
    "core.grant_sources",
    "grant_id NOT IN (SELECT grant_id FROM core.grants)",
    max_share=0.0,
    name="source_records_resolve_to_a_grant",
    label="source records pointing at no grant",
    severity=ERROR,
    blocking=True,
)

grant_changes_known_grants = share_check(
    "grant_changes",
    "core.grant_changes",
    "grant_id NOT IN (SELECT grant_id FROM core.grants)",
    max_share=0.0,
    name="changes_belong_to_known_grants",
    label="changes of unknown grants",
    severity=ERROR,
)

organizations_completeness_in_range = range_check(
    "organizations", "core.organizations", "completeness", minimum=0, maximum=1, blocking=True
)


@dg.asset_check(
    asset="organizations",
    description="at least one organisation profile is complete enough to be matched",
)
def matchable_profiles(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.get_connection() as conn:
        rows = conn.execute(
            "SELECT org_id, is_matchable, completeness, missing FROM core.organizations"
            " ORDER BY org_id"
        ).fetchall()
    incomplete = [
        f"{org_id} ({completeness:.0%}): lacks {', '.join(missing)}"
        for org_id, matchable, completeness, missing in rows
        if not matchable
    ]
    matchable = len(rows) - len(incomplete)
    return dg.AssetCheckResult(
        # Nothing at all is matched when no profile qualifies.
        passed=matchable > 0,
        severity=WARN,
        description=f"{matchable} of {len(rows)} profiles are complete enough to match",
        metadata={
            "incomplete": dg.MetadataValue.md("\n".join(f"- {i}" for i in incomplete) or "none")
        },
    )


discovery_trends_windows_consistent = share_check(
    "discovery_trends",
    "analytics.discovery_trends",
    "discovered < 0 OR discovered_7d < discovered OR discovered_30d < discovered_7d",
    max_share=0.0,
    name="rolling_sums_consistent",
    label="rows whose 7/30-day sums contradict the daily count",
    severity=ERROR,
)
