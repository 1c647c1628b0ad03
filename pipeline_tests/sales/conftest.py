"""Sales fixtures: the real sales files (copied from ../shared/realdata) and a helper that lands
a file the way the sensor would (landing zone + sales.files + dynamic partition)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.lib import warehouse
from pipeline.lib.hashing import file_hash
from pipeline.lib.sales.landing import LocalLanding, upload_key
from pipeline.lib.sales.process import register_file
from pipeline.lib.settings import settings

SALES_FIXTURES = Path(__file__).parents[1] / "fixtures" / "sales"


@pytest.fixture
def supermarket_csv() -> Path:
    return SALES_FIXTURES / "supermarket_sales.csv"


@pytest.fixture
def superstore_csv() -> Path:
    return SALES_FIXTURES / "sample_superstore.csv"


@pytest.fixture
def landing(pipeline_env) -> LocalLanding:
    return LocalLanding(settings().landing)


def connect():
    return warehouse.connection(settings().warehouse)


@pytest.fixture
def land(landing):
    """Put a file into the landing zone and register it; returns its partition key."""

    def _land(source: Path, datasource: str, name: str | None = None, instance=None) -> str:
        key = upload_key(datasource, name or source.name)
        landing.put_file(source, key)
        digest = file_hash(landing.root / key)
        [landed] = [f for f in landing.list_files() if f.key == key]
        with connect() as conn:
            partition = register_file(conn, file_hash=digest, landed=landed)
        if instance is not None:
            instance.add_dynamic_partitions("sales_files", [partition])
        return partition

    return _land
