"""Resources every domain shares. Domain-specific resources live in their domain's
resources.py; each such file holds only a @dg.definitions (it hides everything else in it)."""

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource

from pipeline.lib import warehouse_choice
from pipeline.lib.settings import lake_data, settings
from pipeline.lib.warehouse import Warehouse


class WarehouseResource(DuckDBResource):
    """The warehouse, whichever backend `database` selects: a DuckDB file path, or a
    `ducklake:` URL with its data under `lake_data` (pipeline.lib.lake). The backend is chosen
    here, once; `backend` is the pipeline.lib.warehouse.Warehouse that lib code takes.
    Connections wait out other processes' locks instead of failing the run, and the schema is
    migrated on first use in each process. Every module reaches the warehouse through this
    resource (or `warehouse_resource()` where Dagster hands out no resources)."""

    lock_timeout_s: float = 300.0
    lake_data: str | None = None

    @property
    def backend(self) -> Warehouse:
        return warehouse_choice.choose(
            self.database, self.lake_data, lock_timeout_s=self.lock_timeout_s
        )

    @contextmanager
    def get_connection(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        with self.backend.connection(read_only=read_only) as conn:
            yield conn

    def exists(self) -> bool:
        """Whether there is a warehouse to read yet (a fresh lake counts as existing)."""
        return self.backend.exists()

    def read_connection(self):
        """A read-only connection, or a migrating read-write one while nothing exists yet."""
        return self.backend.read_connection()

    def describe(self) -> str:
        """The warehouse for logs and metadata, without credentials."""
        return self.backend.describe()


def warehouse_resource() -> WarehouseResource:
    return WarehouseResource(database=str(settings().warehouse), lake_data=lake_data())


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(resources={"warehouse": warehouse_resource()})
