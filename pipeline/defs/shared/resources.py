"""Resources every domain shares. Domain-specific resources live in their domain's
resources.py; each such file holds only a @dg.definitions (it hides everything else in it)."""

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource

from pipeline.lib import warehouse
from pipeline.lib.settings import settings


class WarehouseResource(DuckDBResource):
    """The DuckDB warehouse. Connections are short, wait out other processes' locks instead of
    failing the run, and the schema is migrated on first use in each process."""

    lock_timeout_s: float = 300.0

    @contextmanager
    def get_connection(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        with warehouse.connection(
            self.database, read_only=read_only, timeout_s=self.lock_timeout_s
        ) as conn:
            yield conn


def warehouse_resource() -> WarehouseResource:
    return WarehouseResource(database=str(settings().warehouse))


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(resources={"warehouse": warehouse_resource()})
