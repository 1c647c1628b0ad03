"""Grants domain logic: parsers, sources, entity resolution, profiles (no Dagster imports)."""
