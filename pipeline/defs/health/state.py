"""Gather health facts from an asset graph, the Dagster instance and the warehouse. Shared by
`pipeline health`, the health_report asset and the alert sensors; the judging itself is pure
(pipeline.lib.health)."""

from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict
from dataclasses import dataclass

import dagster as dg

from pipeline.defs.shared.dagster_private import AssetCheckExecutionRecordStatus, TickStatus
from pipeline.lib import health, warehouse

FAILED_RUN_STATUSES = {dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}
# Health per source looks at this many of each provider's latest calls within this window.
SOURCE_WINDOW = dt.timedelta(days=7)
SOURCE_RECENT_FETCHES = 20


def criticality(node) -> str:
    """An asset's criticality from its `criticality` tag or metadata (low/medium/high/critical)."""
    value = (node.tags or {}).get("criticality") or (node.metadata or {}).get("criticality")
    value = getattr(value, "value", value)
    if isinstance(value, str) and value.lower() in health.CRITICALITY_WEIGHT:
        return value.lower()
    return health.DEFAULT_CRITICALITY


def _windows(policy) -> tuple[float | None, float | None]:
    """(warn, fail) windows in seconds of a time-window FreshnessPolicy; cron policies and
    none give (None, None): their freshness checks report it instead."""
    fail = getattr(policy, "fail_window", None)
    warn = getattr(policy, "warn_window", None)
    return (
        warn.to_timedelta().total_seconds() if warn is not None else None,
        fail.to_timedelta().total_seconds() if fail is not None else None,
    )


def latest_check_facts(
    instance: dg.DagsterInstance, check_keys: list[dg.AssetCheckKey], blocking: dict
) -> dict[dg.AssetCheckKey, health.CheckFact]:
    """The latest evaluation of each check, from the instance's event log."""
    records = instance.event_log_storage.get_latest_asset_check_execution_by_key(check_keys)
    planned_runs = {
        r.run_id
        for r in records.values()
        if r.status == AssetCheckExecutionRecordStatus.PLANNED and r.run_id
    }
    runs = (
        {
            run.run_id: run
            for run in instance.get_runs(filters=dg.RunsFilter(run_ids=list(planned_runs)))
        }
        if planned_runs
        else {}
    )
    facts = {}
    for key in check_keys:
        record = records.get(key)
        if record is None:
            facts[key] = health.CheckFact(key.name, None, blocking=blocking.get(key, False))
            continue
        if record.status == AssetCheckExecutionRecordStatus.PLANNED:
            run = runs.get(record.run_id)
            facts[key] = health.CheckFact(
                key.name,
                None,
                execution_failed=bool(run and run.status in FAILED_RUN_STATUSES),
                evaluated_at=record.create_timestamp,
                blocking=blocking.get(key, False),
            )
            continue
        evaluation = record.evaluation
        facts[key] = health.CheckFact(
            name=key.name,
            passed=record.status == AssetCheckExecutionRecordStatus.SUCCEEDED,
            severity=evaluation.severity.value if evaluation else "ERROR",
            description=evaluation.description if evaluation else None,
            evaluated_at=record.event.timestamp if record.event else record.create_timestamp,
            blocking=blocking.get(key, False),
        )
    return facts


