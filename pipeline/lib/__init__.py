"""Plain, testable logic with no Dagster imports."""
