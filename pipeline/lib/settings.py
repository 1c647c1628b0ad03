"""Where things live, read from the environment at call time (see CONTRACT.md)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def _resolve(value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else REPO_ROOT / path


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    # A DuckDB file path (embedded default) or a `ducklake:` URL (pipeline.lib.lake); open it
    # only through the `warehouse` resource or pipeline.lib.warehouse.
    warehouse: Path | str
    landing: str
    outbox: Path
    config_dir: Path
    samples_dir: Path

    @property
    def landing_is_s3(self) -> bool:
        return self.landing.startswith("s3://")


def settings() -> Settings:
    """Paths for this process. Relative paths are taken from the repository root, not the cwd,
    so `dagster dev`, the CLI and tests started from anywhere agree."""
    data_dir = _resolve(os.environ.get("PIPELINE_DATA_DIR", "data"))
    landing = os.environ.get("PIPELINE_LANDING", "")
    if not landing:
        landing = str(data_dir / "landing")
    elif not landing.startswith("s3://"):
        landing = str(_resolve(landing))
    return Settings(
        data_dir=data_dir,
        warehouse=_warehouse(
            os.environ.get("PIPELINE_WAREHOUSE", str(data_dir / "warehouse.duckdb"))
        ),
        landing=landing,
        outbox=_resolve(os.environ.get("PIPELINE_OUTBOX", str(data_dir / "outbox"))),
        # Config and samples ship with the code; they move only when asked to.
        config_dir=_resolve(os.environ.get("PIPELINE_CONFIG_DIR", "data/config")),
        samples_dir=_resolve(os.environ.get("PIPELINE_SAMPLES_DIR", "data/samples")),
    )


def _warehouse(value: str) -> Path | str:
    if not value.startswith("ducklake:"):
        return _resolve(value)
    # A catalog file path is taken from the repository root like every other path.
    catalog = value.removeprefix("ducklake:")
    if catalog.startswith("sqlite:"):
        return f"ducklake:sqlite:{_resolve(catalog.removeprefix('sqlite:'))}"
    if catalog.startswith("postgres:"):
        return value
    return f"ducklake:{_resolve(catalog)}"


def lake_data() -> str | None:
    """PIPELINE_LAKE_DATA: where a DuckLake warehouse keeps its data files (s3://bucket/prefix/
    or a folder); unset means what the lake's catalog recorded when it was created."""
    value = os.environ.get("PIPELINE_LAKE_DATA", "")
    if not value or value.startswith("s3://"):
        return value or None
    return str(_resolve(value))
