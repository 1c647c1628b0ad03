"""Re-match an organisation over every grant partition when its profile changes.

Dagster 1.13 has no public API to launch a backfill from a sensor (dagster issue 27759). The
alternatives are one RunRequest per partition (hundreds of runs for one profile edit, each
re-reading the profile) or one run over the whole partition range. We use the latter:
grant_matches has a single-run backfill policy and handles a partition range, and the run's
config limits it to the changed organisations, so their pairs are replaced in one transaction
and no other organisation's rows are touched. The range runs from the first to the last
partition in which grants (or matches) were materialised, so a young deployment does not
re-run hundreds of empty days.
"""

import json

import dagster as dg

from pipeline.defs.shared.partitions import daily_partitions
from pipeline.lib.hashing import content_hash
from pipeline.lib.scoring.profiles import changed_profiles, profile_hashes
from pipeline.lib.settings import settings

GRANT_MATCHES = dg.AssetKey("grant_matches")
GRANTS = dg.AssetKey("grants")
ORGANIZATIONS = dg.AssetKey("organizations")


def _grant_partitions(instance: dg.DagsterInstance) -> set[str]:
    """Daily partitions that hold grants or matches: the range a re-match must cover. Reading
    the instance, not the warehouse, keeps the sensor off the DuckDB lock."""
    valid = set(daily_partitions.get_partition_keys())
    found = instance.get_materialized_partitions(GRANTS) | instance.get_materialized_partitions(
        GRANT_MATCHES
    )
    return found & valid


def _selection(context: dg.SensorEvaluationContext) -> list[dg.AssetKey]:
    """grant_matches, preceded by organizations when this code location defines it, so the
    run re-reads the edited profile before re-matching."""
    repository = context.repository_def
    if repository is not None:
        graph = repository.asset_graph
        if graph.has(ORGANIZATIONS) and graph.get(ORGANIZATIONS).is_materializable:
            return [ORGANIZATIONS, GRANT_MATCHES]
    return [GRANT_MATCHES]


@dg.sensor(
    name="organization_profile_sensor",
    asset_selection=[GRANT_MATCHES],
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="When an organisation profile in organizations.yaml changes, re-match that "
    "organisation over every grant partition in one run over the partition range.",
)
def organization_profile_sensor(context: dg.SensorEvaluationContext):
    current = profile_hashes(settings().config_dir / "organizations.yaml")
    if context.cursor is None:
        # First evaluation: the regular daily runs score every organisation already, so the
        # sensor only records where it starts from.
        context.update_cursor(json.dumps({"profiles": current, "changes": 0}))
        return dg.SkipReason(f"recorded {len(current)} organisation profile(s) as the baseline")
    state = json.loads(context.cursor)
    changed = changed_profiles(state["profiles"], current)
    if not changed:
        return dg.SkipReason("no organisation profile changed")
    partitions = _grant_partitions(context.instance)
    if not partitions:
        context.update_cursor(json.dumps({"profiles": current, "changes": state["changes"]}))
        return dg.SkipReason(
            f"profile(s) changed ({', '.join(changed)}) but no grant partition exists yet"
        )
    start, end = min(partitions), max(partitions)
    # The change counter keeps run keys unique when a profile is edited back and forth.
    changes = state["changes"] + 1
    context.update_cursor(json.dumps({"profiles": current, "changes": changes}))
    return dg.RunRequest(
        run_key=f"profile-change-{changes}-{content_hash(current)[:12]}",
        asset_selection=_selection(context),
        run_config={"ops": {"grant_matches": {"config": {"org_ids": changed}}}},
        tags={
            "dagster/asset_partition_range_start": start,
            "dagster/asset_partition_range_end": end,
            "pipeline/trigger": "organization_profile_sensor",
            "pipeline/org_ids": ",".join(changed)[:200],
        },
    )
