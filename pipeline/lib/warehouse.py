"""The warehouse: one interface, two backends, and versioned, forward-only schema migrations
recorded in `meta.schema_migrations`.

`Warehouse` is what every caller holds; the backend is chosen once, where the resources are
built (pipeline.lib.warehouse_choice), and callers cannot tell which one they have:
- `DuckDBFile`: one embedded DuckDB file (the default). DuckDB lets one process hold a file at
  a time (even read-only opens fail while another process writes), so every caller connects
  for one unit of work and retries on a lock;
- `pipeline.lib.lake.DuckLake`: catalog in PostgreSQL/SQLite, data files on S3 or in a folder,
  which many processes on many hosts read and write at once.
Callers write the same SQL for both; upserts are `MERGE INTO` on each table's key as the
migrations declare it (`merge_sql`, `table_keys`).
"""

from __future__ import annotations

import logging
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import duckdb
from tenacity import RetryCallState, retry_if_exception, retry_if_exception_type

from pipeline.lib import duckdb_extensions, retries

log = logging.getLogger(__name__)

MIGRATIONS_PACKAGE = "pipeline.lib.migrations"
# The DuckDB file's lock; SQLite's when a DuckLake catalog lives in SQLite; and two processes
# creating the same fresh lake at once (the loser's CREATE TABLE of the catalog collides).
_LOCK_MARKERS = (
    "could not set lock",
    "conflicting lock",
    "lock on file",
    "database is locked",
    "failed to initialize ducklake",
)
META_DDL = (
    "CREATE SCHEMA IF NOT EXISTS meta;"
    " CREATE TABLE IF NOT EXISTS meta.schema_migrations ("
    " version INTEGER PRIMARY KEY, name VARCHAR NOT NULL,"
    " applied_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp);"
)


class WarehouseLockedError(RuntimeError):
    """Another process kept the warehouse locked for longer than we were willing to wait."""


def is_lock_error(error: BaseException) -> bool:
    return isinstance(error, duckdb.Error) and any(m in str(error).lower() for m in _LOCK_MARKERS)


class Warehouse(ABC):
    """Where the pipeline's tables live. `connection()` is one unit of work: the schema is
    brought up to date on first use per process, other processes' locks are waited out, and
    the connection is given back when the block ends."""

    # Processes starting together on one lake may race to apply the same migration.
    migration_attempts = 1
    # Whether readers migrate too (DuckLake cannot attach a lake read-only before it exists).
    readers_migrate = False

    def __init__(self, *, lock_timeout_s: float = 120.0) -> None:
        self.lock_timeout_s = lock_timeout_s

    @abstractmethod
    def describe(self) -> str:
        """The warehouse for messages and metadata, without credentials."""

    @abstractmethod
    def exists(self) -> bool:
        """Whether there is a warehouse to read yet."""

    @property
    @abstractmethod
    def identity(self) -> str:
        """The same for every handle on the same warehouse (migrated once per process)."""

    @abstractmethod
    def _open_once(self, read_only: bool):
        """One attempt at a connection; raises duckdb.Error with a lock message when locked."""

    def schema_ddl(self, migration_sql: str, earlier: Sequence[str]) -> str:
        """The DDL this backend runs for a migration (`earlier`: the migrations before it)."""
        return migration_sql

    @abstractmethod
    def compact(self) -> str:
        """Tidy the storage (small files merged, space reclaimed); says what was done."""

    def open(self, *, read_only: bool = False, timeout_s: float | None = None):
        """A connection the caller closes, retrying with jittered exponential backoff while
        another process holds the lock (logged once per wait, not per attempt). Raises
        WarehouseLockedError naming the warehouse after `timeout_s`."""
        timeout_s = self.lock_timeout_s if timeout_s is None else timeout_s
        started = time.monotonic()

        def log_first_wait(state: RetryCallState) -> None:
            if state.attempt_number == 1:
                log.info(
                    "warehouse %s is locked by another process; waiting up to %.0fs",
                    self.describe(),
                    timeout_s,
                )

        lock_waits = retries.retrying(
            retry=retry_if_exception(is_lock_error),
            within_s=timeout_s,
            first_s=0.05,
            max_s=2.0,
            jitter=(0.5, 1.5),
            before_sleep=log_first_wait,
        )
        try:
            conn = lock_waits(self._open_once, read_only)
        except duckdb.Error as error:
            if not is_lock_error(error):
                raise
            raise WarehouseLockedError(
                f"warehouse {self.describe()} stayed locked by another process for "
                f"{timeout_s:.0f}s: {error}"
            ) from error
        if lock_waits.statistics["attempt_number"] > 1:
            log.info("warehouse lock acquired after %.1fs", time.monotonic() - started)
        return conn

    @contextmanager
    def connection(
        self, *, read_only: bool = False, timeout_s: float | None = None
    ) -> Iterator[duckdb.DuckDBPyConnection]:
        if not read_only or self.readers_migrate:
            self.ensure_schema(timeout_s=timeout_s)
        conn = self.open(read_only=read_only, timeout_s=timeout_s)
        try:
            yield conn
        finally:
            conn.close()

    def read_connection(self):
        """A read-only connection, or a migrating read-write one while nothing exists yet (a
        DuckDB file cannot be opened read-only before it is created)."""
        return self.connection(read_only=self.exists())

    def ensure_schema(self, *, timeout_s: float | None = None) -> None:
        """Migrate the warehouse once per process; a migration race is lost by re-reading
        what is applied."""
        key = self.identity
        if key in _migrated:
            return
        with _migrate_lock:
            if key in _migrated:
                return
            migration_races = retries.retrying(
                retry=retry_if_exception_type(RuntimeError),
                attempts=self.migration_attempts,
                first_s=0.2,
                max_s=0.8,
                jitter=(0.5, 1.5),
            )
            for attempt in migration_races:
                # Outside the attempt: a lock wait that timed out is not retried again.
                conn = self.open(timeout_s=timeout_s)
                try:
                    with attempt:
                        migrate(conn, self.schema_ddl)
                finally:
                    conn.close()
            _migrated.add(key)


