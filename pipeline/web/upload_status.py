"""The state of a tenant's sales files for /uploads, from the landing zone and the Dagster
instance (runs tagged with the file's datasource and name, and the sales_uploads
materialisation each run recorded): never from the warehouse.

A tenant's datasources are the folders `sales/<tenant>.<name>/`: the tenant is part of the
datasource's name, so every table keyed by datasource (sales.files, sales.transactions, the
dashboard export) tells tenants apart without a new column."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from pipeline.lib.sales.landing import DATASOURCE_TAG, FILE_TAG, UPLOADS_ASSET

LANDED, PROCESSING, LOADED, REJECTED, FAILED = (
    "landed",
    "processing",
    "loaded",
    "rejected",
    "failed",
)
IN_PROGRESS = {LANDED, PROCESSING}
# Rejection reasons shown per file (errors.json may list thousands of bad rows).
ERRORS_SHOWN = 5
# Runs read per datasource (and among all, to find datasources whose files were all rejected).
RUNS_READ = 500


def tenant_datasource(tenant: str, name: str) -> str:
    return f"{tenant}.{name}"


def belongs_to(tenant: str, datasource: str) -> bool:
    return datasource.startswith(f"{tenant}.")


@dataclass
class UploadState:
    datasource: str  # the name the analyst chose (without the tenant)
    file: str
    state: str
    rows_loaded: int | None = None
    reason: str | None = None
    errors: list[str] = field(default_factory=list)


def _errors(landing, key: str | None) -> list[str]:
    if not key:
        return []
    try:
        with landing.local_path(key) as path:
            report = json.loads(path.read_text())
    except (OSError, ValueError, KeyError):
        return []
    lines = []
    for error in report.get("errors", [])[:ERRORS_SHOWN]:
        lines.append(", ".join(f"{k} {v}" for k, v in error.items()))
    return lines


def upload_states(tenant: str, instance, landing) -> list[UploadState]:
    """Every file of the tenant's datasources, newest run first (`instance` None: no runs
    recorded to read, so every file is landed)."""
    import dagster as dg

    landed = [f for f in landing.list_files() if belongs_to(tenant, f.datasource)]
    states: dict[tuple[str, str], UploadState] = {}
    records = []
    if instance is not None:
        # Rejected files left sales/: their datasources are found among the latest runs.
        recent = instance.get_run_records(limit=RUNS_READ)
        datasources = {f.datasource for f in landed}
        datasources |= {r.dagster_run.tags.get(DATASOURCE_TAG, "") for r in recent}
        for datasource in sorted(d for d in datasources if belongs_to(tenant, d)):
            tagged = dg.RunsFilter(tags={DATASOURCE_TAG: datasource})
            records += instance.get_run_records(filters=tagged, limit=RUNS_READ)
        records.sort(key=lambda r: r.create_timestamp, reverse=True)
    for record in records:
        run = record.dagster_run
        datasource, name = run.tags.get(DATASOURCE_TAG, ""), run.tags.get(FILE_TAG, "")
        if not belongs_to(tenant, datasource) or (datasource, name) in states:
            continue
        short = datasource.partition(".")[2]
        state = UploadState(short, name, PROCESSING)
        states[(datasource, name)] = state
        if run.status == dg.DagsterRunStatus.SUCCESS:
            partition = run.tags.get("dagster/partition")
            found = instance.fetch_materializations(
                dg.AssetRecordsFilter(
                    asset_key=dg.AssetKey(UPLOADS_ASSET), asset_partitions=[partition]
                ),
                limit=1,
            ).records
            meta = found[0].asset_materialization.metadata if found else {}
            state.state = str(meta["status"].value) if "status" in meta else LOADED
            state.rows_loaded = meta["rows_loaded"].value if "rows_loaded" in meta else None
            state.reason = meta["reason"].value if "reason" in meta else None
            errors_key = meta["errors_key"].value if "errors_key" in meta else None
            state.errors = _errors(landing, errors_key) if state.state == REJECTED else []
        elif run.status in (dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED):
            state.state = FAILED
    for file in landed:
        if (file.datasource, file.name) not in states:
            short = file.datasource.partition(".")[2]
            states[(file.datasource, file.name)] = UploadState(short, file.name, LANDED)
    return list(states.values())
