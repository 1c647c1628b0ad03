"""Fixtures for the operations tests: a DAGSTER_HOME configured from deploy/postgres."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from pipeline.lib.settings import REPO_ROOT


@pytest.fixture
def postgres_home(pipeline_env: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """DAGSTER_HOME holding deploy/postgres/dagster.yaml, pointed at a fresh database."""
    home = Path(os.environ["DAGSTER_HOME"])
    shutil.copyfile(REPO_ROOT / "deploy" / "postgres" / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_PG_URL", postgres_url)
    return home
