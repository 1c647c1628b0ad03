"""One dynamic partition per distinct landed file content, keyed by the file's name and a short
content hash (`orders_2026q1.csv-3f9a2c1d4e5f`; see pipeline.lib.sales.partition_keys)."""

import dagster as dg

sales_files = dg.DynamicPartitionsDefinition(name="sales_files")
