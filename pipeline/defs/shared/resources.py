"""Resources every domain shares. Domain-specific resources live in their domain's
resources.py; each such file holds only a @dg.definitions (it hides everything else in it)."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource

from pipeline.lib import lake, warehouse
from pipeline.lib.settings import lake_data, settings


class WarehouseResource(DuckDBResource):
    """The warehouse, whichever backend `database` selects: a DuckDB file path, or a
    `ducklake:` URL with its data under `lake_data` (pipeline.lib.lake). Connections are short,
    wait out other processes' locks instead of failing the run, and the schema is migrated on
    first use in each process. Every module reaches the warehouse through this resource (or
    `warehouse_resource()` outside Dagster), never through a path of its own."""

    lock_timeout_s: float = 300.0
    lake_data: str | None = None

    @property
    def location(self):
        """What pipeline.lib.warehouse functions take: the file path or the lake target."""
        if warehouse.is_lake(self.database):
            return lake.target(self.database, self.lake_data)
        return Path(self.database)

    @contextmanager
    def get_connection(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        with warehouse.connection(
            self.location, read_only=read_only, timeout_s=self.lock_timeout_s
        ) as conn:
            yield conn

    def exists(self) -> bool:
        """Whether there is a warehouse to read yet (a fresh lake counts as existing)."""
        return warehouse.exists(self.location)

    def read_connection(self):
        """A read-only connection, or a migrating read-write one while nothing exists yet (a
        DuckDB file cannot be opened read-only before it is created)."""
        return self.get_connection(read_only=self.exists())

    def describe(self) -> str:
        """The warehouse for logs and metadata, without credentials."""
        return warehouse.describe(self.location)


def warehouse_resource() -> WarehouseResource:
    return WarehouseResource(database=str(settings().warehouse), lake_data=lake_data())


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(resources={"warehouse": warehouse_resource()})
