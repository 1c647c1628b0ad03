"""Sales files: format detection, ingestion specs, validation, loading and analytics (no Dagster)."""
