"""One dynamic partition per distinct landed file, keyed by its content hash."""

import dagster as dg

sales_files = dg.DynamicPartitionsDefinition(name="sales_files")
