"""Dagster definitions, one folder per domain, discovered by load_from_defs_folder."""
