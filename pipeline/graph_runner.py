"""The one in-process runner: materialise the whole asset graph once (`pipeline demo`, the
end-to-end tests) or run every standalone check (`pipeline check`), recording every run and
check result in the Dagster instance under a named job: demo_<domains> per step of the demo
(demo_news, demo_sales, ...), check_job."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

import dagster as dg

from pipeline.defs.health.assets import ASSET_GRAPH_RESOURCE
from pipeline.defs.sales.operations import seed_sample_uploads
from pipeline.defs.shared.resources import warehouse_resource
from pipeline.lib import alerting, health, warehouse
from pipeline.lib.settings.providers import live_providers

# Runs of `pipeline demo` and `pipeline check` show under these job names in the UI: a demo
# step is DEMO_JOB_PREFIX + the groups (domains) of its assets.
DEMO_JOB_PREFIX = "demo_"
CHECK_JOB = "check_job"


@dataclass(frozen=True)
class GraphStep:
    """Assets that share a partitions definition, run together for one partition key."""

    asset_keys: tuple[dg.AssetKey, ...]
    partition_key: str | None
    domains: tuple[str, ...] = ()  # the asset groups, in graph order

    @property
    def job_name(self) -> str:
        return DEMO_JOB_PREFIX + "_".join(self.domains or ("assets",))


@dataclass
class GraphRunSummary:
    run_ids: list[str] = field(default_factory=list)
    failed_runs: list[str] = field(default_factory=list)
    # run id -> "<failed step>: <its error's last line>"
    failures: dict[str, str] = field(default_factory=dict)
    row_counts: dict[str, int] = field(default_factory=dict)
    checks: list[dg.AssetCheckEvaluation] = field(default_factory=list)
    emails: dict[str, int] = field(default_factory=dict)

    @property
    def failed_error_checks(self) -> list[dg.AssetCheckEvaluation]:
        return [
            c for c in self.checks if not c.passed and c.severity == dg.AssetCheckSeverity.ERROR
        ]

    @property
    def ok(self) -> bool:
        return not self.failed_runs and not self.failed_error_checks

    @property
    def exit_code(self) -> int:
        """2: an ERROR check failed or a run failed; 1: only WARN checks failed; else 0."""
        if not self.ok:
            return health.EXIT_FAILING
        if any(not c.passed for c in self.checks):
            return health.EXIT_WARNINGS
        return health.EXIT_HEALTHY

    def record(self, result: dg.ExecuteInProcessResult) -> None:
        """Add one run's outcome: its id, whether it failed, row counts and check results."""
        self.run_ids.append(result.run_id)
        if not result.success:
            self.failed_runs.append(result.run_id)
            self.failures[result.run_id] = failure_of(result)
        for event in result.get_asset_materialization_events():
            materialization = event.step_materialization_data.materialization
            rows = materialization.metadata.get("dagster/row_count")
            if rows is not None:
                self.row_counts[materialization.asset_key.to_user_string()] = int(rows.value)
        self.checks += result.get_asset_check_evaluations()

    def as_dict(self) -> dict:
        def check(c: dg.AssetCheckEvaluation) -> dict:
            return {
                "asset": c.asset_key.to_user_string(),
                "check": c.check_name,
                "passed": c.passed,
                "severity": c.severity.value,
                "description": c.description,
            }

        return {
            "ok": self.ok,
            "run_ids": self.run_ids,
            "failed_runs": self.failed_runs,
            "failures": self.failures,
            "row_counts": self.row_counts,
            "checks": [check(c) for c in self.checks],
            "failed_error_checks": [check(c) for c in self.failed_error_checks],
            "emails": self.emails,
        }


def failure_of(result: dg.ExecuteInProcessResult) -> str:
    """ "<failed step>: <its error's last line>" of a failed run (the first failed step)."""
    for event in result.all_events:
        error = getattr(event.event_specific_data, "error", None)
        if (event.is_step_failure or event.is_run_failure) and error is not None:
            return f"{event.step_key or 'run'}: {alerting.error_last_line(error)}"
    return "run: failed"


def partition_keys(
    partitions_def: dg.PartitionsDefinition | None, instance: dg.DagsterInstance, today: dt.date
) -> list[str | None]:
    """The partitions one pass runs: none (unpartitioned), today's for time partitions, every
    one for dynamic and static ones."""
    if partitions_def is None:
        return [None]
    if isinstance(partitions_def, dg.TimeWindowPartitionsDefinition):
        keys = partitions_def.get_partition_keys(
            current_time=dt.datetime.combine(today, dt.time(12), tzinfo=dt.UTC),
            dynamic_partitions_store=instance,
        )
        return [keys[-1]] if keys else []
    if isinstance(partitions_def, dg.DynamicPartitionsDefinition):
        return list(instance.get_dynamic_partitions(partitions_def.name))
    return list(partitions_def.get_partition_keys(dynamic_partitions_store=instance))


