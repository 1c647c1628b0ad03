"""The sales jobs, under names the Runs page shows: sales_file_job (what the landing sensor runs
per file; the analytics follow through their automation) and sales_ingest_job (what
`pipeline ingest --wait` runs: the file and its analytics in one run)."""

import dagster as dg

from pipeline.defs.sales.assets import REJECTS, TRANSACTIONS, UPLOADS
from pipeline.defs.sales.partitions import sales_files

SALES_FILE_JOB = "sales_file_job"
PER_FILE = dg.AssetSelection.assets(UPLOADS, TRANSACTIONS, REJECTS)

sales_file_job = dg.define_asset_job(
    SALES_FILE_JOB,
    selection=PER_FILE,
    partitions_def=sales_files,
    description="Load one landed sales file (its partition): the upload, its lines, its "
    "rejected rows.",
)

# The per-file assets and everything downstream of them (analytics, dashboard); the downstream
# ones are unpartitioned and materialise whole in the same run.
INGEST_SELECTION = PER_FILE.downstream()

SALES_INGEST_JOB = "sales_ingest_job"

sales_ingest_job = dg.define_asset_job(
    SALES_INGEST_JOB,
    selection=INGEST_SELECTION,
    partitions_def=sales_files,
    description="Load one landed sales file (its partition), then rebuild the analytics and "
    "the dashboard from it.",
)
