"""Landing a file by hand (`pipeline ingest`), processing it in this process, and seeding the
bundled samples for `pipeline demo`: the paths that do not wait for the sensor."""

from dataclasses import dataclass
from pathlib import Path

import dagster as dg

# By name: a job object imported here would be collected twice by the defs loader.
from pipeline.defs.sales.jobs import SALES_INGEST_JOB
from pipeline.defs.sales.landing import SalesLandingResource
from pipeline.defs.sales.partitions import sales_files
from pipeline.defs.sales.recovery import process_tags
from pipeline.defs.shared.resources import WarehouseResource
from pipeline.lib.sales.formats import FileRejected, format_of
from pipeline.lib.sales.landing import (
    LandedFile,
    file_run_tags,
    receive,
    upload_key,
    with_hash_suffix,
)
from pipeline.lib.sales.partition_keys import partition_key
from pipeline.lib.sales.process import register_file, registered_file
from pipeline.lib.settings import settings


@dataclass(frozen=True)
class LandResult:
    file_hash: str
    partition_key: str
    key: str
    location: str
    already_known: dict | None  # the sales.files row when these bytes were landed before
    datasource: str
    file_name: str  # as recorded: the first landing's name for bytes landed before

    @property
    def run_tags(self) -> dict[str, str]:
        """The tags of the run that processes this file, as the landing sensor sets them."""
        return file_run_tags(self.datasource, self.file_name)


def land_file(
    source: Path,
    datasource: str,
    *,
    warehouse: WarehouseResource,
    is_sample: bool = False,
    instance=None,
) -> LandResult:
    """Copy `source` to sales/<datasource>/ (never over a different file), record it under its
    content hash and, given an instance, add its sales_files partition (name + short hash of
    the first landing of these bytes; `pipeline.lib.sales.partition_keys`). The same bytes twice:
    nothing is landed or recorded again. The file is read once: hashed while it is copied into
    a local zone (`lib.sales.landing.receive`)."""
    resource = SalesLandingResource()
    landing = resource.zone()
    received = receive(resource.resolved_location(), source)
    digest = received.file_hash
    try:
        with warehouse.get_connection() as conn:
            known = registered_file(conn, digest)
        if known:
            received.discard()
            return LandResult(
                digest,
                partition_key(known["file_name"], digest),
                known["landing_key"],
                landing.location(known["landing_key"]),
                known,
                known["datasource"],
                known["file_name"],
            )
        key = upload_key(datasource, source.name)
        if landing.exists(key) and not _holds(landing, key, digest):
            key = with_hash_suffix(key, digest)
        landing.put_received(received, key)
    except BaseException:
        received.discard()  # nothing half-landed stays behind
        raise
    landed = LandedFile(key, datasource, Path(key).name, source.stat().st_size, "")
    with warehouse.get_connection() as conn:
        partition = register_file(conn, file_hash=digest, landed=landed, is_sample=is_sample)
    if instance is not None:
        instance.add_dynamic_partitions(sales_files.name, [partition])
    return LandResult(digest, partition, key, landing.location(key), None, datasource, landed.name)


def _holds(landing, key: str, digest: str) -> bool:
    """Whether `key` holds these bytes; a link or an oversized file there is never read."""
    try:
        return landing.hash_of(key) == digest
    except FileRejected:
        return False


def process_now(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    partition: str,
    tags: dict[str, str] | None = None,
) -> list:
    """Run the file's partition and its downstream analytics and dashboard in this process, as
    one run of sales_ingest_job recorded in the instance like any other (the analytics are
    unpartitioned, so they materialise unpartitioned in it). The file's checks run before
    anything downstream, and a failed blocking check or a failed load stops the analytics.
    `tags` (LandResult.run_tags) let the team's pages find the run. Returns the run results."""
    return [
        defs.resolve_job_def(SALES_INGEST_JOB).execute_in_process(
            partition_key=partition,
            instance=instance,
            raise_on_error=False,
            # The process tag lets recovery tell a run whose process was killed from a live one.
            tags={"pipeline/trigger": "ingest", **(tags or {}), **process_tags()},
        )
    ]


def seed_sample_uploads(instance: dg.DagsterInstance, warehouse: WarehouseResource) -> list[str]:
    """Copy the bundled sample files (data/samples/sales/<datasource>/<file>) into the landing
    zone when it holds no sales files yet, and register their partitions: so `pipeline demo`
    on a fresh machine has sales to load. Their lines carry is_sample = true. Returns the
    partition keys added (none once the zone has files)."""
    if SalesLandingResource().zone().list_files():
        return []
    samples = settings().samples_dir / "sales"
    added = []
    for path in sorted(samples.glob("*/*")):
        if path.is_file() and format_of(path.name):
            added.append(
                land_file(
                    path, path.parent.name, warehouse=warehouse, is_sample=True, instance=instance
                ).partition_key
            )
    return added
