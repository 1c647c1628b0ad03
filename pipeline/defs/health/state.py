"""What health judges, read from an asset graph, the Dagster instance and the warehouse. Shared
by `pipeline health`, the health_report asset and the alert sensors; the judging itself is pure
(pipeline.lib.health)."""

from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path

import dagster as dg

from pipeline.defs.sales.recovery import FileState, stuck_files
from pipeline.defs.shared.dagster_private import AssetCheckExecutionRecordStatus as Status
from pipeline.defs.shared.dagster_private import TickStatus
from pipeline.lib import health, warehouse
from pipeline.lib.warehouse import Warehouse

FAILED_RUN_STATUSES = [dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED]
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


def _failed_runs(instance: dg.DagsterInstance, run_ids: set[str]) -> set[str]:
    """Those of `run_ids` that failed or were cancelled."""
    if not run_ids:
        return set()
    runs = dg.RunsFilter(run_ids=list(run_ids), statuses=FAILED_RUN_STATUSES)
    return {run.run_id for run in instance.get_runs(runs)}


def check_facts(graph, instance: dg.DagsterInstance) -> dict[dg.AssetCheckKey, health.CheckFact]:
    """The latest evaluation of every check of the graph, from the instance's event log; a check
    whose run failed before it reported could not run."""
    keys = sorted(graph.asset_check_keys, key=lambda k: (k.asset_key.to_user_string(), k.name))
    records = instance.event_log_storage.get_latest_asset_check_execution_by_key(keys)
    died = _failed_runs(
        instance, {r.run_id for r in records.values() if r.status == Status.PLANNED}
    )
    facts = {}
    for key in keys:
        record, blocking = records.get(key), bool(graph.get(key).blocking)
        if record is None or record.status == Status.PLANNED:
            failed = record is not None and record.run_id in died
            facts[key] = health.CheckFact(
                key.name,
                None,
                execution_failed=failed,
                blocking=blocking,
                run_id=record.run_id if record else None,
            )
            continue
        evaluation = record.evaluation
        facts[key] = health.CheckFact(
            key.name,
            passed=record.status == Status.SUCCEEDED,
            severity=evaluation.severity.value if evaluation else "ERROR",
            description=evaluation.description if evaluation else None,
            blocking=blocking,
            run_id=record.run_id,
        )
    return facts


def _seconds(window) -> float | None:
    return None if window is None else window.to_timedelta().total_seconds()


def asset_health(
    graph, instance: dg.DagsterInstance, now: float | None = None
) -> list[health.AssetHealth]:
    """Health of every materialisable asset of an asset graph (a code location's or a run's
    repository's) from its latest materialisation, the latest run planned to materialise it,
    its time-window FreshnessPolicy (cron policies show in the UI only) and its checks."""
    now = time.time() if now is None else now
    keys = sorted(graph.materializable_asset_keys, key=lambda k: k.to_user_string())
    checks = defaultdict(list)
    for key, fact in check_facts(graph, instance).items():
        checks[key.asset_key].append(fact)
    last = {
        r.asset_entry.asset_key: r.asset_entry.last_materialization
        for r in instance.get_asset_records(keys)
    }
    # The asset entry's planned-run column is not filled by every storage; this query is.
    planned = {
        key: info.run_id
        for key in last
        if (info := instance.get_latest_planned_materialization_info(key)) is not None
    }
    failed_runs = _failed_runs(instance, set(planned.values()))
    judged = []
    for key in keys:
        node, materialization = graph.get(key), last.get(key)
        policy = node.freshness_policy
        judged.append(
            health.judge_asset(
                key.to_user_string(),
                now,
                group=node.group_name,
                criticality=criticality(node),
                last_materialized_at=materialization.timestamp if materialization else None,
                last_run_failed=planned.get(key) in failed_runs
                and (materialization is None or materialization.run_id != planned[key]),
                warn_window_s=_seconds(getattr(policy, "warn_window", None)),
                fail_window_s=_seconds(getattr(policy, "fail_window", None)),
                checks=checks[key],
            )
        )
    return judged


def source_health(
    database: Warehouse | Path, now: float | None = None
) -> list[health.SourceHealth]:
    """Health per (kind, provider) from its latest calls in raw.source_fetches. `database`: the
    warehouse resource's `backend`."""
    database = warehouse.as_warehouse(database)
    if not database.exists():
        return []
    now = time.time() if now is None else now
    since = dt.datetime.fromtimestamp(now, dt.UTC) - SOURCE_WINDOW
    with database.connection(read_only=True, timeout_s=60) as conn:
        if not warehouse.table_exists(conn, "raw.source_fetches"):
            return []
        rows = conn.execute(
            """
            SELECT kind, provider, count(*), count(*) FILTER (status <> 'ok'),
                epoch(max(finished_at)), arg_max(error, finished_at) FILTER (status <> 'ok')
            FROM (SELECT * FROM raw.source_fetches WHERE finished_at >= ? QUALIFY row_number()
                OVER (PARTITION BY kind, provider ORDER BY finished_at DESC) <= ?)
            GROUP BY kind, provider ORDER BY kind, provider
            """,
            [since, SOURCE_RECENT_FETCHES],
        ).fetchall()
    return [health.judge_source(*row) for row in rows]


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
        facts.append(
            TickFact(
                kind=state.instigator_type.value.lower(),
                name=state.instigator_name,
                failed=ticks[0].status == TickStatus.FAILURE,
                error=ticks[0].error.message.strip() if ticks[0].error else "",
                timestamp=ticks[0].timestamp,
            )
        )
    return sorted(facts, key=lambda t: (t.kind, t.name))


@dataclass(frozen=True)
class HealthView:
    """Everything health judges at one moment; `pipeline health` prints it and health_report
    stores it, so both give the same exit code."""

    assets: list[health.AssetHealth]
    sources: list[health.SourceHealth]
    failing_ticks: list[TickFact]
    stuck: list[FileState]

    @property
    def score(self) -> int:
        return health.overall_score(self.assets, self.sources)

    @property
    def exit_code(self) -> int:
        code = health.exit_code([a.status for a in self.assets] + [s.status for s in self.sources])
        # A sensor or schedule whose latest tick failed is a warning: its assets say the rest.
        if self.failing_ticks:
            code = max(code, health.EXIT_WARNINGS)
        # A stuck sales file is a warning while recovery retries it, failing once it gave up.
        for file in self.stuck:
            code = max(code, health.EXIT_FAILING if file.gave_up else health.EXIT_WARNINGS)
        return code

    def report(self) -> dict:
        """The `pipeline health --json` report (also the health export /healthz serves)."""
        return {
            "exit_code": self.exit_code,
            "score": self.score,
            "assets_by_status": health.status_counts(a.status for a in self.assets),
            "assets": [asdict(a) for a in self.assets],
            "sources": [asdict(s) for s in self.sources],
            "failing_ticks": [asdict(t) for t in self.failing_ticks],
            "stuck_files": [{**asdict(f), "reason": f.describe()} for f in self.stuck],
        }


def health_view(
    graph,
    instance: dg.DagsterInstance,
    database: Warehouse | Path,
    now: float,
    *,
    leave_out: str = "",
) -> HealthView:
    """Health of every asset of `graph` (but `leave_out`), every source, the failing ticks and
    the stuck sales files."""
    return HealthView(
        assets=[a for a in asset_health(graph, instance, now) if a.asset != leave_out],
        sources=source_health(database, now),
        failing_ticks=[t for t in latest_ticks(instance) if t.failed],
        stuck=stuck_files(instance, database, now),
    )