class DuckDBFile(Warehouse):
    """The embedded DuckDB file (or `:memory:`)."""

    def __init__(self, path: Path | str, *, lock_timeout_s: float = 120.0) -> None:
        super().__init__(lock_timeout_s=lock_timeout_s)
        self.path = Path(path)

    def describe(self) -> str:
        return str(self.path)

    def exists(self) -> bool:
        return self.path.exists()

    @property
    def identity(self) -> str:
        return str(self.path.resolve()) if str(self.path) != ":memory:" else ":memory:"

    def _open_once(self, read_only: bool):
        if str(self.path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        return duckdb.connect(
            str(self.path), read_only=read_only, config=duckdb_extensions.connection_config()
        )

    def compact(self) -> str:
        with self.connection() as conn:
            conn.execute("CHECKPOINT")
        return "checkpointed"


def as_warehouse(location: Warehouse | Path | str) -> Warehouse:
    """`location` as a Warehouse: a path is shorthand for that DuckDB file (tests, tools)."""
    if isinstance(location, Warehouse):
        return location
    if str(location).startswith("ducklake:"):
        raise TypeError("a DuckLake warehouse is chosen by pipeline.lib.warehouse_choice")
    return DuckDBFile(location)


def connection(
    location: Warehouse | Path | str, *, read_only: bool = False, timeout_s: float | None = None
):
    """`as_warehouse(location).connection(...)`."""
    return as_warehouse(location).connection(read_only=read_only, timeout_s=timeout_s)


def open_connection(
    location: Warehouse | Path | str, *, read_only: bool = False, timeout_s: float | None = None
):
    """`as_warehouse(location).open(...)`: a connection the caller closes, schema untouched."""
    return as_warehouse(location).open(read_only=read_only, timeout_s=timeout_s)


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def available_migrations() -> list[Migration]:
    """Every `NNNN_name.sql` in pipeline/lib/migrations, in version order.

    Version ranges per domain keep parallel work from colliding: 0001-0099 shared,
    0100 grants, 0200 news, 0300 scoring, 0400 sales, 0500 notify, 0600 health, 0700 operations.
    """
    migrations = []
    for entry in resources.files(MIGRATIONS_PACKAGE).iterdir():
        if not entry.name.endswith(".sql"):
            continue
        version_text, _, name = entry.name.removesuffix(".sql").partition("_")
        migrations.append(Migration(int(version_text), name, entry.read_text(encoding="utf-8")))
    migrations.sort(key=lambda m: m.version)
    versions = [m.version for m in migrations]
    if len(versions) != len(set(versions)):
        raise RuntimeError(f"two migrations share a version number: {versions}")
    return migrations


def table_exists(conn: duckdb.DuckDBPyConnection, table: str) -> bool:
    """Whether `schema.table` exists (a name without a schema is looked up in `main`)."""
    schema, _, name = table.rpartition(".")
    rows = conn.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
        [schema or "main", name],
    ).fetchall()
    return bool(rows[0][0])


