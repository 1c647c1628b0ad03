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
    warehouse: Path
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
        warehouse=_resolve(
            os.environ.get("PIPELINE_WAREHOUSE", str(data_dir / "warehouse.duckdb"))
        ),
        landing=landing,
        outbox=_resolve(os.environ.get("PIPELINE_OUTBOX", str(data_dir / "outbox"))),
        # Config and samples ship with the code; they move only when asked to.
        config_dir=_resolve(os.environ.get("PIPELINE_CONFIG_DIR", "data/config")),
        samples_dir=_resolve(os.environ.get("PIPELINE_SAMPLES_DIR", "data/samples")),
    )
