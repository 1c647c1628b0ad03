"""sales_ingest_job: what `pipeline ingest --wait` runs, under a name the Runs page shows."""

import dagster as dg

from pipeline.defs.sales.assets import REJECTS, TRANSACTIONS, UPLOADS
from pipeline.defs.sales.partitions import sales_files

# The per-file assets and everything downstream of them (analytics, dashboard); the downstream
# ones are unpartitioned and materialise whole in the same run.
INGEST_SELECTION = dg.AssetSelection.assets(UPLOADS, TRANSACTIONS, REJECTS).downstream()

SALES_INGEST_JOB = "sales_ingest_job"

sales_ingest_job = dg.define_asset_job(
    SALES_INGEST_JOB,
    selection=INGEST_SELECTION,
    partitions_def=sales_files,
    description="Load one landed sales file (its partition), then rebuild the analytics and "
    "the dashboard from it.",
)
