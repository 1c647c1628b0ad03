"""Per-file ingestion: one run per landed file (partition = file name + short content hash)."""

import dagster as dg

from pipeline.defs.sales.landing import SalesLandingResource
from pipeline.defs.sales.partitions import sales_files
from pipeline.defs.sales.recovery import scratch_root
from pipeline.defs.shared.metadata import table_metadata
from pipeline.defs.shared.resources import WarehouseResource
from pipeline.lib.sales.landing import UPLOADS_ASSET
from pipeline.lib.sales.process import process_file
from pipeline.lib.settings import settings

UPLOADS = dg.AssetKey(UPLOADS_ASSET)
TRANSACTIONS = dg.AssetKey("sales_transactions")
REJECTS = dg.AssetKey("sales_rejects")


@dg.multi_asset(
    name="sales_file_ingest",
    partitions_def=sales_files,
    group_name="sales",
    specs=[
        dg.AssetSpec(
            UPLOADS,
            description="Landed sales files by content hash (sales.files): format, spec used,"
            " outcome. A file with more bad rows than max_bad_row_ratio is rejected whole.",
            kinds={"duckdb"},
        ),
        dg.AssetSpec(
            TRANSACTIONS,
            deps=[UPLOADS],
            description="Validated sales lines (sales.transactions), keyed by (datasource,"
            " order_id, line): a re-upload replaces, the same bytes twice change nothing.",
            kinds={"duckdb"},
        ),
        dg.AssetSpec(
            REJECTS,
            deps=[UPLOADS],
            description="Rejected rows per file (sales.rejects): row, column, reason.",
            kinds={"duckdb"},
        ),
    ],
)
def sales_file_ingest(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    sales_landing: SalesLandingResource,
):
    landing = sales_landing.zone()
    outcome = process_file(
        context.partition_key,
        connect=warehouse.get_connection,
        landing=landing,
        config_dir=settings().config_dir,
        work_root=scratch_root(),
        max_excel_bytes=sales_landing.max_excel_bytes,
    )
    if outcome.status == "rejected":
        context.log.warning(
            f"{outcome.file_name} rejected: {outcome.reason}; see {outcome.errors_key}"
        )
    where, params = "file_hash = ?", [outcome.file_hash]
    with warehouse.get_connection() as conn:
        upload_meta = table_metadata(conn, "sales.files", where, params)
        lines_meta = table_metadata(conn, "sales.transactions", where, params)
        rejects_meta = table_metadata(conn, "sales.rejects", where, params)
    outcome_meta = {
        "status": outcome.status,
        "datasource": outcome.datasource,
        "file": outcome.file_name,
        "location": landing.location(outcome.landing_key),
        "rows_total": outcome.rows_total,
        "rows_loaded": outcome.rows_loaded,
        "rows_rejected": outcome.rows_rejected,
        "rows_replaced": outcome.rows_replaced,
        "reprocessed": outcome.reprocessed,
    }
    for name in ("reason", "format", "encoding", "spec_source", "spec_key", "errors_key"):
        value = getattr(outcome, name)
        if value:
            outcome_meta[name] = value
    if outcome.notes:
        outcome_meta["notes"] = "; ".join(outcome.notes)
    yield dg.MaterializeResult(asset_key=UPLOADS, metadata={**outcome_meta, **upload_meta})
    yield dg.MaterializeResult(
        asset_key=TRANSACTIONS,
        metadata={"status": outcome.status, "rows_loaded": outcome.rows_loaded, **lines_meta},
    )
    yield dg.MaterializeResult(
        asset_key=REJECTS,
        metadata={"rows_rejected": outcome.rows_rejected, **rejects_meta},
    )
