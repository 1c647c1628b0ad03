"""Where the backend is chosen, once: `PIPELINE_WAREHOUSE` names a DuckDB file or a
`ducklake:` catalog (with `PIPELINE_LAKE_DATA` and `PIPELINE_LAKE_SNAPSHOT_DAYS`), and everything
after holds a Warehouse."""

from __future__ import annotations

from pathlib import Path

from pipeline.lib.lake import DuckLake, target
from pipeline.lib.settings import lake_data, lake_snapshot_days, settings
from pipeline.lib.warehouse import DuckDBFile, Warehouse


def choose(database: str, data_path: str | None, *, lock_timeout_s: float) -> Warehouse:
    """The warehouse `database` names: a `ducklake:` URL (data files under `data_path`) or a
    DuckDB file path."""
    if database.startswith("ducklake:"):
        return DuckLake(
            target(database, data_path),
            lock_timeout_s=lock_timeout_s,
            snapshot_days=lake_snapshot_days(),
        )
    return DuckDBFile(Path(database), lock_timeout_s=lock_timeout_s)


def configured(*, lock_timeout_s: float = 300.0) -> Warehouse:
    """The warehouse the environment configures (for code outside Dagster's resources)."""
    return choose(str(settings().warehouse), lake_data(), lock_timeout_s=lock_timeout_s)
