"""Re-score one organisation's or client's pairs over every partition when its profile changes.

Dagster 1.13 has no public API to launch a backfill from a sensor (dagster issue 27759). The
alternatives are one RunRequest per partition (hundreds of runs for one profile edit, each
re-reading the profile) or one run over the whole partition range. We use the latter:
grant_matches and news_scores have a single-run backfill policy and handle a partition range,
and the run's config limits them to the changed organisations/clients, so their pairs are
replaced in one transaction and no one else's rows are touched (unchanged pairs still come
from the score cache). The range runs from the first to the last partition in which the
items (or scores) were materialised, so a young deployment does not re-run hundreds of empty
days.
"""

import json

import dagster as dg

from pipeline.defs.shared.asset_keys import (
    CLIENT_NEWS,
    GRANT_MATCHES,
    GRANTS,
    NEWS_SCORES,
    ORGANIZATIONS,
)
from pipeline.defs.shared.partitions import daily_partitions
from pipeline.defs.shared.resources import WarehouseResource
from pipeline.lib.grants.organizations import changed_profiles, profile_hashes
from pipeline.lib.hashing import content_hash
from pipeline.lib.scoring.inputs import load_client_profiles
from pipeline.lib.settings import settings
from pipeline.lib.warehouse import Warehouse, WarehouseLockedError, table_exists


def _partitions(instance: dg.DagsterInstance, *keys: dg.AssetKey) -> set[str]:
    """Daily partitions in which any of `keys` was materialised. Reading the instance, not the
    warehouse, keeps the sensor off the DuckDB lock."""
    found: set[str] = set()
    for key in keys:
        found |= instance.get_materialized_partitions(key)
    return found & set(daily_partitions.get_partition_keys())


def _defined(context: dg.SensorEvaluationContext, key: dg.AssetKey) -> bool:
    repository = context.repository_def
    if repository is None:
        return False
    graph = repository.asset_graph
    return graph.has(key) and graph.get(key).is_materializable


def _rescore(
    context: dg.SensorEvaluationContext,
    current: dict[str, str],
    *,
    what: str,
    target: dg.AssetKey,
    items: dg.AssetKey,
    config_key: str,
    before: list[dg.AssetKey],
) -> dg.RunRequest | dg.SkipReason:
    """Compare `current` profile hashes with the cursor and request one ranged run of
    `target` for the changed subjects."""
    if context.cursor is None:
        # First evaluation: the regular daily runs score everyone already, so the sensor only
        # records where it starts from.
        context.update_cursor(json.dumps({"profiles": current, "changes": 0}))
        return dg.SkipReason(f"recorded {len(current)} {what} profile(s) as the baseline")
    state = json.loads(context.cursor)
    changed = changed_profiles(state["profiles"], current)
    if not changed:
        return dg.SkipReason(f"no {what} profile changed")
    partitions = _partitions(context.instance, items, target)
    if not partitions:
        context.update_cursor(json.dumps({"profiles": current, "changes": state["changes"]}))
        return dg.SkipReason(
            f"{what} profile(s) changed ({', '.join(changed)}) but nothing was scored yet"
        )
    # The change counter keeps run keys unique when a profile is edited back and forth.
    changes = state["changes"] + 1
    context.update_cursor(json.dumps({"profiles": current, "changes": changes}))
    return dg.RunRequest(
        run_key=f"{what}-profile-change-{changes}-{content_hash(current)[:12]}",
        asset_selection=[k for k in before if _defined(context, k)] + [target],
        run_config={"ops": {target.path[-1]: {"config": {config_key: changed}}}},
        tags={
            "dagster/asset_partition_range_start": min(partitions),
            "dagster/asset_partition_range_end": max(partitions),
            "pipeline/trigger": f"{what}_profile_sensor",
            f"pipeline/{config_key}": ",".join(changed)[:200],
        },
    )


@dg.sensor(
    name="organization_profile_sensor",
    asset_selection=[GRANT_MATCHES],
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="When an organisation profile in organizations.yaml changes, re-match that "
    "organisation over every grant partition in one run over the partition range.",
)
def organization_profile_sensor(context: dg.SensorEvaluationContext):
    return _rescore(
        context,
        profile_hashes(settings().config_dir / "organizations.yaml"),
        what="organization",
        target=GRANT_MATCHES,
        items=GRANTS,
        config_key="org_ids",
        # organizations first, when this code location defines it: the run re-reads the
        # edited profile before re-matching.
        before=[ORGANIZATIONS],
    )


def client_profile_hashes(database: Warehouse, timeout_s: float = 5.0) -> dict[str, str] | None:
    """client_id → hash of what the scorers read about a client (name, aliases, domain,
    tenant, and the profile fields: keywords, topics, exclusions, industry, geography,
    languages), from core.crm_clients. None when the warehouse is busy: try again next tick."""
    if not database.exists():
        return {}
    try:
        with database.connection(read_only=True, timeout_s=timeout_s) as conn:
            if not table_exists(conn, "core.crm_clients"):
                return {}
            clients = load_client_profiles(conn)
    except WarehouseLockedError:
        return None
    return {
        c.client_id: content_hash({"tenant_id": c.tenant_id, **c.profile_fields()}) for c in clients
    }


@dg.sensor(
    name="client_profile_sensor",
    asset_selection=[NEWS_SCORES],
    minimum_interval_seconds=120,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="When a CRM client's name, aliases, domain, tenant or profile fields change, "
    "re-score that "
    "client's news over every partition in one run over the partition range.",
)
def client_profile_sensor(context: dg.SensorEvaluationContext, warehouse: WarehouseResource):
    current = client_profile_hashes(warehouse.backend)
    if current is None:
        return dg.SkipReason("warehouse busy; will look again next tick")
    return _rescore(
        context,
        current,
        what="client",
        target=NEWS_SCORES,
        items=CLIENT_NEWS,
        config_key="client_ids",
        before=[],
    )
