"""The landing-zone sensor: new file contents become sales_files partitions and runs."""

import json
import time

import dagster as dg

from pipeline.defs.sales.assets import REJECTS, TRANSACTIONS, UPLOADS
from pipeline.defs.sales.landing import SalesLandingResource
from pipeline.defs.sales.partitions import sales_files
from pipeline.defs.shared.resources import WarehouseResource
from pipeline.lib.sales.landing import LocalLanding
from pipeline.lib.sales.process import register_file

# A local file modified this recently may still be being copied in; look again next tick.
SETTLE_SECONDS = 5.0


@dg.sensor(
    name="sales_landing_sensor",
    description="Lists sales/<datasource>/<file> in the landing zone; each new file content"
    " (sha256; a renamed copy is not new) becomes a sales_files partition and a run.",
    asset_selection=[UPLOADS, TRANSACTIONS, REJECTS],
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
)
def sales_landing_sensor(
    context: dg.SensorEvaluationContext,
    warehouse: WarehouseResource,
    sales_landing: SalesLandingResource,
):
    # Cursor: key -> {signature (size + mtime/ETag), hash}, so unchanged files are not re-hashed.
    seen = json.loads(context.cursor)["files"] if context.cursor else {}
    landing = sales_landing.zone()
    current: dict[str, dict] = {}
    new: dict[str, object] = {}
    for landed in landing.list_files():
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
        if digest not in new and not context.instance.has_dynamic_partition(
            sales_files.name, digest
        ):
            new[digest] = landed
    if new:
        with warehouse.get_connection() as conn:
            for digest, landed in new.items():
                register_file(conn, file_hash=digest, landed=landed)
    cursor = json.dumps({"files": current}, sort_keys=True)
    if not new:
        return dg.SensorResult(skip_reason="no new sales files", cursor=cursor)
    context.log.info(f"{len(new)} new sales file(s): {', '.join(f.key for f in new.values())}")
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(
                partition_key=digest,
                run_key=digest,
                tags={"sales/datasource": landed.datasource, "sales/file": landed.name},
            )
            for digest, landed in new.items()
        ],
        dynamic_partitions_requests=[sales_files.build_add_request(list(new))],
        cursor=cursor,
    )