def asset_facts(graph, instance: dg.DagsterInstance) -> list[health.AssetFacts]:
    """Facts for every materialisable asset of an asset graph (`defs.resolve_asset_graph()`
    or a run's `context.repository_def.asset_graph`): latest materialisation, whether the
    latest run planned to materialise it failed, freshness windows, latest check results."""
    keys = sorted(graph.materializable_asset_keys, key=lambda k: k.to_user_string())
    check_keys = sorted(
        graph.asset_check_keys, key=lambda k: (k.asset_key.to_user_string(), k.name)
    )
    blocking = {k: bool(graph.get(k).blocking) for k in check_keys}
    checks = latest_check_facts(instance, check_keys, blocking)
    checks_by_asset: dict[dg.AssetKey, list[health.CheckFact]] = defaultdict(list)
    for key in check_keys:
        checks_by_asset[key.asset_key].append(checks[key])

    entries = {r.asset_entry.asset_key: r.asset_entry for r in instance.get_asset_records(keys)}
    # The asset entry's planned-run column is not filled by every storage; this query is.
    planned_runs = {}
    for key in entries:
        planned = instance.get_latest_planned_materialization_info(key)
        if planned is not None:
            planned_runs[key] = planned.run_id
    run_status = (
        {
            run.run_id: run.status
            for run in instance.get_runs(
                filters=dg.RunsFilter(run_ids=list(set(planned_runs.values())))
            )
        }
        if planned_runs
        else {}
    )
    facts = []
    for key in keys:
        node = graph.get(key)
        entry = entries.get(key)
        last = entry.last_materialization if entry else None
        planned_run = planned_runs.get(key)
        last_run_failed = bool(
            planned_run
            and run_status.get(planned_run) in FAILED_RUN_STATUSES
            and (last is None or last.run_id != planned_run)
        )
        warn_s, fail_s = _windows(node.freshness_policy)
        facts.append(
            health.AssetFacts(
                asset=key.to_user_string(),
                group=node.group_name,
                last_materialized_at=last.timestamp if last else None,
                last_run_failed=last_run_failed,
                warn_window_s=warn_s,
                fail_window_s=fail_s,
                checks=tuple(checks_by_asset.get(key, ())),
                criticality=criticality(node),
            )
        )
    return facts


def asset_health(
    graph, instance: dg.DagsterInstance, now: float | None = None
) -> list[health.AssetHealth]:
    now = time.time() if now is None else now
    return [health.derive_asset_health(f, now) for f in asset_facts(graph, instance)]


def source_health(location, now: float | None = None) -> list[health.SourceHealth]:
    """Health per (kind, provider) from the latest rows of raw.source_fetches. `location`:
    the warehouse resource's."""
    if not warehouse.exists(location):
        return []
    now = time.time() if now is None else now
    since = dt.datetime.fromtimestamp(now, dt.UTC) - SOURCE_WINDOW
    with warehouse.connection(location, read_only=True, timeout_s=60) as conn:
        if not warehouse.table_exists(conn, "raw.source_fetches"):
            return []
        rows = conn.execute(
            """
            SELECT kind, provider, status, epoch(finished_at), error FROM (
                SELECT *, row_number() OVER (
                    PARTITION BY kind, provider ORDER BY finished_at DESC) AS recency
                FROM raw.source_fetches WHERE finished_at >= ?)
            WHERE recency <= ? ORDER BY kind, provider
            """,
            [since, SOURCE_RECENT_FETCHES],
        ).fetchall()
    fetches: dict[tuple[str, str], list[health.FetchFact]] = defaultdict(list)
    for kind, provider, status, finished_at, error in rows:
        fetches[(kind, provider)].append(health.FetchFact(status, float(finished_at), error))
    return [
        health.derive_source_health(kind, provider, items)
        for (kind, provider), items in sorted(fetches.items())
    ]


@dataclass(frozen=True)
class TickFact:
    kind: str  # sensor | schedule
    name: str
    failed: bool
    error: str
    timestamp: float


def latest_ticks(instance: dg.DagsterInstance, exclude: str = "") -> list[TickFact]:
    """The latest finished tick of every sensor and schedule the instance knows (the daemon
    records them; without one there are none)."""
    facts = []
    for state in instance.all_instigator_state():
        if state.instigator_name == exclude:
            continue
        ticks = instance.get_ticks(
            state.instigator_origin_id,
            state.selector_id,
            limit=1,
            statuses=[TickStatus.SUCCESS, TickStatus.SKIPPED, TickStatus.FAILURE],
        )
        if not ticks:
            continue
        tick = ticks[0]
        facts.append(
            TickFact(
                kind=state.instigator_type.value.lower(),
                name=state.instigator_name,
                failed=tick.status == TickStatus.FAILURE,
                error=tick.error.message.strip() if tick.error else "",
                timestamp=tick.timestamp,
            )
        )
    return sorted(facts, key=lambda t: (t.kind, t.name))