def applied_versions(conn: duckdb.DuckDBPyConnection) -> set[int]:
    if not table_exists(conn, "meta.schema_migrations"):
        return set()
    return {row[0] for row in conn.execute("SELECT version FROM meta.schema_migrations").fetchall()}


def migrate(
    conn: duckdb.DuckDBPyConnection,
    schema_ddl: Callable[[str, Sequence[str]], str] = lambda sql, earlier: sql,
) -> list[str]:
    """Apply every migration not yet recorded, in order and in one transaction: a warehouse
    is never left half-upgraded, and a fresh DuckLake gets its schema in one commit (each
    commit is a catalog snapshot). Forward-only: an applied migration is never re-run or
    rolled back. Returns the names applied. `schema_ddl` gives the DDL a backend runs for a
    migration (Warehouse.schema_ddl)."""
    conn.execute(schema_ddl(META_DDL, []))
    done = applied_versions(conn)
    migrations = available_migrations()
    earlier = [META_DDL, *(m.sql for m in migrations if m.version in done)]
    pending = [m for m in migrations if m.version not in done]
    if not pending:
        return []
    with transaction(conn):
        for migration in pending:
            try:
                conn.execute(schema_ddl(migration.sql, earlier))
                conn.execute(
                    "INSERT INTO meta.schema_migrations (version, name) VALUES (?, ?)",
                    [migration.version, migration.name],
                )
            except Exception as error:
                raise RuntimeError(
                    f"warehouse migration {migration.version:04d}_{migration.name} failed: {error}"
                ) from error
            earlier.append(migration.sql)
    applied = [f"{m.version:04d}_{m.name}" for m in pending]
    for name in applied:
        log.info("applied warehouse migration %s", name)
    return applied


_migrated: set[str] = set()
_migrate_lock = threading.Lock()


def schema_version(conn: duckdb.DuckDBPyConnection) -> int:
    versions = applied_versions(conn)
    return max(versions) if versions else 0


def scalar(conn: duckdb.DuckDBPyConnection, sql: str, params: list | None = None):
    """The first value of a query. Uses fetchall: in DuckDB 2.0 a half-read result (fetchone)
    makes the next register() on the connection fail with "unfinished result"."""
    rows = conn.execute(sql, params or []).fetchall()
    return rows[0][0] if rows else None


def register_frame(conn: duckdb.DuckDBPyConnection, name: str, frame) -> None:
    conn.execute("SELECT 1").fetchall()  # DuckDB 2.0: register() refuses while a result is pending
    conn.register(name, frame.to_arrow() if hasattr(frame, "to_arrow") else frame)


def unregister_frame(conn: duckdb.DuckDBPyConnection, name: str) -> None:
    conn.execute("SELECT 1").fetchall()
    conn.unregister(name)


@contextmanager
def transaction(conn: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """The block's statements as one transaction: committed at its end, rolled back (and the
    error raised again) when it fails or is interrupted."""
    conn.execute("BEGIN TRANSACTION")
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def replace_where(
    conn: duckdb.DuckDBPyConnection, table: str, frame, where_sql: str, params: list | None = None
) -> int:
    """Atomically replace the rows of `table` matching `where_sql` with `frame` (same column
    names): the idempotent write for a partition. Returns rows written."""
    columns = ", ".join(f'"{c}"' for c in frame.columns)
    register_frame(conn, "incoming_frame", frame)
    try:
        with transaction(conn):
            conn.execute(f"DELETE FROM {table} WHERE {where_sql}", params or [])
            conn.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM incoming_frame")
    finally:
        unregister_frame(conn, "incoming_frame")
    return frame.height if hasattr(frame, "height") else len(frame)