def plan_steps(
    defs: dg.Definitions, instance: dg.DagsterInstance, today: dt.date
) -> list[GraphStep]:
    """Walk the graph in dependency order and cut it into steps wherever the partitions
    definition changes, so each step is one valid run. Reports on the graph itself (group
    `health`) run last and alone, once every other asset and its checks have run."""
    graph = defs.resolve_asset_graph()
    materializable = set(graph.materializable_asset_keys)
    groups: list[tuple[tuple, list[dg.AssetKey]]] = []

    def is_report(key: dg.AssetKey) -> bool:
        return graph.get(key).group_name == "health"

    # Nothing outside `health` depends on it, so moving it last keeps a topological order.
    ordered = sorted(graph.toposorted_asset_keys, key=is_report)
    placed: set[dg.AssetKey] = set()
    for key in ordered:
        if key not in materializable or key in placed:
            continue
        # A multi-asset that cannot be subset (e.g. sales_file_ingest) runs whole: its keys
        # go into the step of the first one, even when toposort put other assets between them.
        keys = sorted(graph.get(key).execution_set_asset_keys & materializable)
        placed.update(keys)
        cut = (graph.get(key).partitions_def, is_report(key))
        if groups and groups[-1][0] == cut:
            groups[-1][1].extend(keys)
        else:
            groups.append((cut, keys))
    steps = []
    for (partitions_def, _), keys in groups:
        domains = tuple(dict.fromkeys(graph.get(k).group_name or "default" for k in keys))
        for partition_key in partition_keys(partitions_def, instance, today):
            steps.append(GraphStep(tuple(keys), partition_key, domains))
    return steps


def execute(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    selection: dg.AssetSelection,
    *,
    job_name: str,
    partition_key: str | None,
    tags: dict[str, str],
) -> dg.ExecuteInProcessResult:
    """One in-process run of `selection` as the job `job_name` (what dg.materialize does,
    under a name a person can find in the UI). A failure is in the result, never raised."""
    run_defs = dg.Definitions(
        assets=defs.assets,
        asset_checks=defs.asset_checks,
        # An in-process run has no repository: health_report judges the graph handed over here.
        resources={**(defs.resources or {}), ASSET_GRAPH_RESOURCE: defs.resolve_asset_graph()},
        jobs=[dg.define_asset_job(job_name, selection=selection)],
    )
    return run_defs.resolve_job_def(job_name).execute_in_process(
        instance=instance, partition_key=partition_key, raise_on_error=False, tags=tags
    )


def run_graph(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    *,
    today: dt.date | None = None,
    tags: dict[str, str] | None = None,
    on_step: Callable[[GraphStep, dg.ExecuteInProcessResult], None] | None = None,
) -> GraphRunSummary:
    """Materialise every asset and run every check once. A failed step does not stop later
    ones: the summary says what failed."""
    today = today or dt.datetime.now(dt.UTC).date()
    provenance = "live" if live_providers() else "sample"
    run_tags = {
        "pipeline/provenance": provenance,
        "pipeline/trigger": "graph_runner",
        **(tags or {}),
    }
    summary = GraphRunSummary()
    started = dt.datetime.now(dt.UTC)
    # Sales files are dynamic partitions: an empty landing zone gets the bundled samples first.
    seed_sample_uploads(instance, warehouse_resource())
    for step in plan_steps(defs, instance, today):
        result = execute(
            defs,
            instance,
            dg.AssetSelection.assets(*step.asset_keys),
            job_name=step.job_name,
            partition_key=step.partition_key,
            tags=run_tags,
        )
        summary.record(result)
        if on_step:
            on_step(step, result)
    summary.emails = email_counts(warehouse_resource(), since=started)
    return summary


def run_checks(
    defs: dg.Definitions, instance: dg.DagsterInstance, *, tags: dict[str, str] | None = None
) -> GraphRunSummary:
    """Run every standalone asset check (@asset_check, the builders; checks declared inside an
    asset run only with it) against the warehouse as it is, in one run that materialises
    nothing; results land in the instance like any other check evaluation. No check here is
    partitioned, so the run needs no partition key."""
    keys = [key for checks_def in defs.asset_checks or [] for key in checks_def.check_keys]
    summary = GraphRunSummary()
    if keys:
        selection = dg.AssetSelection.checks(*keys)
        run_tags = {"pipeline/trigger": "check", **(tags or {})}
        result = execute(
            defs, instance, selection, job_name=CHECK_JOB, partition_key=None, tags=run_tags
        )
        summary.record(result)
    return summary


def email_counts(resource, since: dt.datetime | None = None) -> dict[str, int]:
    """E-mails in notify.email_log by status (sent, written to the outbox, failed); with
    `since`, only those this run handled (created or changed since then), not the ones earlier
    runs already sent."""
    if not resource.exists():
        return {}
    with resource.get_connection(read_only=True) as conn:
        if not warehouse.table_exists(conn, "notify.email_log"):
            return {}
        where, params = ("WHERE updated_at >= ?", [since]) if since else ("", [])
        return dict(
            conn.execute(
                f"SELECT status, count(*) FROM notify.email_log {where} GROUP BY status", params
            ).fetchall()
        )
