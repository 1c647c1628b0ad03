"""Sales fixtures: the real sales files (copied from ../shared/realdata) and a helper that lands
a file the way the sensor would (landing zone + sales.files + dynamic partition)."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from pipeline.definitions import defs
from pipeline.defs.sales.assets import REJECTS, TRANSACTIONS, UPLOADS
from pipeline.lib import warehouse_choice
from pipeline.lib.hashing import file_hash
from pipeline.lib.sales.landing import LocalLanding, upload_key
from pipeline.lib.sales.process import process_file, register_file
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
    """A connection to the warehouse the environment configures (DuckDB file or DuckLake)."""
    return warehouse_choice.configured().connection()


def process_landed(digest: str, landing, config_dir: Path | None = None, **options):
    """Load a landed file as the sales assets do; without config_dir no datasource has a spec."""
    return process_file(
        digest,
        connect=connect,
        landing=landing,
        config_dir=config_dir or settings().config_dir / "none",
        work_root=settings().data_dir / "tmp",
        **options,
    )


def materialize_file(
    instance: dg.DagsterInstance,
    digest: str,
    loaded: dg.Definitions | None = None,
    tags: dict[str, str] | None = None,
) -> dg.ExecuteInProcessResult:
    """The run a landed file's partition gets: the per-file assets, in this process."""
    loaded = loaded or defs()
    return dg.materialize(
        list(loaded.assets or []),
        selection=[UPLOADS, TRANSACTIONS, REJECTS],
        partition_key=digest,
        instance=instance,
        resources=loaded.resources,
        tags=tags,
    )


@pytest.fixture
def land(landing):
    """Put a file into the landing zone and register it; returns its partition key."""

    def _land(
        source: Path,
        datasource: str,
        name: str | None = None,
        instance=None,
        is_sample: bool = False,
    ) -> str:
        key = upload_key(datasource, name or source.name)
        landing.put_file(source, key)
        digest = file_hash(landing.root / key)
        [landed] = [f for f in landing.list_files() if f.key == key]
        with connect() as conn:
            partition = register_file(conn, file_hash=digest, landed=landed, is_sample=is_sample)
        if instance is not None:
            instance.add_dynamic_partitions("sales_files", [partition])
        return partition

    return _land
