"""Warehouse upkeep on a schedule: on DuckLake, rows inlined into the catalog by small writes
go to Parquet files, small adjacent files are merged (every asset run adds a few), and snapshots
older than PIPELINE_LAKE_SNAPSHOT_DAYS expire with the files only they used; on the DuckDB file,
a checkpoint. The backend decides (pipeline.lib.warehouse.Warehouse.compact)."""

import dagster as dg

from pipeline.defs.shared.resources import WarehouseResource
from pipeline.lib.settings import schedule_cron


@dg.op(description="Compact the warehouse's storage: the backend's own upkeep.")
def compact_warehouse(context: dg.OpExecutionContext, warehouse: WarehouseResource) -> None:
    done = warehouse.backend.compact()
    context.log.info(f"{warehouse.describe()}: {done}")


@dg.job(
    description="Compact the warehouse's storage (DuckLake: small files merged, old snapshots"
    " expired)."
)
def warehouse_compaction_job():
    compact_warehouse()


warehouse_compaction_schedule = dg.ScheduleDefinition(
    name="warehouse_compaction_schedule",
    job=warehouse_compaction_job,
    cron_schedule=schedule_cron("30 3 * * *"),
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every day at 03:30 UTC, before the day's discovery: compact the warehouse.",
)
