"""The landing-zone sensor: new file contents become sales_files partitions and runs."""

import json
import time

import dagster as dg

from pipeline.defs.sales.jobs import SALES_FILE_JOB
from pipeline.defs.sales.landing import SalesLandingResource
from pipeline.defs.sales.partitions import sales_files
from pipeline.defs.sales.recovery import (
    clean_scratch,
    fail_dead_runs,
    file_states,
    read_landed_files,
)
from pipeline.defs.shared.resources import WarehouseResource
from pipeline.lib import warehouse as warehouse_db
from pipeline.lib.sales.landing import LandedFile, LocalLanding, file_run_tags
from pipeline.lib.sales.partition_keys import partition_key
from pipeline.lib.sales.process import register_file
from pipeline.lib.sales.quarantine import quarantine_linked_folders, quarantine_refused

# A local file modified this recently may still be being copied in; look again next tick.
SETTLE_SECONDS = 5.0
# Recovery reads sales.files on every tick; it waits this long for a run's lock, then tries
# again next tick rather than holding the tick up.
RECOVERY_LOCK_WAIT_S = 10.0


@dg.sensor(
    name="sales_landing_sensor",
    description="Lists sales/<datasource>/<file> in the landing zone; each new file content"
    " (sha256; a renamed copy is not new) becomes a sales_files partition (file name + short"
    " hash) and a run. Also"
    " recovers from crashes: runs whose process died are marked failed, a file still landed"
    " after a failed or missing run is run again (up to 3 times), scratch is cleaned.",
    # By name: a job object imported here would be collected twice by the defs loader.
    job_name=SALES_FILE_JOB,
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
)
def sales_landing_sensor(
    context: dg.SensorEvaluationContext,
    warehouse: WarehouseResource,
    sales_landing: SalesLandingResource,
):
    for run_id in fail_dead_runs(context.instance):
        context.log.warning(f"run {run_id} lost its process; marked failed")
    for leftover in clean_scratch(context.instance):
        context.log.info(f"removed abandoned {leftover}")
    # Cursor: key -> {signature (size + mtime/ETag), hash}, so unchanged files are not re-hashed.
    seen = json.loads(context.cursor)["files"] if context.cursor else {}
    landing = sales_landing.zone()
    current: dict[str, dict] = {}
    unknown: dict[str, LandedFile] = {}  # content hash -> the first file seen with it
    if isinstance(landing, LocalLanding):
        for key, target, reason in quarantine_linked_folders(landing):
            context.log.warning(f"refused {key!r}: {reason}; moved to {target!r}")
    for landed in landing.list_files():
        # Links, bad names and oversized files are refused before any byte is read.
        if refused := quarantine_refused(landing, landed):
            target, reason = refused
            context.log.warning(
                f"refused {landed.key!r}: {reason}; moved to {target!r} beside its .errors.json"
            )
            continue
        signature = f"{landed.size}:{landed.version}"
        previous = seen.get(landed.key)
        if previous and previous["signature"] == signature:
            current[landed.key] = previous
            continue
        if isinstance(landing, LocalLanding):
            modified = int(landed.version) / 1e9
            if time.time() - modified < SETTLE_SECONDS:
                continue
        digest = landing.hash_of(landed.key)
        current[landed.key] = {"signature": signature, "hash": digest}
        if not _has_partition(context.instance, partition_key(landed.name, digest), digest):
            unknown.setdefault(digest, landed)
    new: dict[str, LandedFile] = {}  # partition key -> file
    if unknown:
        with warehouse.get_connection() as conn:
            for digest, landed in unknown.items():
                # A renamed copy of known content gets the key of its first name: not new.
                key = register_file(conn, file_hash=digest, landed=landed)
                if not _has_partition(context.instance, key, digest):
                    new[key] = landed
    cursor = json.dumps({"files": current}, sort_keys=True)
    retries = [
        s for s in _stuck_states(context, warehouse) if s.retry_due and s.partition_key not in new
    ]
    if not new and not retries:
        return dg.SensorResult(skip_reason="no new sales files", cursor=cursor)
    if new:
        context.log.info(f"{len(new)} new sales file(s): {', '.join(f.key for f in new.values())}")
    for state in retries:
        context.log.warning(f"{state.describe()}; running it again")
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(
                partition_key=key,
                run_key=key,
                tags=file_run_tags(landed.datasource, landed.name),
            )
            for key, landed in new.items()
        ]
        + [
            dg.RunRequest(
                partition_key=state.partition_key,
                run_key=f"{state.partition_key}:retry-{state.attempts}",
                tags={
                    **file_run_tags(state.datasource, state.file_name),
                    "pipeline/recovery": f"attempt {state.attempts + 1}",
                },
            )
            for state in retries
        ],
        # Adding a key that exists changes nothing; a retried file's key may not exist yet
        # (a file never run on an instance from before readable keys).
        dynamic_partitions_requests=[
            sales_files.build_add_request([*new, *(s.partition_key for s in retries)])
        ],
        cursor=cursor,
    )


def _has_partition(instance: dg.DagsterInstance, key: str, digest: str) -> bool:
    """Whether the content has its partition: the readable key, or the full hash that
    instances from before readable keys used."""
    return any(instance.has_dynamic_partition(sales_files.name, k) for k in (key, digest))


def _stuck_states(context: dg.SensorEvaluationContext, warehouse: WarehouseResource) -> list:
    try:
        files = read_landed_files(warehouse.backend, timeout_s=RECOVERY_LOCK_WAIT_S)
    except warehouse_db.WarehouseLockedError:
        context.log.info("warehouse busy; landed files are checked again next tick")
        return []
    return file_states(context.instance, files)
